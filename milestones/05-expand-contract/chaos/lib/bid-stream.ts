// What milestone 5's scenarios share: bidders that keep bidding over HTTP while a migration or
// a backfill runs, every answer recorded with its time, and the measures read from them.
// (In chaos/lib/: chaos/ holds only scenarios, which `npm run check -- manifest` enforces.)
import { randomInt, randomUUID } from 'node:crypto';
import { withPgClient } from '#runtime/pg-client.ts';

export interface Answer {
  /** performance.now() when the bid was sent. */
  at: number;
  ms: number;
  status: number;
  code?: string;
  /** The error message of a 5xx answer. */
  message?: string;
  /** The bid's id, when it was accepted (201). */
  id?: string;
  /** Which service answered: its index in `services()`. */
  service: number;
}

/** When the answer arrived. */
export const answeredAt = (a: Answer) => a.at + a.ms;

/**
 * `workers` bidders bid on random `items` until stop(), each through the next of `services()`
 * in turn (a list that may grow while they run). Amounts rise globally from far above any seeded
 * price, so a bid is refused as too low only when a later one on the same item overtook it.
 */
export function streamBids(options: { services: () => string[]; items: string[]; workers: number; pauseMs?: number }) {
  const answers: Answer[] = [];
  let stopped = false;
  let amount = 100_000_000;
  let turn = 0;
  const bidder = async () => {
    while (!stopped) {
      const urls = options.services();
      const service = turn++ % urls.length;
      const itemId = options.items[randomInt(options.items.length)]!;
      const body = JSON.stringify({ userId: randomUUID(), amountCents: String((amount += 100)) });
      const at = performance.now();
      const answer = await fetch(`${urls[service]}/items/${itemId}/bids`, { method: 'POST', body, signal: AbortSignal.timeout(15_000) }).then(
        async (res) => {
          const json = (await res.json().catch(() => ({}))) as { id?: string; error?: { code?: string; message?: string } };
          return {
            status: res.status,
            ...(json.error?.code ? { code: json.error.code } : {}),
            ...(res.status >= 500 && json.error?.message ? { message: json.error.message } : {}),
            ...(res.status === 201 && json.id ? { id: json.id } : {}),
          };
        },
        (err: Error) => ({ status: 0, code: err.name }),
      );
      answers.push({ at, ms: performance.now() - at, service, ...answer });
      // No answer at all (a service gone) must not turn this loop into a busy spin.
      const pauseMs = answer.status === 0 ? Math.max(options.pauseMs ?? 0, 20) : (options.pauseMs ?? 0);
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs * (0.5 + Math.random())));
    }
  };
  const running = Promise.all(Array.from({ length: options.workers }, bidder));
  return {
    answers,
    async stop(): Promise<Answer[]> {
      stopped = true;
      await running;
      return answers;
    },
  };
}

/** Throws when bid-service answered 501: the tree's bidding code is not written yet, so nothing here can be measured. */
export function assertBiddingWritten(answers: Answer[], milestone = 3): void {
  const todo = answers.find((a) => a.status === 501);
  if (todo)
    throw new Error(`bid-service answered 501: its bidding code is not written yet (${todo.message ?? 'unimplemented'}); milestone ${milestone} comes first`);
}

/** Accepted, legitimately too low (a later bid on the item overtook it), busy (503), and anything else. */
export function tally(answers: Answer[]) {
  const accepted = answers.filter((a) => a.status === 201).length;
  const tooLow = answers.filter((a) => a.status === 409 && a.code === 'bid_too_low').length;
  const busy = answers.filter((a) => a.status === 503).length;
  return { sent: answers.length, accepted, tooLow, busy, other: answers.length - accepted - tooLow - busy };
}

/**
 * The longest stretch, in seconds, between `from` and `to` (performance.now() times) in which
 * no bid was accepted: the edges of the window count, so a window without one is all gap.
 */
export function longestGapSeconds(answers: Answer[], from: number, to: number): number {
  const times = answers.filter((a) => a.status === 201 && answeredAt(a) >= from && answeredAt(a) <= to).map(answeredAt);
  const points = [from, ...times.sort((x, y) => x - y), to];
  let longest = 0;
  for (let i = 1; i < points.length; i++) longest = Math.max(longest, points[i]! - points[i - 1]!);
  return Number((longest / 1000).toFixed(1));
}

/** Acknowledged (201) bids that are not in the database. */
export async function lostBids(databaseUrl: string, answers: Answer[]): Promise<number> {
  const ids = answers.flatMap((a) => (a.id ? [a.id] : []));
  return withPgClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM bids WHERE id = ANY($1::uuid[])', [ids]);
    return ids.length - Number(rows[0]!.n);
  });
}

/** Every item id, to bid on. */
export async function itemIds(databaseUrl: string): Promise<string[]> {
  return withPgClient(databaseUrl, async (client) => {
    return (await client.query<{ id: string }>('SELECT id FROM items')).rows.map((r) => r.id);
  });
}
