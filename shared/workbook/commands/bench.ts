// npm run bench -- <name>: a benchmark prints its figure next to a ceiling measured in the
// same run. Benchmarks live in milestones/NN-name/bench/ and are never timed tests.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChaosContext } from '../../chaos.ts';
import { ensureTemplate } from '../../migrate.ts';
import { milestones } from '../../../milestones/manifest.ts';
import { prepare } from '../prepare.ts';
import { exercisesDir, hashTree, repoRoot, solutionsDir, treeLabel } from '../trees.ts';
import { bold, dim, green, red, say } from '../ui.ts';

interface Benchmark {
  name: string;
  milestone: number;
  summary: string;
  run(ctx: ChaosContext): Promise<{ ok: boolean; table: string[] }>;
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

export async function benchCommand(name: string | undefined, options: { solution: boolean }): Promise<number> {
  const benchmarks = await loadBenchmarks();
  const bench = benchmarks.find((b) => b.name === name);
  if (!bench) {
    say(name ? red(`There is no benchmark "${name}".`) : bold('Benchmarks:'));
    for (const b of benchmarks) say(`  ${bold(b.name)} (milestone ${b.milestone})  ${b.summary}`);
    say(`\nRun one: npm run bench -- ${benchmarks[0]?.name ?? '<name>'}   (add -- --solution for the reference)`);
    return name ? 2 : 0;
  }
  const tree = options.solution ? solutionsDir : exercisesDir;
  const infra = await prepare(tree);
  const template = await ensureTemplate({ databaseUrl: infra.databaseUrl, tree, migrationsHash: await hashTree(tree, ['migrations']) });
  say(bold(`Benchmark: ${bench.name}`) + dim(` against ${treeLabel(tree)}/`));
  let result: Awaited<ReturnType<Benchmark['run']>>;
  try {
    result = await bench.run({ tree, infra, template, say: (line) => say(dim(`  ${line}`)) });
  } catch (err) {
    if ((err as Error).name === 'LearnerError') throw err;
    say(red(`\nThe benchmark could not run: ${(err as Error).message}.`));
    say(`It measures milestone ${bench.milestone}'s code, so that milestone has to pass first. Does \`npm run milestone:${bench.milestone}${options.solution ? ' -- --solution' : ''}\` pass?`);
    say(options.solution ? 'Next: npm run doctor' : `Next: npm run milestone:${bench.milestone}   (or measure the reference: npm run bench -- ${bench.name} --solution)`);
    return 1;
  }
  say('');
  for (const line of result.table) say(line);
  say(`\n${result.ok ? green('every target met') : red('a target was missed')} (figures vary from run to run; compare with the ceiling, not with another machine)`);
  return result.ok ? 0 : 1;
}
