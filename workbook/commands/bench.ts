// npm run bench -- <name>: a benchmark prints its figure next to a ceiling measured in the
// same run. Benchmarks live in milestones/NN-name/bench/ and are never timed tests.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchContext } from '../../runtime/bench-stats.ts';
import { withScenarioContext } from '../../testkit/scenario.ts';
import { ensureTemplate } from '../../runtime/migrate.ts';
import { milestones } from '../../milestones/manifest.ts';
import { prepare } from '../prepare.ts';
import { renderChartSvg, type ChartReport } from '../render-chart.ts';
import { exercisesDir, hashTree, repoRoot, solutionsDir, treeLabel } from '../trees.ts';
import { bold, dim, green, red, say } from '../ui.ts';
import { coerceError } from '../../runtime/coerce-error.ts';

interface Benchmark {
  name: string;
  milestone: number;
  summary: string;
  /**
   * `report`: the rows behind the table and a vega-lite spec without `data` to draw them; a run
   * that is not --smoke writes both to bench/results/<name>.json and <name>.svg beside it.
   */
  run(ctx: BenchContext): Promise<{ ok: boolean; table: string[]; report?: ChartReport }>;
}

/**
 * The benchmark a module of bench/ exports, or undefined when it exports none (a helper beside
 * the benchmarks). One definition, shared with the manifest check.
 */
export function benchmarkOf(module: unknown): Benchmark | undefined {
  const benchmark = (module as { benchmark?: Partial<Benchmark> } | undefined)?.benchmark;
  return benchmark && typeof benchmark.name === 'string' ? (benchmark as Benchmark) : undefined;
}

/** Where a run that is not --smoke writes its table and data (`.json`) and its chart (`.svg`): bench/results/<name>, without the extension. */
export const resultsBase = (benchDir: string, name: string) => join(benchDir, 'results', name);

/** A benchmark and the bench/ folder it came from (its results go in bench/results/). */
type Loaded = Benchmark & { dir: string };

async function loadBenchmarks(): Promise<Loaded[]> {
  const out: Loaded[] = [];
  for (const m of milestones) {
    const dir = join(repoRoot, 'milestones', m.slug, 'bench');
    for (const f of (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.ts')).sort()) {
      const benchmark = benchmarkOf(await import(pathToFileURL(join(dir, f)).href));
      if (benchmark) out.push({ ...benchmark, dir });
    }
  }
  return out;
}

export async function benchCommand(name: string | undefined, options: { solution: boolean; smoke: boolean }): Promise<number> {
  const benchmarks = await loadBenchmarks();
  const chosen = name === 'all' ? benchmarks : benchmarks.filter((b) => b.name === name);
  if (chosen.length === 0) {
    say(name ? red(`There is no benchmark "${name}".`) : bold('Benchmarks:'));
    for (const b of benchmarks) say(`  ${bold(b.name)} (milestone ${b.milestone})  ${b.summary}`);
    say(
      `\nRun one: npm run bench -- ${benchmarks[0]?.name ?? '<name>'}   (add -- --solution for the reference; \`all --smoke\` runs every one end to end at a small size)`,
    );
    return name ? 2 : 0;
  }
  const tree = options.solution ? solutionsDir : exercisesDir;
  const infra = await prepare(tree);
  const template = await ensureTemplate({ databaseUrl: infra.databaseUrl, tree, migrationsHash: await hashTree(tree, ['migrations']) });
  const outcomes: string[] = [];
  let failed = 0;
  for (const bench of chosen) {
    const code = await runOne(bench, { tree, infra, template, smoke: options.smoke, say: (line) => say(dim(`  ${line}`)) }, options);
    outcomes.push(`${code === 0 ? green('✓') : red('✗')} ${bench.name}`);
    if (code !== 0) failed++;
  }
  if (chosen.length > 1) {
    say(`\n${outcomes.join('  ')}`);
    say(`${chosen.length - failed} passed, ${failed} failed`);
  }
  return failed === 0 ? 0 : 1;
}

async function runOne(bench: Loaded, base: Omit<BenchContext, 'instance'>, options: { solution: boolean; smoke: boolean }): Promise<number> {
  say(bold(`Benchmark: ${bench.name}`) + dim(` against ${treeLabel(base.tree)}/${options.smoke ? ', smoke size (end to end, no verdicts)' : ''}`));
  let result: Awaited<ReturnType<Benchmark['run']>>;
  try {
    // Whatever the benchmark acquired is released when it ends, however it ends.
    result = await withScenarioContext(base, 'bench', (ctx) => bench.run({ ...ctx, smoke: base.smoke }));
  } catch (err) {
    if (coerceError(err).name === 'LearnerError') throw err;
    say(red(`\nThe benchmark could not run: ${coerceError(err).message}.`));
    say(
      `It measures milestone ${bench.milestone}'s code, so that milestone has to pass first. Does \`npm run milestone:${bench.milestone}${options.solution ? ' -- --solution' : ''}\` pass?`,
    );
    say(
      options.solution
        ? 'Next: npm run doctor'
        : `Next: npm run milestone:${bench.milestone}   (or measure the reference: npm run bench -- ${bench.name} --solution)`,
    );
    return 1;
  }
  say('');
  // At smoke size a target line's ✓ and ✗ would be verdicts on figures too small to judge (and
  // CI's summary, which looks for ✗, would list a smoke run among what failed): they are dropped.
  const unjudged = (line: string) =>
    line.startsWith('Targets: ') ? `Targets, not judged at smoke size: ${line.slice(9).replace(/ [✓✗](?= · |$)/g, '')}` : line;
  for (const line of result.table) say(options.smoke ? unjudged(line) : line);
  if (options.smoke) {
    // Seconds of load on a small data set: the figures say the benchmark runs, not how fast.
    say(`\n${green('ran end to end')} (smoke size: the figures are too small to judge; run it without --smoke for verdicts)\n`);
    return 0;
  }
  if (result.report) {
    // Written after the run, not during it: a failed run leaves the last good chart in place.
    const file = resultsBase(bench.dir, bench.name);
    await mkdir(dirname(file), { recursive: true });
    const when = new Date().toISOString();
    await writeFile(
      `${file}.json`,
      `${JSON.stringify({ benchmark: bench.name, tree: treeLabel(base.tree), ranAt: when, ok: result.ok, table: result.table, data: result.report.data, chart: result.report.chart }, null, 2)}\n`,
    );
    await writeFile(`${file}.svg`, await renderChartSvg(result.report));
    say(dim(`\nresults: ${relative(repoRoot, file)}.json and .svg`));
  }
  say(
    `\n${result.ok ? green('every target met') : red('a target was missed')} (figures vary from run to run; compare with the ceiling, not with another machine)`,
  );
  return result.ok ? 0 : 1;
}
