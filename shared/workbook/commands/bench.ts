// npm run bench -- <name>: a benchmark prints its figure next to a ceiling measured in the
// same run. Benchmarks live in milestones/NN-name/bench/ and are never timed tests.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchContext } from '../../bench-stats.ts';
import { withScenarioContext } from '../../scenario.ts';
import { ensureTemplate } from '../../migrate.ts';
import { milestones } from '../../../milestones/manifest.ts';
import { prepare } from '../prepare.ts';
import { exercisesDir, hashTree, repoRoot, solutionsDir, treeLabel } from '../trees.ts';
import { bold, dim, green, red, say } from '../ui.ts';

interface Benchmark {
  name: string;
  milestone: number;
  summary: string;
  run(ctx: BenchContext): Promise<{ ok: boolean; table: string[] }>;
}

async function loadBenchmarks(): Promise<Benchmark[]> {
  const out: Benchmark[] = [];
  for (const m of milestones) {
    const dir = join(repoRoot, 'milestones', m.slug, 'bench');
    for (const f of (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.ts')).sort()) {
      const module = (await import(pathToFileURL(join(dir, f)).href)) as { benchmark?: Benchmark };
      if (module.benchmark) out.push(module.benchmark);
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
    say(`\nRun one: npm run bench -- ${benchmarks[0]?.name ?? '<name>'}   (add -- --solution for the reference; \`all --smoke\` runs every one end to end at a small size)`);
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

async function runOne(bench: Benchmark, base: Omit<BenchContext, 'instance'>, options: { solution: boolean; smoke: boolean }): Promise<number> {
  say(bold(`Benchmark: ${bench.name}`) + dim(` against ${treeLabel(base.tree)}/${options.smoke ? ', smoke size (end to end, no verdicts)' : ''}`));
  let result: Awaited<ReturnType<Benchmark['run']>>;
  try {
    // Whatever the benchmark acquired is released when it ends, however it ends.
    result = await withScenarioContext(base, 'bench', (ctx) => bench.run({ ...ctx, smoke: base.smoke }));
  } catch (err) {
    if ((err as Error).name === 'LearnerError') throw err;
    say(red(`\nThe benchmark could not run: ${(err as Error).message}.`));
    say(`It measures milestone ${bench.milestone}'s code, so that milestone has to pass first. Does \`npm run milestone:${bench.milestone}${options.solution ? ' -- --solution' : ''}\` pass?`);
    say(options.solution ? 'Next: npm run doctor' : `Next: npm run milestone:${bench.milestone}   (or measure the reference: npm run bench -- ${bench.name} --solution)`);
    return 1;
  }
  say('');
  for (const line of result.table) say(line);
  if (options.smoke) {
    // Seconds of load on a small data set: the figures say the benchmark runs, not how fast.
    say(`\n${green('ran end to end')} (smoke size: the figures are too small to judge; run it without --smoke for verdicts)\n`);
    return 0;
  }
  say(`\n${result.ok ? green('every target met') : red('a target was missed')} (figures vary from run to run; compare with the ceiling, not with another machine)`);
  return result.ok ? 0 : 1;
}
