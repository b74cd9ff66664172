// While a consumer's dependency (PostgreSQL for the stats, Redis for the read model) is down,
// every message fails for a reason that is not its own. The gate holds them: a message that
// met the outage waits here, unacked, for the dependency to answer a probe, and is then
// handled again as the same attempt. Unacked messages fill the consumer's prefetch, so
// RabbitMQ stops sending more: the backlog waits in the queue, not in this process.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorFields, type Logger } from '#runtime/logger.ts';
import { logEvent } from '#runtime/process-events.ts';
import { backoffMs } from '#runtime/retry.ts';

export interface DependencyGate {
  /** At once ('up') while the dependency is up; during an outage, once a probe succeeds ('up') or the gate is stopped ('stopped'). */
  passed(): Promise<'up' | 'stopped'>;
  /** Says the dependency is down; the first call of an outage starts probing it. */
  down(reason: string): void;
  /** Ends the probing: every waiting message hears 'stopped' and stays unacked. */
  stop(): void;
}

export function createDependencyGate(deps: {
  dependency: string;
  probe: () => Promise<unknown>;
  log: Logger;
  maxDelayMs: number;
  onChange?: (down: boolean) => void;
}): DependencyGate {
  const stopped = new AbortController();
  let outage: Promise<'up' | 'stopped'> | undefined;

  async function waitForDependency(reason: string): Promise<'up' | 'stopped'> {
    const since = Date.now();
    deps.onChange?.(true);
    logEvent(
      deps.log,
      'warn',
      { event: 'dependency-down', dependency: deps.dependency, reason },
      `${deps.dependency} is unreachable: the consumer keeps the messages it holds, takes no more, and resumes when ${deps.dependency} answers`,
    );
    try {
      for (let attempt = 1; ; attempt++) {
        await sleep(backoffMs(attempt, { firstMs: 100, maxMs: deps.maxDelayMs, jitter: 'full' }), undefined, { signal: stopped.signal });
        try {
          await deps.probe();
          deps.log.info({ downForMs: Date.now() - since }, `${deps.dependency} answers again: the consumer resumes`);
          return 'up';
        } catch (err) {
          deps.log.debug({ ...errorFields(err), attempt }, `${deps.dependency} still unreachable`);
        }
      }
    } catch {
      return 'stopped'; // the sleep was aborted by stop()
    } finally {
      outage = undefined;
      deps.onChange?.(false);
    }
  }

  return {
    passed: () => (stopped.signal.aborted ? Promise.resolve('stopped') : (outage ?? Promise.resolve('up'))),
    down(reason) {
      if (!stopped.signal.aborted) outage ??= waitForDependency(reason);
    },
    stop: () => stopped.abort(),
  };
}
