// Runs milestone tests with vitest against one tree and reads the results from its JSON
// reporter: one record per test, with the first lines of its failure message.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from './trees.ts';

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
  durationMs: number;
}

interface VitestJson {
  testResults: Array<{
    name: string;
    status: string;
    message?: string;
    assertionResults: Array<{ fullName: string; title: string; ancestorTitles: string[]; status: string; failureMessages: string[] }>;
  }>;
}

export async function runTests(options: { tree: string; paths: string[]; env?: Record<string, string> }): Promise<TestRun> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'workbook-'));
  const outputFile = join(dir, 'results.json');
  const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
  const args = [vitest, 'run', ...options.paths, '--reporter=json', `--outputFile=${outputFile}`];
  const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, ...options.env, WORKBOOK_TREE: options.tree, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('close', (code) => resolve({ code, text }));
  });
  let json: VitestJson | undefined;
  try {
    json = JSON.parse(await readFile(outputFile, 'utf8')) as VitestJson;
  } catch {
    json = undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const tests: TestRecord[] = [];
  const fileErrors: string[] = [];
  for (const file of json?.testResults ?? []) {
    const rel = relative(repoRoot, file.name);
    if (file.assertionResults.length === 0 && file.status === 'failed') fileErrors.push(`${rel}: ${firstLines(file.message ?? 'failed to load')}`);
    for (const a of file.assertionResults) {
      tests.push({
        file: rel,
        name: [...a.ancestorTitles, a.title].join(' › '),
        status: a.status === 'passed' ? 'passed' : 'failed',
        message: a.status === 'passed' ? '' : firstLines(a.failureMessages[0] ?? 'failed'),
      });
    }
  }
  const error = !json ? explainCrash(output.text) : fileErrors.length > 0 ? fileErrors.join('\n') : undefined;
  return { tests, ...(error ? { error } : {}), durationMs: Date.now() - started };
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
