// npm run answers -- N [question] [--anyway | --run]: one answer of milestone N's failure
// inquiry, once the learner has run the test or scenario that shows it (or with --anyway). With
// --run, a test outside the milestones that shows it (what PostgreSQL does, not the learner's code)
// runs first. With no question: the list, and which are unlocked.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Milestone } from '../../milestones/manifest.ts';
import { findAnswer, howToUnlock, isUnlocked, parseAnswers } from '../answers.ts';
import { LearnerError } from '../prepare.ts';
import { runTests } from '../run-tests.ts';
import { recordRun, seenIn } from '../runs.ts';
import { infraTestPath, repoRoot, solutionsDir } from '../trees.ts';
import { bold, dim, green, say, yellow } from '../ui.ts';

export async function answersCommand(
  m: Milestone,
  question: string | undefined,
  options: { anyway: boolean; run?: boolean; runsFile?: string },
): Promise<number> {
  const file = join(repoRoot, 'milestones', m.slug, 'answers.md');
  if (!existsSync(file)) {
    say(`Milestone ${m.n} (${m.title}) has no answers yet: its questions are answered in the lesson, milestones/${m.slug}/README.md.`);
    return 0;
  }
  const answers = parseAnswers(await readFile(file, 'utf8'), `milestones/${m.slug}/answers.md`);
  let seen = await seenIn(m.slug, options.runsFile);
  const isMilestoneTest = (name: string) => existsSync(join(repoRoot, 'milestones', m.slug, name));
  if (!question) {
    say(bold(`The failure inquiry of milestone ${m.n}: ${m.title}`));
    for (const a of answers) {
      const open = isUnlocked(a, seen);
      say(
        `  ${open ? green('unlocked') : dim('locked  ')}  ${bold(String(a.number))}. ${a.title}${open ? '' : dim(`  (run ${howToUnlock(a, m.n, isMilestoneTest)})`)}`,
      );
    }
    say(`\nPredict first, in writing; then run what the question names. Read one answer with ${bold(`npm run answers -- ${m.n} <number>`)}.`);
    return 0;
  }
  const answer = findAnswer(answers, question);
  if (!answer)
    throw new LearnerError(
      `Milestone ${m.n} has no question "${question}": its questions are numbered 1 to ${answers.length}.`,
      `npm run answers -- ${m.n}  (the list)`,
    );
  const sharedTests = answer.unlockedBy.filter((u) => u.kind === 'test' && !isMilestoneTest(u.name) && infraTestPath(u.name) !== undefined);
  if (options.run && !isUnlocked(answer, seen) && sharedTests.length > 0) {
    const paths = sharedTests.map((u) => infraTestPath(u.name)!);
    say(dim(`Running ${paths.join(', ')} …`));
    // These tests exercise PostgreSQL (or a tool) itself; no tree of the learner's is involved.
    const run = await runTests({ tree: solutionsDir, paths });
    for (const t of run.tests) say(`  ${t.status === 'passed' ? green('✓') : yellow('✗')} ${t.name}`);
    if (run.error) say(yellow(run.error));
    await recordRun(m.slug, { tests: [...new Set(run.tests.map((t) => t.file.split('/').pop()!))] }, options.runsFile);
    seen = await seenIn(m.slug, options.runsFile);
    say('');
  }
  if (!isUnlocked(answer, seen) && !options.anyway) {
    say(yellow(`Answer ${answer.number} of milestone ${m.n} is still locked: "${answer.title}"`));
    say(`It unlocks once you have seen what answers it: ${bold(howToUnlock(answer, m.n, isMilestoneTest))}.`);
    say(`Write down your prediction first, then run that and compare. To read it now anyway: ${bold(`npm run answers -- ${m.n} ${answer.number} --anyway`)}`);
    // Not an error: npm would add its own failure lines to a non-zero exit.
    return 0;
  }
  say(bold(`${m.n}.${answer.number} ${answer.title}`));
  say(`\n${answer.body}`);
  return 0;
}
