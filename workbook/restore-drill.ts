// The restore drill (README, "Backups"): a backup is only as good as its last restore. Restores a
// pg_dump (custom format, as the VPS backup service writes it) into a scratch database on the
// source's server and compares the two: every table's row count, and the invariants of
// milestones 3 (bids rise by the increment, items agree with their last bid, an outbox event per
// bid) and 4 (user_stats agree with bids and closed items). The restore must reproduce the
// source's state exactly, violations included: a source that breaks an invariant is reported,
// but only a difference between source and restore fails the drill.
//
// A dump the drill makes itself is compared exactly. A backup from earlier is a past state of a
// source that has moved on since, so it is held to what still must be true: the same tables,
// no table with more rows than the source has now, and no kind of invariant violation the
// source does not also show.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bidInvariantViolations } from '../milestones/03-row-locking/lib/bid-invariants.ts';
import { statsDifferences } from '../milestones/04-idempotent-stats/lib/idempotent-stats.ts';
import { createDatabase, databaseName, databaseUrlFor, dropDatabase } from '../runtime/migrate.ts';
import { coerceError } from '../runtime/coerce-error.ts';
import { withPgClient } from '../runtime/pg-client.ts';

const run = promisify(execFile);

export class RestoreDrillRefused extends Error {
  override name = 'RestoreDrillRefused';
}

export interface RestoreDrillReport {
  /** The dump restored, and whether the drill made it from the source first. */
  dump: { path: string; made: boolean; bytes: number };
  tables: Array<{ table: string; source: number; restored: number }>;
  /** Items checked against milestone 3's invariants, and violations in the source itself. */
  items: number;
  sourceViolations: number;
  /** Users whose stats disagree with bids and items, in the source (milestone 4). */
  sourceStatsDifferences: number;
  /** Exact (the drill's own dump) or as a past state (an earlier backup). */
  comparison: 'exact' | 'past state';
  /** What the restore got wrong; empty when the drill passed. */
  differences: string[];
  seconds: number;
}

/**
 * Restores `dump` (or, without one, the newest auction-*.dump in `backupsDir`, or else a fresh
 * pg_dump of the source) into a scratch database next to the source, compares, and drops the
 * scratch database again.
 */
