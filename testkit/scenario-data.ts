// The data a scenario sets up and reads back: items to bid on, what reached the database and
// the queues, and what its processes said (a stub not written yet, a duplicate skipped).
import amqplib from 'amqplib';
import type { Config } from '../runtime/config.ts';
import { withPgClient } from '../runtime/pg-client.ts';
import { CONSUMERS, queueNames } from '../runtime/queues.ts';
import { isEvent } from '../runtime/process-events.ts';
import { loggedErrorMessage, type LogLine, type ServiceProcess } from './service-process.ts';

/** How many of the acknowledged item ids are in the database, with their exact price. */
export async function itemsInDatabase(databaseUrl: string, ids: string[], startPriceCents: string): Promise<number> {
  if (ids.length === 0) return 0;
  return withPgClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM items WHERE id = ANY($1::uuid[]) AND start_price_cents = $2::bigint', [
      ids,
      startPriceCents,
    ]);
    return Number(rows[0]?.n ?? 0);
  });
}

/** Open items for a scenario, written directly. */
export async function openItems(databaseUrl: string, n: number): Promise<string[]> {
  return withPgClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO items (title, start_price_cents, end_at) SELECT 'chaos lot ' || g, 100, now() + interval '1 day' FROM generate_series(1, $1::int) AS g RETURNING id`,
      [n],
    );
    return rows.map((r) => r.id);
  });
}

/** What happened to every bid: in the database, delivered as an event, lost, duplicated. */
export async function deliveryVerdict(databaseUrl: string, delivered: Array<{ messageId: string; event: { bidId: string } }>) {
  return withPgClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM bids');
    const inDb = new Set(rows.map((r) => r.id));
    const deliveredBids = new Set(delivered.map((m) => m.event.bidId));
    const lost = [...inDb].filter((id) => !deliveredBids.has(id)).length;
    const distinctMessages = new Set(delivered.map((m) => m.messageId)).size;
    return { inDb: inDb.size, published: deliveredBids.size, lost, duplicates: delivered.length - distinctMessages };
  });
}

/** `count` open items whose auctions end `firstEndsInMs` from now, then one every `everyMs`, by the database's clock. */
export async function itemsEndingSoon(
  databaseUrl: string,
  count: number,
  options: { firstEndsInMs: number; everyMs: number; startPriceCents?: bigint },
): Promise<string[]> {
  return withPgClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO items (title, start_price_cents, start_at, end_at)
       SELECT 'chaos lot ' || g, $2::bigint, now() - interval '1 minute', now() + make_interval(secs => ($3::int + (g - 1) * $4::int) / 1000.0)
         FROM generate_series(1, $1::int) AS g ORDER BY g RETURNING id`,
      [count, (options.startPriceCents ?? 1_000n).toString(), options.firstEndsInMs, options.everyMs],
    );
    return rows.map((r) => r.id);
  });
}

/** Messages ready in the consumers' queues, and in their dead-letter queues (a queue not declared counts 0). */
export async function consumerQueueDepths(config: Pick<Config, 'amqpUrl' | 'amqp'>): Promise<{ queued: number; deadLettered: number }> {
  const connection = await amqplib.connect(config.amqpUrl);
  try {
    const depth = async (queue: string) => {
      // checkQueue on a missing queue closes its channel: one channel per check.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        return (await channel.checkQueue(queue)).messageCount;
      } catch {
        return 0;
      } finally {
        await channel.close().catch(() => undefined);
      }
    };
    let queued = 0;
    let deadLettered = 0;
    for (const c of CONSUMERS) {
      const { queue, deadLetterQueue } = queueNames(config, c);
      queued += await depth(queue);
      deadLettered += await depth(deadLetterQueue);
    }
    return { queued, deadLettered };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** A log line saying that code is not written yet (a TodoError): the process will not converge. */
export const isTodoLine = (l: LogLine) => typeof l.todo === 'string' || loggedErrorMessage(l)?.startsWith('TODO(') === true;

/** What a process logged about code not written yet, if it did. */
export function loggedTodo(proc: ServiceProcess): string | undefined {
  const line = proc.logs.find(isTodoLine);
  return line && `${line.msg}: ${String(line.todo ?? loggedErrorMessage(line))}`;
}

/**
 * A check a scenario calls while it waits: throws, naming the process, as soon as one of them
 * logged code not written yet, since waiting longer would only end in a timeout that hides why.
 * `processes` is read at each call, so processes started later (a worker started again) count.
 */
export function throwIfUnwritten(processes: () => Array<[name: string, proc: ServiceProcess | undefined]>): () => void {
  return () => {
    for (const [name, proc] of processes()) {
      const said = proc && loggedTodo(proc);
      if (said) throw new Error(`${name} runs unwritten code (${said})`);
    }
  };
}

/** Deliveries a worker's consumers found already applied (logged at debug level as 'message handled', outcome 'duplicate'), per consumer. */
export function duplicatesSkipped(workers: ServiceProcess[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const w of workers)
    for (const l of w.logs) if (isEvent(l, 'message-handled') && l.outcome === 'duplicate') counts[String(l.consumer)] = (counts[String(l.consumer)] ?? 0) + 1;
  return counts;
}
