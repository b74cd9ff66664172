/** Thrown by a stub the learner has not replaced yet. Its message names the milestone and the task. */
export class TodoError extends Error {
  override name = 'TodoError';
  constructor(
    readonly milestone: `m${1 | 2 | 3 | 4 | 5 | 6}`,
    readonly task: string,
  ) {
    super(`TODO(${milestone}): ${task}. Run \`npm run hint -- ${milestone.slice(1)}\` for a hint.`);
  }
}
