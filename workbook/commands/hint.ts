// npm run hint -- N [--more | --code]: progressive hints, so a learner asks for only as much
// as they need. The concept and the file first; the approach in words with --more; the code
// only with --code (a hint that dictates the body leaves nothing to think about).
import type { Hint, Milestone } from '../../milestones/manifest.ts';
import { bold, dim, say, yellow } from '../ui.ts';

export type HintLevel = 'concept' | 'approach' | 'code';

/** The hint levels to show, in order, for a level asked. */
export function hintLines(hint: Hint, level: HintLevel): string[] {
  const lines = [hint.concept];
  if (level !== 'concept') lines.push(`${bold('Approach:')} ${hint.approach}`);
  if (level === 'code') lines.push(hint.code ? `${bold('Code:')} ${hint.code}` : dim('(no code hint for this one: the approach is all there is to it)'));
  return lines;
}

/** The hint shown beside a milestone's first failure: the concept only, and how to ask for more. */
export function firstFailureHint(m: Milestone, testFile: string): string | undefined {
  const hint = m.hints[testFile];
  if (!hint) return undefined;
  return `${hint.concept}\n${dim(`More: npm run hint -- ${m.n} ${testFile} --more (the approach), --code (the code).`)}`;
}

export function hintCommand(m: Milestone, options: { file?: string; level: HintLevel }): number {
  if (!m.ready) {
    say(`Milestone ${m.n} (${m.title}) is not written yet.`);
    return 0;
  }
  const files = Object.keys(m.hints).filter((f) => !options.file || f === options.file || f === `${options.file}.test.ts` || f === `${options.file}.ts`);
  if (files.length === 0) {
    say(`${yellow(`Milestone ${m.n} has no test file "${options.file}".`)} Its test files: ${Object.keys(m.hints).join(', ')}.`);
    return 2;
  }
  const what =
    options.level === 'concept' ? 'the concept and the file' : options.level === 'approach' ? 'the concept and the approach' : 'every level, code included';
  say(bold(`Hints for milestone ${m.n}: ${m.title}`) + dim(` (${what})`));
  for (const file of files) {
    say(`\n${bold(file)}`);
    for (const line of hintLines(m.hints[file]!, options.level)) say(`  ${line}`);
  }
  const one = options.file ? ` ${files[0]}` : '';
  if (options.level === 'concept') say(`\nStuck after trying? ${bold(`npm run hint -- ${m.n}${one} --more`)} gives the approach; ${bold('--code')} the code.`);
  else if (options.level === 'approach') say(`\nStill stuck? ${bold(`npm run hint -- ${m.n}${one} --code`)} gives the code.`);
  say(`\nThe lesson: milestones/${m.slug}/README.md`);
  return 0;
}
