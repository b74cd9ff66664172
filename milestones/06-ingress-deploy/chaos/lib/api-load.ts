// Building blocks of milestone 6's chaos scenarios and its benchmark: Connect clients through
// the ingress or straight to a bid-service, bidders that retry the same request (same request
// id) until it is answered, watchers that reconnect, and what the database says afterwards.
// (In chaos/lib/: chaos/ holds only scenarios, which `npm run check -- manifest` enforces.)
import { patient } from '#testkit/patience.ts';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { AuctionService, BidTooLowDetailSchema, type Bid } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import { bidderColumn } from '#testkit/bidder-column.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { Config } from '#runtime/config.ts';
import type { Ingress } from '#testkit/ingress.ts';
import { signIn, withBearer } from '#testkit/sign-in.ts';
import { withPgClient } from '#runtime/pg-client.ts';

export type AuctionClient = Client<typeof AuctionService>;

/** A client of the API through the ingress: TLS with its local CA, HTTP/2; with `token`, each call without an authorization header of its own is signed in with it. */
export function ingressClient(ingress: Pick<Ingress, 'url' | 'caCertPath'>, token?: string): AuctionClient {
  const ca = readFileSync(ingress.caCertPath);
  return createClient(
    AuctionService,
    createConnectTransport({
      baseUrl: `${ingress.url}/api`,
      httpVersion: '2',
      useBinaryFormat: true,
      nodeOptions: { ca },
      interceptors: token ? [withBearer(token)] : [],
    }),
  );
}

/** A client of one bid-service's API over h2c, as the ingress talks to it; `token` as for ingressClient. */
export function directClient(apiUrl: string, token?: string): AuctionClient {
  return createClient(
    AuctionService,
    createConnectTransport({ baseUrl: `${apiUrl}/api`, httpVersion: '2', useBinaryFormat: true, interceptors: token ? [withBearer(token)] : [] }),
  );
}

/** `n` free TCP ports, all held until every one is found, then released. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/**
 * Errors after which the same request is sent again: the call may or may not have reached the
 * database. A lost connection surfaces as unavailable, unknown or internal (a reset stream),
 * a slow answer as deadline exceeded; a busy item is unavailable too.
 */
export function isRetryable(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return (
    code === Code.Unavailable ||
    code === Code.Unknown ||
    code === Code.Internal ||
    code === Code.DeadlineExceeded ||
    code === Code.Aborted ||
    code === Code.Canceled
  );
}

export type BidAnswer = { kind: 'accepted'; bid: Bid } | { kind: 'refused'; code: Code; minimumNextCents?: bigint } | { kind: 'gave-up'; lastError: string };

/**
 * Sends one PlaceBid as the bidder `token` signs in, and the very same request (same token,
 * same request id) again after every retryable error, until answered or `giveUpAfterMs`.
 */
export async function placeUntilAnswered(
  client: () => AuctionClient,
  req: { itemId: string; amountCents: bigint; requestId: string },
  options: { token: string; timeoutMs?: number; giveUpAfterMs?: number; onRetry?: (err: ConnectError) => void },
): Promise<BidAnswer & { attempts: number }> {
  // Longer on an overloaded machine (testkit/patience.ts): CI's first run on a fresh machine shares
  // it with package installs, and at load 30 four real bids of hostile-clients gave up after 20 s.
  const giveUpAt = Date.now() + patient(options.giveUpAfterMs ?? 20_000);
  for (let attempts = 1; ; attempts++) {
    try {
      const { bid } = await client().placeBid(req, { timeoutMs: options.timeoutMs ?? 5_000, headers: { authorization: `Bearer ${options.token}` } });
      return { kind: 'accepted', bid: bid!, attempts };
    } catch (err) {
      const ce = ConnectError.from(err);
      if (!isRetryable(ce)) {
        const detail = ce.findDetails(BidTooLowDetailSchema)[0];
        return { kind: 'refused', code: ce.code, ...(detail ? { minimumNextCents: detail.minimumNextBidCents } : {}), attempts };
      }
      options.onRetry?.(ce);
      if (Date.now() > giveUpAt) return { kind: 'gave-up', lastError: `${Code[ce.code]}: ${ce.rawMessage}`, attempts };
      await sleep(50 + Math.random() * 100 * Math.min(attempts, 5));
    }
  }
}

export interface BidLoadResult {
  /** Logical bids (request ids) sent. */
  sent: number;
  accepted: Bid[];
  refused: number;
  /** Bids never answered within the give-up time, retries and all. */
  gaveUp: string[];
  /** Sends after the first of a request (same request id). */
  retries: number;
  retryCodes: Record<string, number>;
  /** Accepted bids whose answer came to a resend (the first send may have placed it: then the resend is its replay). */
  acceptedAfterResend: number;
}

/**
 * `clients` bidders (each signed in as a demo user of its own, with a dev token of `auth`) bid on random items of `items` until `signal` aborts,
 * each bid a new request id, outbidding the price it last saw; refusals (too low) teach it the
 * minimum. Every logical bid is retried with the same request id until answered.
 */
