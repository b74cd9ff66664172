// A stub the learner has not written yet never starts working while a test waits for it. When
// a process the test started (or an answer the test polled) says TODO(mN) for the test's own
// milestone or an earlier one, every wait of the test kit ends at once with that TODO, instead
// of after its timeout: `npm run milestone:1` on untouched exercises took 2.5 minutes, most of
// it spent polling a /readyz that answered "TODO(m1): answer /readyz" each time; the teeth
// check spent minutes the same way.
//
// Only milestones up to the test's own count. A test of milestone 2 run on a tree where
// milestone 3 is still stubbed (the progress check, or a learner who is on milestone 2) may see
// TODO(m3) from a background job it does not depend on, and must go on waiting for what it does
// depend on.

import { milestoneOfPath } from '../milestones/manifest.ts';

/** The TODO a stub throws (runtime/todo-error.ts), as it appears in a log line or an answer's body. */
const TODO = /TODO\(m(\d+)\): (.*?)(?:\. Run `npm run hint|\\"|"|$)/;

export class StubNotWritten extends Error {
  override name = 'StubNotWritten';
  constructor(
    readonly milestone: number,
    readonly task: string,
    where: string,
  ) {
    super(
      `${where} reached code that is not written yet: TODO(m${milestone}): ${task}. The test stopped waiting, since a stub never starts working; write that step, then run the test again (\`npm run hint -- ${milestone}\` for a hint).`,
    );
  }
}

let fileMilestone: number | undefined;
let seen: StubNotWritten | undefined;
const listeners = new Set<(stub: StubNotWritten) => void>();

/** Called before each test file (testkit/between-files.ts) with its path. */
export function testFileStarted(path: string | undefined): void {
  fileMilestone = path === undefined ? undefined : milestoneOfPath(path);
  seen = undefined;
}

/** Looks at what a process printed, or what an answer said, for a TODO this test depends on. */
export function noticeTodo(text: string, where: string): void {
  if (seen || fileMilestone === undefined || !text.includes('TODO(m')) return;
  const match = TODO.exec(text);
  if (!match || Number(match[1]) > fileMilestone) return;
  seen = new StubNotWritten(Number(match[1]), match[2]!, where);
  for (const listener of listeners) listener(seen);
}

/** The stub in the way of this test file, once one was seen. */
export const stubInTheWay = (): StubNotWritten | undefined => seen;

/** Calls `listener` once a stub is seen (at once if one was already); returns the unsubscribe. */
export function onStub(listener: (stub: StubNotWritten) => void): () => void {
  if (seen) {
    listener(seen);
    return () => {};
  }
  listeners.add(listener);
  return () => listeners.delete(listener);
}
