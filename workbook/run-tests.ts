// Runs milestone tests with vitest against one tree and reads the results from its JSON
// reporter: one record per test, with the first lines of its failure message.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from './trees.ts';
import type { ReportedModule } from './vitest-reporter.ts';
import { explainFailure } from './failure-text.ts';

export interface TestRecord {
  file: string;
  name: string;
  status: 'passed' | 'failed';
  message: string;
}

export interface TestRun {
  tests: TestRecord[];
  /** Set when vitest itself failed (a file did not load, global setup threw). */
  error?: string;
  /** `error`, by test file where it came from one, so a part of a run can be judged alone. */
  fileErrors: Array<{ file: string; message: string }>;
  /** `error` where it came from no one file: vitest crashed, or an unhandled error. */
  otherErrors: string[];
  durationMs: number;
}

export async function runTests(options: {
  tree: string;
  paths: string[];
  env?: Record<string, string> /** A vitest config other than the root one (web/vitest.config.ts). */;
  config?: string;
}): Promise<TestRun> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'workbook-'));
  const outputFile = join(dir, 'results.json');
  const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
  const args = [
    vitest,
    'run',
    ...options.paths,
    `--reporter=${join(repoRoot, 'workbook/vitest-reporter.ts')}`,
    ...(options.config ? ['--config', options.config] : []),
  ];
  const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, ...options.env, WORKBOOK_TREE: options.tree, WORKBOOK_RESULTS: outputFile, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('close', (code) => resolve({ code, text }));
  });
  let report: { modules: ReportedModule[]; unhandled: string[] } | undefined;
  try {
    report = JSON.parse(await readFile(outputFile, 'utf8')) as typeof report;
  } catch {
    report = undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const tests: TestRecord[] = [];
  const unhandled = report?.unhandled ?? [];
  const fileErrors: TestRun['fileErrors'] = [];
  for (const module of report?.modules ?? []) {
    const rel = relative(repoRoot, module.file);
    for (const e of module.errors) fileErrors.push({ file: rel, message: firstLines(explainFailure(e).text) });
    for (const t of module.tests) {
      if (t.state === 'skipped' || t.state === 'pending') continue;
      tests.push({
        file: rel,
        name: t.name,
        status: t.state === 'passed' ? 'passed' : 'failed',
        message: t.state === 'passed' ? '' : firstLines(explainFailure(t.message).text, 30),
      });
    }
  }
  const otherErrors = report ? unhandled : [explainCrash(output.text)];
  const error = joinErrors(otherErrors, fileErrors);
  return { tests, ...(error ? { error } : {}), fileErrors, otherErrors, durationMs: Date.now() - started };
}

/** The part of a run that concerns some of its test files: their tests and their errors, and any error of no one file. */
export function partOfRun(run: TestRun, fileIsIn: (file: string) => boolean): TestRun {
  const fileErrors = run.fileErrors.filter((e) => fileIsIn(e.file));
  const error = joinErrors(run.otherErrors, fileErrors);
  return {
    tests: run.tests.filter((t) => fileIsIn(t.file)),
    ...(error ? { error } : {}),
    fileErrors,
    otherErrors: run.otherErrors,
    durationMs: run.durationMs,
  };
}

function joinErrors(otherErrors: string[], fileErrors: TestRun['fileErrors']): string | undefined {
  const all = [...otherErrors, ...fileErrors.map((e) => `${e.file}: ${e.message}`)];
  return all.length ? all.join('\n') : undefined;
}

/** The message without the stack: what was expected, what was received. */
export function firstLines(message: string, max = 14): string {
  const lines = message.split('\n').filter((l) => !/^\s+at /.test(l) && !/node_modules|node:internal/.test(l));
  return lines.slice(0, max).join('\n').trim();
}

function explainCrash(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() && !/^\s+at /.test(l));
  const start = lines.findIndex((l) => /Error|error|failed/.test(l));
  return lines.slice(Math.max(0, start), start + 12).join('\n') || 'vitest exited without results';
}