export async function bidLoad(options: {
  client: () => AuctionClient;
  auth: Pick<Config, 'auth'>;
  items: string[];
  clients: number;
  signal: AbortSignal;
  maxAccepted?: number;
  pauseMs?: number;
  startCents?: bigint;
  incrementCents?: bigint;
}): Promise<BidLoadResult> {
  const increment = options.incrementCents ?? 100n;
  const minimum = new Map(options.items.map((id) => [id, options.startCents ?? 100n]));
  const result: BidLoadResult = { sent: 0, accepted: [], refused: 0, gaveUp: [], retries: 0, retryCodes: {}, acceptedAfterResend: 0 };
  const bidder = async () => {
    const { token } = await signIn(options.auth);
    while (!options.signal.aborted && result.accepted.length < (options.maxAccepted ?? Infinity)) {
      const itemId = options.items[Math.floor(Math.random() * options.items.length)]!;
      const amountCents = minimum.get(itemId)! + increment * BigInt(Math.floor(Math.random() * 3));
      const requestId = crypto.randomUUID();
      result.sent++;
      const answer = await placeUntilAnswered(
        options.client,
        { itemId, amountCents, requestId },
        {
          token,
          onRetry: (err) => {
            result.retries++;
            result.retryCodes[Code[err.code]] = (result.retryCodes[Code[err.code]] ?? 0) + 1;
          },
        },
      );
      if (answer.kind === 'accepted') {
        result.accepted.push(answer.bid);
        if (answer.attempts > 1) result.acceptedAfterResend++;
        if (answer.bid.amountCents + increment > minimum.get(itemId)!) minimum.set(itemId, answer.bid.amountCents + increment);
      } else if (answer.kind === 'refused') {
        result.refused++;
        if (answer.minimumNextCents !== undefined && answer.minimumNextCents > minimum.get(itemId)!) minimum.set(itemId, answer.minimumNextCents);
      } else result.gaveUp.push(answer.lastError);
      if (options.pauseMs) await sleep(options.pauseMs * (0.5 + Math.random()));
    }
  };
  await Promise.all(Array.from({ length: options.clients }, bidder));
  return result;
}

/** What the database says about the answered bids: how many are there, how many (bidder, request id) pairs twice, how many answered ids are missing. */
export async function bidsVerdict(databaseUrl: string, accepted: Bid[]): Promise<{ inDb: number; duplicated: number; lost: number }> {
  return withPgClient(databaseUrl, async (client) => {
    const bidder = await bidderColumn(client);
    const { rows } = await client.query<{ in_db: string; duplicated: string }>(
      `SELECT (SELECT count(*) FROM bids) AS in_db,
              (SELECT count(*) FROM (SELECT 1 FROM bids WHERE request_id IS NOT NULL GROUP BY ${bidder}, request_id HAVING count(*) > 1) d) AS duplicated`,
    );
    const ids = accepted.map((b) => b.id);
    const { rows: found } = await client.query<{ n: string }>('SELECT count(DISTINCT id) AS n FROM bids WHERE id = ANY($1::uuid[])', [ids]);
    return { inDb: Number(rows[0]!.in_db), duplicated: Number(rows[0]!.duplicated), lost: new Set(ids).size - Number(found[0]!.n) };
  });
}

/** Each item's state in PostgreSQL as WatchItem reports it: version (last sequence), bid count, price. */
export async function itemStates(databaseUrl: string, itemIds: string[]): Promise<Map<string, string>> {
  return withPgClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: string; state: string }>(
      `SELECT i.id, concat_ws('/', i.last_sequence, (SELECT count(*) FROM bids b WHERE b.item_id = i.id), coalesce(i.highest_bid_cents::text, '')) AS state
         FROM items i WHERE i.id = ANY($1::uuid[])`,
      [itemIds],
    );
    return new Map(rows.map((r) => [r.id, r.state]));
  });
}

export interface Watcher {
  itemId: string;
  /** The last state received, as version/bidCount/price. */
  last: string | undefined;
  lastVersion: bigint;
  reconnects: number;
  /** Why streams ended with unavailable, by message. */
  unavailable: Record<string, number>;
  /** When streams ended with the ingress's own 503 (no upstream available), ms since epoch. */
  ingress503At: number[];
  /** Ends that were not `unavailable` (nor the watcher's own stop), with their code. */
  badEnds: string[];
  /** Messages whose version went back. */
  wentBack: number;
  stop(): Promise<void>;
}

/** A WatchItem stream that reconnects whenever it ends with `unavailable` (or its connection drops), resuming from the current state. */
export function watch(client: () => AuctionClient, itemId: string): Watcher {
  const abort = new AbortController();
  const w: Watcher = {
    itemId,
    last: undefined,
    lastVersion: -1n,
    reconnects: 0,
    unavailable: {},
    ingress503At: [],
    badEnds: [],
    wentBack: 0,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
  const done = (async () => {
    while (!abort.signal.aborted) {
      try {
        for await (const { live } of client().watchItem({ itemId }, { signal: abort.signal })) {
          if (live!.version < w.lastVersion) w.wentBack++;
          w.lastVersion = live!.version;
          w.last = `${live!.version}/${live!.bidCount}/${live!.priceCents ?? ''}`;
        }
        if (!abort.signal.aborted) w.badEnds.push('ended without error');
      } catch (err) {
        if (abort.signal.aborted) break;
        const ce = ConnectError.from(err);
        // unavailable is the server's "reconnect" (shutdown); unknown/internal a connection cut.
        if (ce.code !== Code.Unavailable) w.badEnds.push(`${Code[ce.code]}: ${ce.rawMessage}`);
        else w.unavailable[ce.rawMessage] = (w.unavailable[ce.rawMessage] ?? 0) + 1;
        if (ce.rawMessage === 'HTTP 503') w.ingress503At.push(Date.now());
      }
      if (abort.signal.aborted) break;
      w.reconnects++;
      await sleep(50 + Math.random() * 100);
    }
  })();
  return w;
}
