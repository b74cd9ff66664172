// A test failure, told in the domain's words: vitest's "Test timed out … pass a timeout value"
// is advice for a test author, not for a learner; a TodoError is an unwritten step, not a bug.
import { availableParallelism, loadavg } from 'node:os';

export interface Explained {
  /** The message to show. */
  text: string;
  /** Set when a stub (TodoError) caused the failure: its milestone and task. */
  todo?: { milestone: number; task: string };
  /** Set when the test or its set-up ran out of time. */
  timedOut?: { seconds: number; hook: boolean };
}

/** What the machine's load says about a timeout (the same rule as testkit/patience.ts). */
export function loadSentence(load = loadavg()[0] ?? 0, cores = availableParallelism()): string {
  return load > cores
    ? `The machine is overloaded (load average ${load.toFixed(1)} on ${cores} cores): close other heavy programs or test runs, then run it again.`
    : `The machine was not overloaded (load average ${load.toFixed(1)} on ${cores} cores), so something your code waits for never happened.`;
}

// vitest: "TestTimeoutError: Test timed out in 180000ms[ while waiting for …]." and a line of advice for the test's author.
const TIMED_OUT = /^(?:\w*Error: )?(Test|Hook) timed out in (\d+)ms(?: while waiting for [^\n]*?)?\.?[ \t]*$/m;
const RUNNER_ADVICE = /^\s*If this is a long-running (?:test|hook), pass a timeout value.*$/m;
const WAITING_FOR = /^Still waiting for: (.*)$/gm;
// A TodoError's message, or the test kit's StubNotWritten (testkit/stub-in-the-way.ts) quoting one.
const TODO = /TODO\(m(\d)\): (.*?)\.(?: Run `npm run hint -- \d+` for a hint\.| The test stopped waiting)/;

export function explainFailure(message: string, load?: { load: number; cores: number }): Explained {
  const todo = TODO.exec(message);
  if (todo) {
    const milestone = Number(todo[1]);
    const task = todo[2]!;
    return {
      text: `Not written yet: ${task} (a milestone-${milestone} stub still throws TodoError).\nThis test needs that step first. Write it, then run the milestone again.\n\n${message}`,
      todo: { milestone, task },
    };
  }
  const timeout = TIMED_OUT.exec(message);
  if (timeout) {
    const hook = timeout[1] === 'Hook';
    const seconds = Math.round(Number(timeout[2]) / 1000);
    const waits = [...message.matchAll(WAITING_FOR)].map((m) => m[1]!);
    const what = waits.length
      ? `It was still waiting for ${waits.join('; and for ')}.`
      : 'It was still waiting for an answer (a service, a log line, an event or a query) when the time ran out.';
    const rest = message.replace(TIMED_OUT, '').replace(RUNNER_ADVICE, '').replace(WAITING_FOR, '').trim();
    const sentence = load ? loadSentence(load.load, load.cores) : loadSentence();
    return {
      text: `${hook ? "The test file's set-up or clean-up" : 'The test'} did not finish within ${seconds} s. ${what}\n${sentence}${rest ? `\n\n${rest}` : ''}`,
      timedOut: { seconds, hook },
    };
  }
  return { text: message.replace(RUNNER_ADVICE, '').trim() };
}

/** One line for a failure in the --all list. */
export function oneLine(message: string, max = 160): string {
  const first =
    message
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? '(no message)';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}
