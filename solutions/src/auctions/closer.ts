import type { Config } from '#runtime/config.ts';
import type { Db } from '#runtime/db.ts';
import type { Logger } from '#runtime/logger.ts';
import { newCorrelationId } from '#runtime/logger.ts';
import type { Metrics } from '#runtime/metrics.ts';
import { periodicJob } from '../jobs/periodic-job.ts';
import { closeDueAuctions } from './close-due-auctions.ts';

export interface Closer {
  start(): void;
  /** Resolves after the batch in flight (if any) has committed or rolled back. */
  stop(): Promise<void>;
  /** One round: closes batches until one is not full. For tests and for the loop. */
  closeDue(): Promise<number>;
}

/** The auction closer of the bid-worker: a round every `closer.pollMs`, as many batches as are due. */
export function createCloser(deps: { db: Db; log: Logger; metrics: Metrics; config: Pick<Config, 'closer'> }): Closer {
  const { batchSize, pollMs } = deps.config.closer;

  async function closeDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const closed = await closeDueAuctions(deps, { batchSize, correlationId: newCorrelationId() });
      total += closed.length;
      deps.metrics.closer.closed.inc(closed.length);
      if (closed.length > 0) deps.log.info({ closed: closed.length }, 'auctions closed');
      if (closed.length < batchSize || job.stopping) return total;
    }
  }

  const job = periodicJob({ log: deps.log, intervalMs: pollMs, round: closeDue, name: 'the auction closer', doing: 'closing auctions' });
  return { start: () => job.start(), stop: () => job.stop(), closeDue };
}
