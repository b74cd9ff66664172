// Load over the HTTP API for chaos scenarios, benchmarks and tests: bounded loops of item
// creations or bids, each answer counted (acknowledged, refused with a typed reason, failed).
import { sleep } from './scenario-observers.ts';
import { coerceError } from '../runtime/coerce-error.ts';

export interface LoadResult {
  sent: number;
  acknowledged: string[];
  failed: number;
  /** When each failed request ended (Date.now()), to tell failures during a fault from the others. */
  failedAt: number[];
}

/** Runs `request` from `workers` loops until `stop()` resolves or `maxRequests` is reached. */
export async function generateLoad(options: {
  workers: number;
  maxRequests: number;
  until: Promise<void>;
  request: () => Promise<string | undefined>;
}): Promise<LoadResult> {
  const result: Omit<LoadResult, 'failed'> = { sent: 0, acknowledged: [], failedAt: [] };
  let stopped = false;
  void options.until.then(() => (stopped = true));
  const loop = async () => {
    while (!stopped && result.sent < options.maxRequests) {
      result.sent++;
      try {
        const id = await options.request();
        if (id) result.acknowledged.push(id);
        else result.failedAt.push(Date.now());
      } catch {
        result.failedAt.push(Date.now());
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, loop));
  return { ...result, failed: result.failedAt.length };
}

/** POST /items from `workers` loops until `stop()`; each 201 is an acknowledged write, by id. */
export function itemLoad(serviceUrl: string, options: { workers: number; maxRequests: number; title: string; startPriceCents: string | number }) {
  let stop!: () => void;
  const until = new Promise<void>((resolve) => (stop = resolve));
  const endAt = new Date(Date.now() + 86_400_000).toISOString();
  const body = JSON.stringify({ title: options.title, startPriceCents: options.startPriceCents, endAt });
  const done = generateLoad({
    workers: options.workers,
    maxRequests: options.maxRequests,
    until,
    request: async () => {
      const res = await fetch(`${serviceUrl}/items`, { method: 'POST', body, signal: AbortSignal.timeout(5_000) });
      return res.status === 201 ? ((await res.json()) as { id: string }).id : undefined;
    },
  });
  return {
    async stop(): Promise<LoadResult> {
      stop();
      return done;
    },
  };
}

/**
 * Places `count` bids over HTTP, at most `perSecond` a second, from `concurrency` bidders.
 * Each item is bid on by one bidder at a time with rising amounts, so every bid is valid
 * under milestone 3's rules. Returns the ids of the acknowledged (201) bids.
 */
export async function placeBidsOverHttp(options: {
  serviceUrl: () => string;
  items: string[];
  count: number;
  perSecond?: number;
  concurrency?: number;
  onFailure?: (i: number, reason: string) => Promise<void> | void;
  /** Stops sending (before `count`) once aborted: a load that lasts a fixed time on a machine that may not keep the rate. */
  signal?: AbortSignal;
}): Promise<{ attempted: number; acknowledged: string[]; failed: number }> {
  const acknowledged: string[] = [];
  const concurrency = Math.min(options.concurrency ?? 1, options.items.length);
  const bidsOnItem = new Map<string, number>();
  let attempted = 0;
  let failed = 0;
  const started = Date.now();
  const interval = options.perSecond ? 1000 / options.perSecond : 0;
  const worker = async (w: number) => {
    const mine = options.items.filter((_, i) => i % concurrency === w);
    for (let k = 0; attempted < options.count && !options.signal?.aborted; k++) {
      const i = attempted++;
      if (interval) {
        const due = started + i * interval;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const itemId = mine[k % mine.length]!;
      const n = (bidsOnItem.get(itemId) ?? 0) + 1;
      bidsOnItem.set(itemId, n);
      const body = JSON.stringify({ userId: randomUUIDv4(), amountCents: String(1_000 * n) });
      const reason = await fetch(`${options.serviceUrl()}/items/${itemId}/bids`, { method: 'POST', body, signal: AbortSignal.timeout(5_000) }).then(
        async (res) => {
          if (res.status === 201) {
            acknowledged.push(((await res.json()) as { id: string }).id);
            return undefined;
          }
          return `HTTP ${res.status} ${await res.text()}`;
        },
        (err: Error) => err.message,
      );
      if (reason !== undefined) {
        failed++;
        await options.onFailure?.(i, reason);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { attempted, acknowledged, failed };
}

const randomUUIDv4 = () => globalThis.crypto.randomUUID();

/** POSTs one bid; returns the HTTP status, and for a refusal its code ('bid_too_low', 'unavailable', …) and the minimum to beat. */
export async function postBid(
  serviceUrl: string,
  itemId: string,
  body: Record<string, unknown>,
): Promise<{ status: number; code?: string; minimumNextCents?: bigint }> {
  try {
    const res = await fetch(`${serviceUrl}/items/${itemId}/bids`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    const json = (await res.json()) as { error?: { code?: string; minimumNextCents?: string } };
    return {
      status: res.status,
      ...(json.error?.code ? { code: json.error.code } : {}),
      ...(json.error?.minimumNextCents ? { minimumNextCents: BigInt(json.error.minimumNextCents) } : {}),
    };
  } catch (err) {
    return { status: 0, code: coerceError(err).name };
  }
}

export interface AuctionLoadResult {
  accepted: number;
  tooLow: number;
  ended: number;
  /** Any other answer (5xx, no answer). */
  failed: number;
  /** Set when bid-service answered 501: the tree's bidding code is not written yet. */
  unimplemented?: string;
}

/**
 * The same `bidders` (user ids) bid on random open items, each outbidding the price last seen
 * by anyone, pausing about `pauseMs` between bids, until every auction refused a bid because it
 * ended (or `timeoutMs`, or `signal` aborts). Stops at once on a 501.
 */
export async function bidUntilAuctionsEnd(options: {
  serviceUrl: () => string;
  items: string[];
  bidders: string[];
  pauseMs: number;
  timeoutMs: number;
  startPriceCents?: bigint;
  incrementCents?: bigint;
  signal?: AbortSignal;
}): Promise<AuctionLoadResult> {
  const increment = options.incrementCents ?? 100n;
  const minimum = new Map(options.items.map((id) => [id, options.startPriceCents ?? 1_000n]));
  const open = new Set(options.items);
  const result: AuctionLoadResult = { accepted: 0, tooLow: 0, ended: 0, failed: 0 };
  const deadline = Date.now() + options.timeoutMs;
  const bidder = async (userId: string) => {
    await sleep(Math.random() * options.pauseMs);
    while (open.size > 0 && Date.now() < deadline && result.unimplemented === undefined && !options.signal?.aborted) {
      const itemId = [...open][Math.floor(Math.random() * open.size)]!;
      const amount = minimum.get(itemId)! + increment * BigInt(Math.floor(Math.random() * 3));
      const answer = await fetch(`${options.serviceUrl()}/items/${itemId}/bids`, {
        method: 'POST',
        body: JSON.stringify({ userId, amountCents: amount.toString() }),
        signal: AbortSignal.timeout(5_000),
      }).then(
        async (res) => ({
          status: res.status,
          body: (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string; minimumNextCents?: string } },
        }),
        () => ({ status: 0, body: {} as { error?: { code?: string; message?: string; minimumNextCents?: string } } }),
      );
      const error = answer.body.error;
      if (answer.status === 201) {
        result.accepted++;
        if (amount + increment > minimum.get(itemId)!) minimum.set(itemId, amount + increment);
      } else if (error?.code === 'bid_too_low') {
        result.tooLow++;
        const next = BigInt(error.minimumNextCents ?? '0');
        if (next > minimum.get(itemId)!) minimum.set(itemId, next);
      } else if (error?.code === 'auction_ended') {
        result.ended++;
        open.delete(itemId);
      } else if (answer.status === 501) {
        result.unimplemented = error?.message ?? 'HTTP 501';
      } else {
        result.failed++;
      }
      await sleep(options.pauseMs * (0.5 + Math.random()));
    }
  };
  await Promise.all(options.bidders.map(bidder));
  return result;
}
