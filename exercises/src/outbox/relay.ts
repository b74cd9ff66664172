// The outbox relay: claims committed rows, publishes them with confirms, marks them, in
// one transaction per batch. Runs in bid-worker. The pieces the learner writes are in
// claim-batch.ts, screen-row.ts, publish-batch.ts, wait-for-work.ts and backoff.ts.
import type { ConfirmChannel } from 'amqplib';
import type { Amqp } from '#runtime/amqp.ts';
import type { Config } from '#runtime/config.ts';
import { withTransaction, type Db } from '#runtime/db.ts';
import { logEvent } from '#runtime/process-events.ts';
import { failpoint } from '#runtime/failpoints.ts';
import { correlationIdOf, errorFields, type Logger } from '#runtime/logger.ts';
import type { Metrics } from '#runtime/metrics.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { withTimeout } from '#runtime/with-timeout.ts';
import { backoffDelay } from './backoff.ts';
import { becomeLeader, claimBatch, markPublished, setAside, type Partition } from './claim-batch.ts';
import { publishBatch } from './publish-batch.ts';
import { problemWith } from './screen-row.ts';
import type { OutboxRow } from './outbox-event.ts';
import { listenForWork, type WorkListener, type WorkSignal } from './wait-for-work.ts';

export interface RelayDeps {
  db: Db;
  amqp: Amqp;
  log: Logger;
  metrics: Metrics;
  config: Pick<Config, 'databaseUrl' | 'amqp' | 'outbox'>;
}

export interface BatchOutcome {
  leader: boolean;
  claimed: number;
  published: number;
  setAside: number;
}

export interface Relay {
  /** Starts the loop; returns at once. */
  start(): void;
  /** Why the loop stopped by itself, if it did (an unwritten stub; never a broker outage). */
  readonly failure: Error | undefined;
  /** Finishes the batch in flight, then stops. */
  stop(): Promise<void>;
  /** One batch, for tests and the benchmark. */
  relayBatch(): Promise<BatchOutcome>;
}

const PUBLISH_TIMEOUT_MS = 10_000;

