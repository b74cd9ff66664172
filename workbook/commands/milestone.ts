// npm run milestone:N — the learner's main loop (rustlings' `run`, CodeCrafters' `test`).
import { watch } from 'node:fs';
import { join, relative } from 'node:path';
import { milestone as findMilestone, milestones, type Milestone } from '../../milestones/manifest.ts';
import { prepare } from '../prepare.ts';
import { recall, remember, states } from '../progress.ts';
import { recordRun } from '../runs.ts';
import { oneLine } from '../failure-text.ts';
import { firstFailureHint } from './hint.ts';
import { runTests, type TestRun } from '../run-tests.ts';
import { exercisesDir, hashTreeFor, repoRoot, solutionsDir, treeLabel } from '../trees.ts';
import { bold, dim, green, indent, progressLine, red, say, yellow } from '../ui.ts';

export interface MilestoneOptions {
  n: number;
  solution: boolean;
  json: boolean;
  force: boolean;
  watch: boolean;
  /** List every failure, one line each, after the first in full. */
  all?: boolean;
}

export function milestoneDir(m: Milestone): string {
  return join(repoRoot, 'milestones', m.slug);
}

/** Runs a milestone's tests against a tree and remembers the result. */
export async function runMilestone(m: Milestone, tree: string): Promise<TestRun> {
  await prepare(tree);
  const run = await runTests({ tree, paths: [relative(repoRoot, milestoneDir(m))] });
  inStepOrder(m, run.tests);
  const failed = run.tests.filter((t) => t.status === 'failed').length + (run.error ? 1 : 0);
  await remember(treeLabel(tree), m.n, await hashTreeFor(tree, m.n), { passed: run.tests.length - failed, failed });
  // What the learner has now seen unlocks the answers it shows (npm run answers).
  await recordRun(m.slug, { tests: [...new Set(run.tests.map((t) => baseName(t.file)))] });
  return run;
}

const baseName = (file: string) => file.split('/').pop() ?? file;

/**
 * Sorts tests into the lesson's step order (the manifest's hint order), not the alphabet's,
 * keeping each file's own order (stable sort): the first failure shown is then the step the
 * lesson says is next.
 */
export function inStepOrder<T extends { file: string }>(m: Milestone, tests: T[]): T[] {
  const order = Object.keys(m.hints);
  const rank = (file: string) => {
    const i = order.indexOf(baseName(file));
    return i === -1 ? order.length : i;
  };
  return tests.sort((a, b) => rank(a.file) - rank(b.file));
}

/** The failures after the first, one line each (npm run milestone:N -- --all). */
export function otherFailures(tests: Array<{ file: string; name: string; status: string; message: string }>): string[] {
  return tests
    .filter((t) => t.status === 'failed')
    .slice(1)
    .map((t) => `${baseName(t.file)} › ${t.name}: ${oneLine(t.message)}`);
}

export async function milestoneCommand(options: MilestoneOptions): Promise<number> {
  const m = findMilestone(options.n);
  if (!m) {
    say(
      `There is no milestone ${options.n}. The milestones are ${milestones[0]!.n} to ${milestones.at(-1)!.n}: ${milestones.map((x) => `${x.n} ${x.title}`).join(', ')}.`,
    );
    return 2;
  }
  const tree = options.solution ? solutionsDir : exercisesDir;
  const once = () => runOnce(m, tree, options);
  if (!options.watch) return once();
  await once();
  say(dim(`\nWatching ${relative(repoRoot, tree)}/ for changes. Ctrl-C to stop.`));
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  watch(tree, { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (running) return;
      running = true;
      process.stdout.write('\x1Bc');
      await once().catch((err: Error) => say(red(err.message)));
      say(dim(`\nWatching ${relative(repoRoot, tree)}/ for changes. Ctrl-C to stop.`));
      running = false;
    }, 300);
  });
  return new Promise(() => undefined);
}

