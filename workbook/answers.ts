// The answers to a lesson's failure inquiry live in milestones/<slug>/answers.md, not in the
// lesson: a learner predicts first, runs what shows it, and only then reads the answer.
// Format: one `## <number>. <question title>` section per question, and on the line after the
// heading, optionally, what unlocks it:
//   <!-- unlocked-by: test relay-crash.test.ts -->   or   <!-- unlocked-by: scenario redis-cut -->
// A section without one unlocks once any test of the milestone has run.
import type { Seen } from './runs.ts';
import { infraTestPath } from './trees.ts';

export interface Answer {
  number: number;
  title: string;
  unlockedBy: Array<{ kind: 'test' | 'scenario'; name: string }>;
  body: string;
}

export class AnswersSyntaxError extends Error {
  override name = 'AnswersSyntaxError';
}

export function parseAnswers(markdown: string, file = 'answers.md'): Answer[] {
  const out: Answer[] = [];
  const lines = markdown.split('\n');
  let current: Answer | undefined;
  for (const [i, line] of lines.entries()) {
    const heading = /^## (\d+)\. (.+?)\s*$/.exec(line);
    if (heading) {
      current = { number: Number(heading[1]), title: heading[2]!, unlockedBy: [], body: '' };
      out.push(current);
      continue;
    }
    if (/^## /.test(line)) throw new AnswersSyntaxError(`${file}:${i + 1}: a section heading must read "## <number>. <question>", got "${line}"`);
    if (!current) continue;
    const unlock = /^<!--\s*unlocked-by:\s*(.*?)\s*-->\s*$/.exec(line);
    if (unlock && current.body.trim() === '') {
      for (const part of unlock[1]!.split(/\s*,\s*|\s+or\s+/)) {
        const m = /^(test|scenario)\s+(\S+)$/.exec(part.trim());
        if (!m) throw new AnswersSyntaxError(`${file}:${i + 1}: "unlocked-by" names "test <file>.test.ts" or "scenario <name>", got "${part}"`);
        current.unlockedBy.push({ kind: m[1] as 'test' | 'scenario', name: m[2]! });
      }
      continue;
    }
    current.body += `${line}\n`;
  }
  for (const a of out) a.body = a.body.trim();
  return out;
}

/** Whether the learner has run what shows this answer. */
export function isUnlocked(answer: Answer, seen: Seen): boolean {
  if (answer.unlockedBy.length === 0) return seen.tests.length > 0;
  return answer.unlockedBy.some((u) => (u.kind === 'test' ? seen.tests.includes(u.name) : seen.scenarios.includes(u.name)));
}

/**
 * The command that unlocks an answer, for the message of a locked one. A test of the
 * milestone's own folder runs with the milestone; one beside the runtime or the kit (it shows what PostgreSQL
 * or a tool does, not the learner's code) runs alone with `answers … --run`.
 */
export function howToUnlock(answer: Answer, n: number, isMilestoneTest: (file: string) => boolean = () => true): string {
  if (answer.unlockedBy.length === 0) return `npm run milestone:${n}`;
  return answer.unlockedBy
    .map((u) =>
      u.kind === 'scenario'
        ? `npm run chaos -- ${n} ${u.name}`
        : isMilestoneTest(u.name)
          ? `npm run milestone:${n} (it runs ${u.name})`
          : `npm run answers -- ${n} ${answer.number} --run (it runs ${infraTestPath(u.name) ?? u.name}, then shows the answer)`,
    )
    .join(', or ');
}

/** The answer a learner asked for: by number ("3") or by words of its title ("redis"). */
export function findAnswer(answers: Answer[], query: string): Answer | undefined {
  if (/^\d+$/.test(query)) return answers.find((a) => a.number === Number(query));
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return answers.find((a) => words.every((w) => a.title.toLowerCase().includes(w)));
}
