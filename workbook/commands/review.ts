// npm run review -- N (the learner's regions beside the reference, as a diff) and
// npm run reset -- N (put that milestone's stubs back, nothing else).
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { listRegions, readTreeRegions, renderFile } from '../regions.ts';
import { LearnerError } from '../prepare.ts';
import { exercisesDir, listTreeFiles, solutionsDir, stubsAbove } from '../trees.ts';
import { bold, dim, green, say, yellow } from '../ui.ts';

interface RegionPair {
  file: string;
  milestone: number;
  task: string;
  learner: string;
  reference: string;
  stub: string;
  start: number;
  end: number;
}

/** Each region of milestone n in exercises/, with the reference as the learner at milestone n has it. */
async function regionPairs(n: number): Promise<RegionPair[]> {
  const pairs: RegionPair[] = [];
  for (const file of await listTreeFiles(solutionsDir)) {
    const source = await readFile(join(solutionsDir, file), 'utf8');
    const refs = listRegions(`solutions/${file}`, source).filter((r) => r.milestone === n);
    if (refs.length === 0) continue;
    const learnerPath = join(exercisesDir, file);
    if (!existsSync(learnerPath)) throw new LearnerError(`exercises/${file} is missing.`, `restore it with \`git checkout -- exercises/${file}\``);
    const learnerText = await readFile(learnerPath, 'utf8');
    const learnerRegions = readTreeRegions(`exercises/${file}`, learnerText).filter((r) => r.milestone === n);
    const atN = readTreeRegions(file, renderFile(file, source, stubsAbove(n))).filter((r) => r.milestone === n);
    for (const ref of refs) {
      const mine = learnerRegions.find((r) => r.task === ref.task);
      const shown = atN.find((r) => r.task === ref.task);
      if (!mine || !shown)
        throw new LearnerError(
          `The region "m${n}: ${ref.task}" in exercises/${file} is missing or its marker line was edited.`,
          `restore the marker lines (git diff exercises/${file} shows them)`,
        );
      pairs.push({ file, milestone: n, task: ref.task, learner: mine.body, reference: shown.body, stub: ref.stub, start: mine.start, end: mine.end });
    }
  }
  return pairs;
}

/**
 * The diff of a learner's region against the reference's, as git prints it without its header.
 * Whitespace-only differences (indentation, spaces, blank lines) are not shown unless asked:
 * a learner who indents differently has not written different code.
 */
export function regionDiff(learner: string, reference: string, dir: string, options: { whitespace: boolean; color: boolean }): string {
  const mine = join(dir, 'learner');
  const ref = join(dir, 'reference');
  writeFileSync(mine, `${learner}\n`);
  writeFileSync(ref, `${reference}\n`);
  const ignore = options.whitespace ? [] : ['--ignore-all-space', '--ignore-blank-lines'];
  const diff = spawnSync('git', ['diff', '--no-index', '--no-prefix', ...ignore, `--color=${options.color ? 'always' : 'never'}`, mine, ref], {
    encoding: 'utf8',
  });
  return diff.stdout.split('\n').slice(4).join('\n').trimEnd();
}

export async function reviewCommand(n: number, options: { whitespace?: boolean } = {}): Promise<number> {
  const pairs = await regionPairs(n);
  if (pairs.length === 0) {
    say(`Milestone ${n} has no learner regions yet.`);
    return 0;
  }
  const dir = await mkdtemp(join(tmpdir(), 'review-'));
  let changed = 0;
  let whitespaceOnly = 0;
  try {
    say(bold(`Milestone ${n}: your code (exercises/) against the reference (solutions/), region by region\n`));
    for (const pair of pairs) {
      const color = Boolean(process.stdout.isTTY);
      const body = regionDiff(pair.learner, pair.reference, dir, { whitespace: Boolean(options.whitespace), color });
      const onlySpace = !body && !options.whitespace && regionDiff(pair.learner, pair.reference, dir, { whitespace: true, color }) !== '';
      say(`${bold(`${pair.file}:${pair.start + 1}`)}  m${n}: ${pair.task}`);
      if (onlySpace) {
        whitespaceOnly++;
        say(green('  the same code as the reference') + dim(' (it differs only in whitespace)\n'));
      } else if (!body) say(green('  identical to the reference\n'));
      else {
        changed++;
        say(dim("  - your line   + the reference's line"));
        say(body.replace(/^/gm, '  '));
        say('');
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  say(
    `${pairs.length} regions, ${changed} differ from the reference${whitespaceOnly ? `, ${whitespaceOnly} only in whitespace (shown with ${bold(`npm run review -- ${n} --whitespace`)})` : ''}. Differences are not errors: the tests are the judge (npm run milestone:${n}).`,
  );
  return 0;
}

export async function resetCommand(n: number, options: { yes: boolean }): Promise<number> {
  const pairs = await regionPairs(n);
  if (pairs.length === 0) {
    say(`Milestone ${n} has no learner regions to reset.`);
    return 0;
  }
  const files = [...new Set(pairs.map((p) => p.file))];
  if (!options.yes) {
    if (!process.stdin.isTTY) {
      say(yellow(`reset rewrites ${pairs.length} regions in ${files.length} files. Without a terminal to ask, pass --yes: npm run reset -- ${n} --yes`));
      return 1;
    }
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(
      `This puts back the milestone-${n} stubs in ${pairs.length} regions of ${files.length} files (${files.join(', ')}), discarding your code there. Nothing else changes. Continue? [y/N] `,
    );
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      say('Nothing changed.');
      return 0;
    }
  }
  for (const file of files) {
    const path = join(exercisesDir, file);
    const lines = (await readFile(path, 'utf8')).split('\n');
    // Bottom-up, so earlier line numbers stay valid.
    for (const pair of pairs.filter((p) => p.file === file).sort((a, b) => b.start - a.start)) {
      lines.splice(pair.start + 1, pair.end - pair.start - 1, ...pair.stub.split('\n'));
    }
    await writeFile(path, lines.join('\n'));
  }
  say(`${green(`Milestone ${n}'s stubs are back in ${files.length} files.`)} Next: npm run milestone:${n}`);
  return 0;
}