async function runOnce(m: Milestone, tree: string, options: MilestoneOptions): Promise<number> {
  const label = treeLabel(tree);
  // An earlier milestone is run again only when what its tests depend on changed (hashTreeFor).
  const hashFor = (n: number) => hashTreeFor(tree, n);

  if (!options.force) {
    for (const earlier of milestones.filter((x) => x.n < m.n && x.ready)) {
      let result = await recall(label, earlier.n, await hashFor(earlier.n));
      if (!result) {
        if (!options.json) say(dim(`Checking that milestone ${earlier.n} (${earlier.title}) still passes…`));
        const run = await runMilestone(earlier, tree);
        result = {
          passed: run.tests.filter((t) => t.status === 'passed').length,
          failed: run.tests.filter((t) => t.status === 'failed').length + (run.error ? 1 : 0),
        };
      }
      if (result.failed > 0) {
        const text = `Milestone ${m.n} (${m.title}) is locked: milestone ${earlier.n} (${earlier.title}) is not done yet, ${result.failed} of its tests fail.`;
        if (options.json) say(JSON.stringify({ milestone: m.n, tree: label, locked: true, reason: text, passed: 0, failed: 0, tests: [] }));
        else {
          say(yellow(text));
          say(`Next: finish it with ${bold(`npm run milestone:${earlier.n}`)}  (or look ahead anyway with ${bold(`npm run milestone:${m.n} -- --force`)})`);
          say(progressLine(await states(label, hashFor)));
        }
        return 1;
      }
    }
  }
  if (!m.ready) {
    const text = `Milestone ${m.n} (${m.title}) is not written yet: its lesson and tests are coming. What it will cover: ${m.summary}`;
    if (options.json) say(JSON.stringify({ milestone: m.n, tree: label, notWritten: true, reason: text, passed: 0, failed: 0, tests: [] }));
    else {
      say(yellow(text));
      say(progressLine(await states(label, hashFor)));
    }
    return 1;
  }

  if (!options.json) say(dim(`Running milestone ${m.n} (${m.title}) against ${label}/ …`));
  const run = await runMilestone(m, tree);
  const passed = run.tests.filter((t) => t.status === 'passed').length;
  const failed = run.tests.length - passed + (run.error ? 1 : 0);

  if (options.json) {
    say(
      JSON.stringify({
        milestone: m.n,
        tree: label,
        passed,
        failed,
        tests: run.tests.map(({ name, status, message }) => ({ name, status, message })),
        ...(run.error ? { error: run.error } : {}),
      }),
    );
    return failed === 0 ? 0 : 1;
  }

  say(`\n${bold(`Milestone ${m.n}: ${m.title}`)}  ${dim(`(${(run.durationMs / 1000).toFixed(1)} s)`)}`);
  let file = '';
  for (const t of run.tests) {
    if (t.file !== file) {
      file = t.file;
      say(dim(`  ${relative(join('milestones', m.slug), t.file)}`));
    }
    say(`    ${t.status === 'passed' ? green('✓') : red('✗')} ${t.name}`);
  }
  if (run.error) say(red(`\n  Some tests could not run:\n${indent(run.error)}`));
  if (run.tests.length === 0 && !run.error) say(yellow('  No test ran. That is a bug in the workbook: please report it.'));

  const first = run.tests.find((t) => t.status === 'failed');
  if (first) {
    say(`\n${red('First failure:')} ${bold(first.name)}`);
    say(indent(first.message || '(no message)'));
    const hint = firstFailureHint(m, baseName(first.file));
    if (hint) say(`\n${yellow('Hint:')} ${hint}`);
    const rest = otherFailures(run.tests);
    if (options.all && rest.length) {
      say(`\n${red(`The other ${rest.length} ${rest.length === 1 ? 'failure' : 'failures'}:`)}`);
      for (const line of rest) say(`  ${red('✗')} ${line}`);
    } else if (rest.length)
      say(dim(`\n${rest.length} more ${rest.length === 1 ? 'failure' : 'failures'}: ${bold(`npm run milestone:${m.n} -- --all`)} lists each in one line.`));
  }
  say(`\n${failed === 0 ? green(`All ${passed} tests pass.`) : `${green(`${passed} passed`)}, ${red(`${failed} failed`)}.`}`);
  say(progressLine(await states(label, hashFor)));
  const next = milestones.find((x) => x.n === m.n + 1);
  if (failed > 0)
    say(
      `Next: ${first ? 'make the first failure pass, then ' : ''}run ${bold(`npm run milestone:${m.n}`)} again (${bold(`npm run hint -- ${m.n}`)} for more help, add ${bold('-- --watch')} to rerun on save).`,
    );
  else if (options.solution) say(`That was the reference in solutions/. Your own code runs with ${bold(`npm run milestone:${m.n}`)}.`);
  else if (next)
    say(
      `Next: read milestones/${next.slug}/README.md, then ${bold(`npm run milestone:${next.n}`)}. Try ${bold(`npm run chaos -- ${m.n}`)} to see what your code survives.`,
    );
  else say('That was the last milestone. Well done.');
  return failed === 0 ? 0 : 1;
}
