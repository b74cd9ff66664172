// The loop of the bid-worker's periodic jobs (the auction closer, the retention job): a round,
// then a pause, until stopped. One loop for both, so both stop the same way on SIGTERM.
import { errorFields, type Logger } from '#runtime/logger.ts';
import { TodoError } from '#runtime/todo-error.ts';

export interface PeriodicJob {
  start(): void;
  /** Wakes the job from its pause and resolves once the round in flight (if any) has ended. */
  stop(): Promise<void>;
  /** True once stop() was called: a round that loops over batches checks it between them. */
  readonly stopping: boolean;
}

/**
 * Runs `round` every `intervalMs`. A round that fails is logged and tried again next time: a
 * database blip must not end the job. A TodoError (a stub the learner has not written yet)
 * ends it with one line instead, so a worker of an unfinished milestone still starts.
 */
export function periodicJob(options: {
  log: Logger;
  intervalMs: number;
  round: () => Promise<unknown>;
  /** How the log names it: "the auction closer", "the retention job". */
  name: string;
  /** What a failed round was doing, for the log: "closing auctions". */
  doing: string;
}): PeriodicJob {
  let running: Promise<void> | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;

  async function loop(): Promise<void> {
    while (!stopping) {
      try {
        await options.round();
      } catch (err) {
        if (err instanceof TodoError) {
          options.log.info({ todo: err.message }, `${options.name} is not written yet; it stops`);
          return;
        }
        options.log.warn(errorFields(err), `${options.doing} failed; trying again next round`);
      }
      if (stopping) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  return {
    start() {
      running ??= loop();
    },
    async stop() {
      stopping = true;
      wake?.();
      await running;
    },
    get stopping() {
      return stopping;
    },
  };
}
