// The lessons' code samples, checked: every ```ts sample typechecks against the exercise tree
// it describes, every ```sql sample parses. A sample that drifted from the real signatures
// (issue 21: `throwIfReplayed` gained a `bidder`, inserts went through `bidderColumns`) teaches
// code that does not compile; this check fails instead.
//
// A sample may declare what it needs in HTML comments right above its fence (invisible when
// the Markdown is rendered):
//   <!-- sample-context: import type { Tx } from '#app/db.ts'; declare const tx: Tx; -->
//   <!-- sample: skip (pseudo-code: the shape of the idea, not code to type) -->
// Context lines are prepended to the sample, in order, before it is typechecked.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { loadModule, parseSync } from 'libpg-query';
import { repoRoot } from './trees.ts';

export interface Sample {
  /** The Markdown file, relative to the repository. */
  file: string;
  /** 1-based line of the sample's first code line in that file. */
  line: number;
  lang: 'ts' | 'sql';
  code: string;
  /** Declarations prepended for the typecheck (sample-context comments). */
  context: string[];
  /** Why the sample is not checked, when it says so. */
  skip?: string;
}

export interface SampleProblem {
  file: string;
  /** The line in the Markdown file. */
  line: number;
  lang: 'ts' | 'sql';
  message: string;
}

const FENCE = /^```(\w+)?\s*$/;
const LANGS: Record<string, 'ts' | 'sql'> = { ts: 'ts', typescript: 'ts', sql: 'sql' };

/** The ```ts and ```sql samples of one Markdown text, with their context and skip comments. */
export function extractSamples(markdown: string, file: string): Sample[] {
  const lines = markdown.split('\n');
  const out: Sample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    const close = end === -1 ? lines.length : end;
    const lang = LANGS[open[1] ?? ''];
    if (lang) {
      const context: string[] = [];
      let skip: string | undefined;
      for (let j = i - 1; j >= 0; j--) {
        const comment = /^<!--\s*sample(-context)?:\s*(.*?)\s*-->\s*$/.exec(lines[j]!);
        if (!comment) break;
        if (comment[1]) context.unshift(comment[2]!);
        else if (/^skip\b/.test(comment[2]!)) skip = comment[2]!.replace(/^skip\s*/, '').replace(/^\((.*)\)$/, '$1') || 'skipped';
      }
      out.push({ file, line: i + 2, lang, code: lines.slice(i + 1, close).join('\n'), context, ...(skip ? { skip } : {}) });
    }
    i = close;
  }
  return out;
}

/** Every lesson (milestones/NN-*\/README.md) and the top README, relative to the repository. */
export async function lessonFiles(root = repoRoot): Promise<string[]> {
  const dirs = (await readdir(join(root, 'milestones'), { withFileTypes: true }))
    .filter((d) => d.isDirectory() && /^\d\d-/.test(d.name))
    .map((d) => d.name)
    .sort();
  return ['README.md', ...dirs.map((d) => `milestones/${d}/README.md`)];
}

/** SQL samples: parsed by PostgreSQL's own parser (libpg-query), so any valid statement passes and a typo does not. */
export async function checkSqlSamples(samples: Sample[]): Promise<SampleProblem[]> {
  await loadModule();
  const problems: SampleProblem[] = [];
  for (const s of samples.filter((x) => x.lang === 'sql' && !x.skip)) {
    try {
      parseSync(s.code);
    } catch (err) {
      const e = err as Error & { sqlDetails?: { cursorPosition?: number } };
      const at = e.sqlDetails?.cursorPosition;
      const line = at === undefined ? s.line : s.line + s.code.slice(0, at).split('\n').length - 1;
      problems.push({ file: s.file, line, lang: 'sql', message: `does not parse: ${e.message}` });
    }
  }
  return problems;
}

/**
 * TypeScript samples: each written as a module under .workbook/samples (so `#app/…` resolves to
 * exercises/src through the repository's tsconfig), then one tsc run over all of them. Errors
 * point back at the lesson's own lines.
 */
export async function checkTsSamples(samples: Sample[], root = repoRoot): Promise<SampleProblem[]> {
  const ts = samples.filter((x) => x.lang === 'ts' && !x.skip);
  if (ts.length === 0) return [];
  // A directory of its own per call: npm test runs this check while workbook-cli.test.ts calls it
  // too, and one shared directory let each run delete and read the other's files.
  await mkdir(join(root, '.workbook'), { recursive: true });
  const dir = await mkdtemp(join(root, '.workbook', 'samples-'));
  try {
    const where = new Map<string, { sample: Sample; offset: number }>();
    for (const [i, s] of ts.entries()) {
      const name = `sample-${String(i).padStart(3, '0')}.ts`;
      // `export {}` makes each file a module of its own: two samples may declare the same name.
      const head = ['export {};', ...s.context];
      await writeFile(join(dir, name), `${head.join('\n')}\n${s.code}\n`);
      where.set(name, { sample: s, offset: head.length });
    }
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: relative(dir, join(root, 'tsconfig.json')), compilerOptions: { noUnusedLocals: false }, include: ['./*.ts'] }, null, 2),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], {
      cwd: root,
      encoding: 'utf8',
    });
    const problems: SampleProblem[] = [];
    for (const l of (tsc.stdout + tsc.stderr).split('\n')) {
      const m = /(sample-\d+\.ts)\((\d+),(\d+)\): error (TS\d+: .*)$/.exec(l);
      if (!m) continue;
      const at = where.get(m[1]!)!;
      const line = Number(m[2]) - at.offset - 1;
      problems.push(
        line < 0
          ? { file: at.sample.file, line: at.sample.line, lang: 'ts', message: `its sample-context does not compile: ${m[4]}` }
          : { file: at.sample.file, line: at.sample.line + line, lang: 'ts', message: m[4]! },
      );
    }
    if (tsc.status !== 0 && problems.length === 0)
      problems.push({ file: ts[0]!.file, line: ts[0]!.line, lang: 'ts', message: `tsc failed: ${(tsc.stdout + tsc.stderr).trim().slice(0, 400)}` });
    return problems;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every sample of every lesson, checked. */
export async function checkLessonSamples(root = repoRoot): Promise<{ samples: Sample[]; problems: SampleProblem[] }> {
  const samples: Sample[] = [];
  for (const file of await lessonFiles(root)) samples.push(...extractSamples(await readFile(join(root, file), 'utf8'), file));
  const problems = [...(await checkTsSamples(samples, root)), ...(await checkSqlSamples(samples))];
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { samples, problems };
}
