// npm run chaos -- N [scenario]: break the running system on purpose and end with a verdict.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { withScenarioContext, type ChaosScenario } from '../../testkit/scenario.ts';
import { ensureTemplate } from '../../runtime/migrate.ts';
import { milestone } from '../../milestones/manifest.ts';
import { prepare } from '../prepare.ts';
import { exercisesDir, hashTree, repoRoot, solutionsDir, treeLabel } from '../trees.ts';
import { bold, dim, green, red, say } from '../ui.ts';
import { recordRun } from '../runs.ts';

/**
 * The scenario a module of chaos/ exports, or undefined when it exports none. One definition,
 * shared with the manifest check, which refuses a module of chaos/ for which this is undefined.
 */
export function scenarioOf(module: unknown): ChaosScenario | undefined {
  const scenario = (module as { scenario?: Partial<ChaosScenario> } | undefined)?.scenario;
  if (
    !scenario ||
    typeof scenario.name !== 'string' ||
    typeof scenario.milestone !== 'number' ||
    typeof scenario.summary !== 'string' ||
    typeof scenario.run !== 'function'
  )
    return undefined;
  return scenario as ChaosScenario;
}

export async function loadScenarios(n: number): Promise<ChaosScenario[]> {
  const m = milestone(n);
  if (!m) return [];
  const dir = join(repoRoot, 'milestones', m.slug, 'chaos');
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.ts')).sort();
  const out: ChaosScenario[] = [];
  for (const f of files) {
    const scenario = scenarioOf(await import(pathToFileURL(join(dir, f)).href));
    if (scenario) out.push(scenario);
  }
  return out;
}

export async function runScenario(scenario: ChaosScenario, tree: string, print: (line: string) => void) {
  const infra = await prepare(tree);
  const template = await ensureTemplate({ databaseUrl: infra.databaseUrl, tree, migrationsHash: await hashTree(tree, ['migrations']) });
  // Whatever the scenario acquired is released when it ends, however it ends.
  return withScenarioContext({ tree, infra, template, say: print }, 'chaos', (ctx) => scenario.run(ctx));
}

export async function chaosCommand(n: number, name: string | undefined, options: { solution: boolean }): Promise<number> {
  const scenarios = await loadScenarios(n);
  if (!name) {
    say(bold(`Chaos scenarios of milestone ${n}:`));
    if (scenarios.length === 0) say('  none yet.');
    for (const s of scenarios) say(`  ${bold(s.name)}  ${s.summary}`);
    if (scenarios[0]) say(`\nRun one: npm run chaos -- ${n} ${scenarios[0].name}   (add -- --solution to run it on the reference)`);
    return 0;
  }
  const scenario = scenarios.find((s) => s.name === name);
  if (!scenario) {
    say(`${red(`Milestone ${n} has no chaos scenario "${name}".`)} It has: ${scenarios.map((s) => s.name).join(', ') || 'none'}.`);
    return 2;
  }
  const tree = options.solution ? solutionsDir : exercisesDir;
  say(bold(`Chaos: ${scenario.name}`) + dim(` against ${treeLabel(tree)}/`));
  say(dim(scenario.summary));
  const verdict = await runScenario(scenario, tree, (line) => say(dim(`  ${line}`))).catch((err: Error) => {
    if (err.name === 'LearnerError') throw err;
    return {
      ok: false,
      line: `the scenario could not finish: ${err.message}. Does \`npm run milestone:${n}${options.solution ? ' -- --solution' : ''}\` pass?`,
      facts: {},
    };
  });
  // Seen: the answers this scenario shows unlock (npm run answers).
  await recordRun(milestone(n)!.slug, { scenarios: [scenario.name] });
  say(`\n${verdict.ok ? green('verdict: survived') : red('verdict: did not survive')}  ${verdict.line}`);
  if (!verdict.ok && 'problems' in verdict && verdict.problems?.length) {
    // The scenario said what went wrong and the next step for each: that, not generic advice.
    for (const problem of verdict.problems) say(`${red('✗')} ${problem}`);
    if (options.solution)
      say(`The reference should survive this: run \`npm run doctor\`, then this scenario again; if it still fails, report it with the lines above.`);
  } else if (!verdict.ok) {
    say(
      options.solution
        ? `Next: the reference should survive this. Run \`npm run doctor\`, then this scenario again; if it still fails, report it with the lines above.`
        : `Next: a scenario breaks a system that works, so first make \`npm run milestone:${n}\` pass; then run this again. To see what surviving looks like: npm run chaos -- ${n} ${scenario.name} -- --solution`,
    );
  }
  return verdict.ok ? 0 : 1;
}
