// The backfill (tree/src/backfill-bidder-id.ts, what `npm run backfill` runs) as a child process
// of a scenario, so it can die the way a real one does: a failpoint's crash, or kill -9.
// (In chaos/lib/: chaos/ holds only scenarios, which `npm run check -- manifest` enforces.)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { configToEnv, type Config } from '#runtime/config.ts';
import { repoRoot } from '#workbook/trees.ts';

const exitWithParent = pathToFileURL(join(repoRoot, 'testkit/exit-with-parent.ts')).href;

export interface BackfillRun {
  pid: number;
  /** Everything it printed, stdout and stderr, line by line. */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

/**
 * Starts one run. node --import tsx, not `npx tsx`: npx would stand between this process and
 * the backfill, and a kill -9 sent to npx would leave the backfill running.
 */
export function startBackfill(options: { tree: string; config: Config; failpoints?: string }): BackfillRun {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', exitWithParent, join(options.tree, 'src', 'backfill-bidder-id.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...configToEnv(options.config), FAILPOINTS: options.failpoints ?? '', WORKBOOK_PARENT_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const output: string[] = [];
  let pending = '';
  const collect = (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    output.push(...lines.filter((l) => l.trim() !== ''));
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      if (pending.trim()) output.push(pending);
      process.off('exit', killOnExit);
      resolve({ code, signal });
    }),
  );
  return { pid: child.pid!, output, exited, kill: () => void child.kill('SIGKILL') };
}

/** What the summary line of a finished run says (backfill-bidder-id.ts prints it). */
export function backfillSummary(output: string[]): { resumedAfter: string | undefined; scanned: number; filled: number } | undefined {
  for (const line of output) {
    const m = /backfilled (?:from the start|resumed after ([0-9a-f-]{36})) in [\d.]+ s: (\d+) rows looked at, (\d+) filled/.exec(line);
    if (m) return { resumedAfter: m[1], scanned: Number(m[2]), filled: Number(m[3]) };
  }
  return undefined;
}

export interface Checkpoint {
  lastId: string;
  rowsFilled: number;
}

/** The backfill's row in backfill_checkpoints, if it wrote one. */
export async function readCheckpoint(db: pg.Client): Promise<Checkpoint | undefined> {
  const { rows } = await db.query<{ last_id: string; rows_filled: string }>(
    `SELECT last_id, rows_filled FROM backfill_checkpoints WHERE name = 'bids.bidder_id'`,
  );
  return rows[0] && { lastId: rows[0].last_id, rowsFilled: Number(rows[0].rows_filled) };
}
