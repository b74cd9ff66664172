// Test files share a few long-lived workers (vitest.config.ts: isolate false) for speed; the
// setup file (testkit/between-files.ts) resets the module registry after each file, so module
// state cannot leak from one file into the next and make it pass or fail for the wrong reason.
// Two fixture files in ONE worker, each failing if it finds the other's state: without the
// reset, whichever runs second fails.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { repoRoot } from '../workbook/trees.ts';

it('a file does not see the module state the file before it left in the same worker', async () => {
  const args = ['vitest', 'run', '--config', join(repoRoot, 'testkit/fixtures/isolation/vitest.config.ts'), '--reporter', 'dot'];
  const run = await promisify(execFile)('npx', args, { cwd: repoRoot, env: { ...process.env, CI: 'true' } }).then(
    (r) => ({ ok: true, out: r.stdout + r.stderr }),
    (err: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
  expect(run.out, run.out).toMatch(/2 passed/);
  expect(run.ok).toBe(true);
}, 60_000);
