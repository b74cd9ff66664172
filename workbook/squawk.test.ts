// squawk lints the migrations (milestone 5): the reference migrations come out clean, and the
// naive one-line ALTER the lesson measures first is flagged for the reason the lesson gives.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './trees.ts';

const run = promisify(execFile);
// npm installs squawk's own binary on Linux x64 (an optional dependency: the registry this
// workbook is built against carries no other platform's). Elsewhere: squawk on PATH
// (brew install squawk, pip install squawk-cli), or these tests are skipped and say so.
const bundled = join(repoRoot, 'node_modules', '@squawk-cli', `${process.platform}-${process.arch}`, 'bin', 'squawk');
const onPath = spawnSync('squawk', ['--version']).status === 0 ? 'squawk' : undefined;
const squawk = existsSync(bundled) ? bundled : onPath;
if (!squawk)
  console.warn(`squawk not found (no ${bundled}, none on PATH): the migration lint is skipped. Install it: brew install squawk, or pip install squawk-cli.`);
const migrations = join(repoRoot, 'solutions', 'migrations');

/** Migrations written before the table was live (milestones 1–4 create empty tables): squawk's baseline. */
const BEFORE_ADOPTION = ['1764000000000_items-and-bids.sql', '1764000000001_outbox.sql', '1764000000002_bid-rules.sql', '1764000000003_closing-and-stats.sql'];

async function lint(file: string, inTransaction: boolean): Promise<string[]> {
  const args = ['--reporter', 'gcc', ...(inTransaction ? ['--assume-in-transaction'] : []), file];
  const result = await run(squawk!, args).catch((err: { stdout?: string; code?: number }) => {
    if (typeof err.code !== 'number') throw err;
    return { stdout: err.stdout ?? '' };
  });
  // "path:line:col: warning: rule message" → "rule"
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(': ')[2]?.split(' ')[0] ?? line);
}

describe.skipIf(!squawk)('squawk', () => {
  it('finds nothing in the migrations since milestone 5 (each runs as node-pg-migrate runs it: in a transaction unless marked)', async () => {
    const files = (await readdir(migrations)).filter((f) => f.endsWith('.sql') && !BEFORE_ADOPTION.includes(f)).sort();
    expect(files.length, 'migrations linted').toBeGreaterThanOrEqual(5);
    const findings: Record<string, string[]> = {};
    for (const file of files) {
      const text = await readFile(join(migrations, file), 'utf8');
      findings[file] = await lint(join(migrations, file), !/^--\s*migrate:\s*no-transaction\s*$/m.test(text));
    }
    expect(findings).toEqual(Object.fromEntries(files.map((f) => [f, []])));
  });

  it('flags the naive ALTER COLUMN … TYPE of the lesson: it rewrites the table under an ACCESS EXCLUSIVE lock, with no lock_timeout', async () => {
    const findings = await lint(join(repoRoot, 'milestones', '05-expand-contract', 'chaos', 'lib', 'naive-alter.sql'), true);
    expect(findings).toEqual(expect.arrayContaining(['changing-column-type', 'require-lock-timeout']));
  });
});