export async function restoreDrill(options: {
  sourceUrl: string;
  dump?: string;
  backupsDir?: string;
  minIncrementCents: bigint;
  onStep?: (step: string) => void;
}): Promise<RestoreDrillReport> {
  const started = performance.now();
  const step = options.onStep ?? (() => undefined);
  await requireBinary('pg_restore');
  const workDir = await mkdtemp(join(tmpdir(), 'wb-restore-drill-'));
  const scratch = `${databaseName(options.sourceUrl)}_restore_drill_${Date.now().toString(36)}`.slice(0, 63);
  const scratchUrl = databaseUrlFor(options.sourceUrl, scratch);
  try {
    const dump = await chooseDump(options, workDir, step);
    step(`restoring ${dump.path} into the scratch database ${scratch}`);
    await createDatabase(options.sourceUrl, scratch);
    try {
      await run('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${scratchUrl}`, dump.path], { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      throw new RestoreDrillRefused(`pg_restore could not restore ${dump.path}: ${((err as { stderr?: string }).stderr || coerceError(err).message).trim()}`);
    }

    step('comparing row counts');
    const [sourceCounts, restoredCounts] = await Promise.all([rowCounts(options.sourceUrl), rowCounts(scratchUrl)]);
    const tables = [...new Set([...Object.keys(sourceCounts), ...Object.keys(restoredCounts)])]
      .sort()
      .map((table) => ({ table, source: sourceCounts[table] ?? -1, restored: restoredCounts[table] ?? -1 }));
    const exact = dump.made;
    const differences = tables.flatMap((t) =>
      t.restored === -1
        ? [`table ${t.table} is missing from the restore`]
        : t.source === -1
          ? [`table ${t.table} is in the restore but not in the source`]
          : (exact ? t.source !== t.restored : t.restored > t.source)
            ? [`table ${t.table}: ${t.source} rows in the source, ${t.restored} restored`]
            : [],
    );

    step('checking the invariants of milestones 3 and 4 on both');
    const items = [...new Set([...(await itemIds(options.sourceUrl)), ...(await itemIds(scratchUrl))])];
    let sourceViolations = 0;
    const sourceKinds = new Set<string>();
    const restoredKinds = new Map<string, string>();
    await inBatches(items, 8, async (itemId) => {
      const [inSource, inRestore] = await Promise.all([
        bidInvariantViolations(options.sourceUrl, itemId, options.minIncrementCents),
        bidInvariantViolations(scratchUrl, itemId, options.minIncrementCents),
      ]);
      sourceViolations += inSource.length;
      for (const v of inSource) sourceKinds.add(kindOf(v));
      for (const v of inRestore) restoredKinds.set(kindOf(v), `item ${itemId}: ${v}`);
      if (!exact) return;
      const introduced = inRestore.filter((v) => !inSource.includes(v));
      const lost = inSource.filter((v) => !inRestore.includes(v));
      if (introduced.length || lost.length)
        differences.push(
          `item ${itemId}: the restore ${[...introduced.map((v) => `breaks "${v}"`), ...lost.map((v) => `lost the source's "${v}"`)].join('; ')}`,
        );
    });
    if (!exact)
      for (const [kind, example] of restoredKinds)
        if (!sourceKinds.has(kind)) differences.push(`the restore breaks an invariant the source keeps (${example})`);
    const [sourceStats, restoredStats] = await Promise.all([statsDifferences(options.sourceUrl), statsDifferences(scratchUrl)]);
    if (exact) {
      const key = (d: { user_id: string; expected: string; actual: string }) => `${d.user_id} ${d.expected} ${d.actual}`;
      const sourceKeys = new Set(sourceStats.map(key));
      const restoredKeys = new Set(restoredStats.map(key));
      const statsChanged = [...restoredKeys].filter((k) => !sourceKeys.has(k)).length + [...sourceKeys].filter((k) => !restoredKeys.has(k)).length;
      if (statsChanged > 0) differences.push(`user_stats: ${statsChanged} users' stats agree with their bids differently in the restore than in the source`);
    } else if (restoredStats.length > 0 && sourceStats.length === 0) {
      differences.push(`user_stats: ${restoredStats.length} users' stats disagree with their bids in the restore, none in the source`);
    }

    return {
      dump,
      tables,
      items: items.length,
      sourceViolations,
      sourceStatsDifferences: sourceStats.length,
      comparison: exact ? 'exact' : 'past state',
      differences,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await dropDatabase(options.sourceUrl, scratch).catch(() => undefined);
    await rm(workDir, { recursive: true, force: true });
  }
}

async function chooseDump(
  options: { sourceUrl: string; dump?: string; backupsDir?: string },
  workDir: string,
  step: (s: string) => void,
): Promise<RestoreDrillReport['dump']> {
  if (options.dump) {
    const size = await stat(options.dump).catch(() => undefined);
    if (!size) throw new RestoreDrillRefused(`there is no dump at ${options.dump}`);
    return { path: options.dump, made: false, bytes: size.size };
  }
  if (options.backupsDir) {
    const dumps = (await readdir(options.backupsDir).catch(() => [] as string[])).filter((f) => /^auction-.*\.dump$/.test(f)).sort();
    // The names carry a UTC timestamp (deploy/vps/compose.yml, service backup): the last sorts newest.
    if (dumps.length === 0) throw new RestoreDrillRefused(`${options.backupsDir} holds no auction-*.dump (the VPS backup service writes them there)`);
    const path = join(options.backupsDir, dumps.at(-1)!);
    return { path, made: false, bytes: (await stat(path)).size };
  }
  await requireBinary('pg_dump');
  const path = join(workDir, 'source.dump');
  step(`no dump given: making one from the source with pg_dump`);
  await run('pg_dump', ['--format=custom', `--file=${path}`, options.sourceUrl]);
  return { path, made: true, bytes: (await stat(path)).size };
}

/** A violation without its ids and numbers: "bid 3 (500) does not beat bid 2 (450) by 100" → "bid # (#) does not beat bid # (#) by #". */
function kindOf(violation: string): string {
  return violation.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '#').replace(/\d+/g, '#');
}

async function rowCounts(databaseUrl: string): Promise<Record<string, number>> {
  return withPgClient(databaseUrl, async (client) => {
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
    );
    const counts: Record<string, number> = {};
    for (const { name } of tables) counts[name] = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]!.n);
    return counts;
  });
}

async function itemIds(databaseUrl: string): Promise<string[]> {
  return withPgClient(databaseUrl, async (client) => {
    return (await client.query<{ id: string }>('SELECT id FROM items ORDER BY id')).rows.map((r) => r.id);
  });
}

async function inBatches<T>(values: T[], concurrency: number, work: (value: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < values.length) await work(values[next++]!);
    }),
  );
}

async function requireBinary(name: string): Promise<void> {
  try {
    await run(name, ['--version']);
  } catch {
    throw new RestoreDrillRefused(
      `${name} is not installed (PostgreSQL's client tools, version 15 or newer): apt-get install postgresql-client, or brew install libpq`,
    );
  }
}
