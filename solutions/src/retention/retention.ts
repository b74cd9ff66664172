// The retention job of the bid-worker: published outbox rows and processed message ids are kept
// for a window, then deleted, so neither table (nor its indexes) grows for ever.
import type { Config } from '#runtime/config.ts';
import type { Db } from '#runtime/db.ts';
import type { Logger } from '#runtime/logger.ts';
import type { Metrics } from '#runtime/metrics.ts';
import { periodicJob } from '../jobs/periodic-job.ts';
import { countExpired, deleteProcessedMessages, deletePublishedOutbox, type Expiry, type RetainedTable } from './delete-expired.ts';

export interface Retention {
  start(): void;
  /** Resolves after the batch in flight (if any) has finished. */
  stop(): Promise<void>;
  /** One round: batches until each table has nothing past its window. For tests and for the loop. */
  deleteExpired(): Promise<Record<RetainedTable, number>>;
}

export function createRetention(deps: { db: Db; log: Logger; metrics: Metrics; config: Pick<Config, 'retention'> }): Retention {
  const { outboxMs, processedMessagesMs, batchSize, intervalMs } = deps.config.retention;
  const jobs: Array<{ table: RetainedTable; olderThanMs: number; deleteBatch: (db: Db, expiry: Expiry) => Promise<number> }> = [
    { table: 'outbox', olderThanMs: outboxMs, deleteBatch: deletePublishedOutbox },
    { table: 'processed_messages', olderThanMs: processedMessagesMs, deleteBatch: deleteProcessedMessages },
  ];
  async function deleteExpired(): Promise<Record<RetainedTable, number>> {
    const deleted: Record<RetainedTable, number> = { outbox: 0, processed_messages: 0 };
    for (const { table, olderThanMs, deleteBatch } of jobs) {
      for (;;) {
        const n = await deleteBatch(deps.db, { olderThanMs, limit: batchSize });
        deleted[table] += n;
        deps.metrics.retention.deleted.inc({ table }, n);
        if (n < batchSize || job.stopping) break;
      }
      deps.metrics.retention.expired.set({ table }, await countExpired(deps.db, table, olderThanMs));
    }
    if (deleted.outbox + deleted.processed_messages > 0) deps.log.info({ deleted }, 'expired rows deleted');
    return deleted;
  }

  const job = periodicJob({ log: deps.log, intervalMs, round: deleteExpired, name: 'the retention job', doing: 'deleting expired rows' });
  return { start: () => job.start(), stop: () => job.stop(), deleteExpired };
}