export function createRelay(deps: RelayDeps): Relay {
  const { log, metrics, config } = deps;
  const channels = new Map<number, ConfirmChannel>();
  const partitions: Partition[] = Array.from({ length: config.outbox.partitions }, (_, index) => ({ index, count: config.outbox.partitions }));
  let stopping = false;
  let loop: Promise<void> | undefined;
  let listener: WorkListener | undefined;
  let pendingSampledAt = 0;
  let failure: Error | undefined;

  // One confirm channel per partition: a partition's events leave in order on one channel.
  const openChannel = async (partition: Partition): Promise<ConfirmChannel> => {
    const existing = channels.get(partition.index);
    if (existing) return existing;
    const opened = await deps.amqp.createConfirmChannel();
    await opened.assertExchange(config.amqp.exchange, 'topic', { durable: true });
    opened.on('return', (msg) => {
      metrics.outbox.unroutable.inc();
      log.warn(
        { messageId: msg.properties.messageId, routingKey: msg.fields.routingKey, correlationId: correlationIdOf(msg.properties.headers) },
        'no queue is bound for this event; the broker returned it',
      );
    });
    opened.on('error', (err: Error) => log.warn(errorFields(err), 'relay channel error'));
    opened.on('close', () => {
      if (channels.get(partition.index) === opened) channels.delete(partition.index);
    });
    channels.set(partition.index, opened);
    return opened;
  };

  const dropChannel = async (partition: Partition) => {
    const ch = channels.get(partition.index);
    channels.delete(partition.index);
    await ch?.close().catch(() => undefined);
  };

  const relayPartition = async (partition: Partition): Promise<BatchOutcome> => {
    const ch = await openChannel(partition);
    const outcome = await withTransaction(deps.db, async (tx) => {
      // Both for this transaction only, set before it takes any lock.
      // synchronous_commit: losing this commit in a crash only means publishing the batch again,
      // which at-least-once allows: no need to wait for the WAL flush.
      // idle_in_transaction_session_timeout: a relay whose host or network dies without a FIN
      // (power loss, a partition) leaves its backend idle in this transaction, holding the
      // partition's leader lock, and no other relay could publish the partition until TCP
      // keepalive gave up (about 2 h by default, and never through a proxy that keeps answering
      // it). PostgreSQL ends the session after this long idle instead; its transaction rolls back.
      await tx.query(`SELECT set_config('synchronous_commit', 'off', true), set_config('idle_in_transaction_session_timeout', $1::text, true)`, [
        String(config.outbox.idleInTransactionTimeoutMs),
      ]);
      if (!(await becomeLeader(tx, partition))) return { leader: false, claimed: 0, published: 0, setAside: 0, rows: [] as OutboxRow[] };
      const rows = await claimBatch(tx, config.outbox.batchSize, partition);
      const rejected = rows.flatMap((row) => {
        const reason = problemWith(row, config.outbox.maxPayloadBytes);
        return reason ? [{ id: row.id, reason, correlationId: correlationIdOf(row.headers) }] : [];
      });
      const publishable = rows.filter((row) => !rejected.some((r) => r.id === row.id));
      if (rejected.length > 0) {
        await setAside(tx, rejected);
        metrics.outbox.setAside.inc(rejected.length);
        log.error({ rejected }, 'outbox rows set aside: they can never be published');
      }
      if (publishable.length > 0) {
        // Bounded: a broker that stops answering must not hold this transaction's locks for ever.
        await withTimeout(publishBatch(ch, config.amqp.exchange, publishable), PUBLISH_TIMEOUT_MS, 'the broker did not confirm the batch');
        // The crash the lesson asks about: published and confirmed, not yet marked.
        await failpoint('relay.after-publish');
        await markPublished(
          tx,
          publishable.map((row) => row.id),
        );
      }
      return { leader: true, claimed: rows.length, published: publishable.length, setAside: rejected.length, rows: publishable };
    });
    const now = Date.now();
    for (const row of outcome.rows) {
      metrics.outbox.publishLag.observe((now - row.created_at.getTime()) / 1000);
      // A batch holds many requests' events: each line carries its own event's correlation id.
      logEvent(
        log,
        'debug',
        { event: 'event-published', messageId: row.id, eventType: row.event_type, correlationId: correlationIdOf(row.headers) },
        'event published',
      );
    }
    metrics.outbox.published.inc(outcome.published);
    await samplePending();
    return { leader: outcome.leader, claimed: outcome.claimed, published: outcome.published, setAside: outcome.setAside };
  };

  const samplePending = async () => {
    if (Date.now() - pendingSampledAt < 1_000) return;
    pendingSampledAt = Date.now();
    const { rows } = await deps.db.query<{ n: bigint }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND failed_at IS NULL');
    metrics.outbox.pending.set(Number(rows[0]?.n ?? 0));
  };

  /** One batch of every partition, one after another (tests, the benchmark). */
  const relayBatch = async (): Promise<BatchOutcome> => {
    const total: BatchOutcome = { leader: false, claimed: 0, published: 0, setAside: 0 };
    for (const partition of partitions) {
      const outcome = await relayPartition(partition);
      total.leader ||= outcome.leader;
      total.claimed += outcome.claimed;
      total.published += outcome.published;
      total.setAside += outcome.setAside;
    }
    return total;
  };

  const run = async () => {
    listener = listenForWork({ databaseUrl: config.databaseUrl, log });
    // A signal per loop: a NOTIFY that wakes one waiting loop must also reach a loop that is busy.
    await Promise.all(partitions.map((partition) => runPartition(partition, listener!.signal())));
    await listener.close();
  };

  const runPartition = async (partition: Partition, signal: WorkSignal) => {
    let failures = 0;
    while (!stopping) {
      try {
        const outcome = await relayPartition(partition);
        if (failures > 0) log.info({ afterFailures: failures }, 'relay publishing again');
        failures = 0;
        // A full batch means more may be waiting: go again at once.
        if (outcome.leader && outcome.claimed === config.outbox.batchSize) continue;
        if (!stopping) await signal.wait(config.outbox.pollMs);
      } catch (err) {
        // Retrying cannot write a missing stub: stop and say so.
        if (err instanceof TodoError) throw err;
        failures++;
        metrics.outbox.publishFailures.inc();
        // While the broker is away the backlog grows, and that is when the gauge is read
        // (the dashboard, OutboxBacklog): sample it here too, not only after a batch went out.
        await samplePending().catch(() => undefined);
        const delay = backoffDelay(failures, config.outbox.backoffMaxMs);
        logEvent(
          log,
          'warn',
          { event: 'relay-batch-failed', ...errorFields(err), partition: partition.index, attempt: failures, retryInMs: delay },
          'relay batch failed; every row stays in the outbox',
        );
        await dropChannel(partition);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    await dropChannel(partition);
  };

  return {
    start() {
      // Started late (the bid-worker waits for its consumers' queues) after a stop: stay stopped.
      if (stopping) return;
      loop ??= run().catch((err: Error) => {
        failure = err;
        log.error(errorFields(err), 'relay stopped');
      });
    },
    get failure() {
      return failure;
    },
    async stop() {
      stopping = true;
      // Wake an idle relay; a batch in flight finishes first.
      await listener?.close();
      await loop;
    },
    relayBatch,
  };
}
