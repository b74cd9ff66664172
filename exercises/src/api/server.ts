// The ConnectRPC API (milestone 6) on node:http2 in cleartext (h2c): the ingress terminates
// TLS and speaks HTTP/2 to it. Every RPC is under /api; health stays on the HTTP/1.1 port,
// because kubelet probes do not speak h2c.
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { createServer, type Http2Server, type Http2Session } from 'node:http2';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { compressionGzip, connectNodeAdapter } from '@connectrpc/connect-node';
import { codeToString } from '@connectrpc/connect/protocol-connect';
import { Gauge } from 'prom-client';
import { AuctionService } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import { correlationIdFrom, withCorrelationId } from '#runtime/logger.ts';
import { logEvent } from '#runtime/process-events.ts';
import { TodoError } from '#runtime/todo-error.ts';
import type { AppDeps } from '../app-deps.ts';
import { createTokenVerifier } from '../auth/verify-token.ts';
import { auctionService, toConnect } from './auction-service.ts';
import { authenticate } from './authenticate.ts';
import { withCorrelationHeader } from './correlation-header.ts';
import { strictJsonDecoder } from './strict-json.ts';
import { startWatchHub, type WatchHub } from './watch-hub.ts';
import { shuttingDown } from './watch-item.ts';

export const API_PREFIX = '/api';
/**
 * How long a shutdown gives a client to hang up once every call on its connection is done.
 * Node's graceful close sends GOAWAY and a FIN, then waits for the client's own FIN; a client
 * with a response it has not read to its end (a for-await loop left at the last message of a
 * stream) never sends it, and the process would wait its whole grace period, then exit 1.
 */
export const PEER_HANGUP_MS = 500;

export interface ApiServer {
  server: Http2Server;
  hub: WatchHub;
  /** The port it listens on. */
  port: number;
  /**
   * Graceful stop: no new connections or calls (GOAWAY), open WatchItem streams ended with
   * `unavailable`, in-flight calls finished; resolves when the last connection has closed.
   */
  close(): Promise<void>;
}

/** One log line and metrics per call; the correlation id from x-correlation-id (or a new one) for everything the call does. */
function correlationAndLog(deps: AppDeps): Interceptor {
  return (next) => async (req) => {
    // withCorrelationHeader (correlation-header.ts) already chose it, and put it on the response.
    const correlationId = correlationIdFrom(req.header.get('x-correlation-id'));
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const started = performance.now();
    // Once per call, when it ends: a unary call when it answers, a stream when its last message or error is sent.
    const ended = (err?: unknown) => {
      const code = err === undefined ? 'ok' : codeToString(ConnectError.from(err).code);
      const seconds = (performance.now() - started) / 1000;
      deps.metrics.rpcDuration.observe({ procedure, code }, seconds);
      logEvent(deps.log, 'info', { event: 'rpc', rpc: procedure, stream: req.stream, code, durationMs: Math.round(seconds * 1000) }, 'rpc');
    };
    return withCorrelationId(correlationId, async () => {
      let res;
      try {
        res = await next(req);
      } catch (err) {
        // Connect hides any error that is not a ConnectError as "internal error"; a stub's
        // TODO must reach the learner's test output as it is.
        const thrown = err instanceof TodoError ? new ConnectError(err.message, Code.Unimplemented) : err;
        ended(thrown);
        throw thrown;
      }
      if (!res.stream) {
        ended();
        return res;
      }
      return { ...res, message: observeStream(res.message, ended) };
    });
  };
}

async function* observeStream<T>(messages: AsyncIterable<T>, ended: (err?: unknown) => void): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    ended(err);
    throw err;
  }
  ended();
}

/**
 * A client may ask for a longer deadline than the server gives (a 60 s default is common);
 * Connect would refuse it with invalid_argument, so the call could never be made. The
 * deadline is lowered to the server's maximum instead, as gRPC servers do.
 */
function clampDeadline(headers: IncomingHttpHeaders, maxTimeoutMs: number): void {
  const connect = headers['connect-timeout-ms'];
  if (typeof connect === 'string' && /^\d{1,10}$/.test(connect) && Number(connect) > maxTimeoutMs) headers['connect-timeout-ms'] = String(maxTimeoutMs);
  const grpc = headers['grpc-timeout'];
  const m = typeof grpc === 'string' ? /^(\d{1,8})([HMSmun])$/.exec(grpc) : null;
  if (m && Number(m[1]) * GRPC_TIMEOUT_UNIT_MS[m[2]!]! > maxTimeoutMs) headers['grpc-timeout'] = `${maxTimeoutMs}m`;
}

// The request encodings the API reads: gzip, which every Connect and gRPC client has. Any other
// (br, zstd) is answered `unimplemented` naming these, so the client can send again without it.
const ACCEPT_COMPRESSION = [compressionGzip];

const GRPC_TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

export async function startApiServer(deps: AppDeps): Promise<ApiServer> {
  const hub = await startWatchHub(deps);
  const verifier = await createTokenVerifier(deps.config.auth, deps.log);
  deps.metrics.registry.registerMetric(
    new Gauge({
      name: 'api_watch_streams',
      help: 'Open WatchItem streams.',
      registers: [],
      collect() {
        this.set(hub.watchers);
      },
    }),
  );
  const handler = connectNodeAdapter({
    requestPathPrefix: API_PREFIX,
    routes: (router) => router.service(AuctionService, auctionService({ ...deps, hub })),
    // Outermost first: every call is logged and measured, refused ones (unauthenticated) too.
    interceptors: [correlationAndLog(deps), authenticate(verifier, toConnect)],
    readMaxBytes: deps.config.api.readMaxBytes,
    maxTimeoutMs: deps.config.api.maxTimeoutMs,
    acceptCompression: ACCEPT_COMPRESSION,
    // connect-es passes these to its JSON serialization; ignoreUnknownFields is its default, restated.
    jsonOptions: { ignoreUnknownFields: true, textDecoder: strictJsonDecoder } as { ignoreUnknownFields: boolean },
    // A request outside /api, or for no known RPC: a plain 404.
    fallback: (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not found: only ${API_PREFIX}/auction.api.v1.AuctionService/* is served here\n`);
    },
  });
  const { maxConcurrentStreams, sessionIdleTimeoutMs, maxTimeoutMs } = deps.config.api;
  // SETTINGS_MAX_CONCURRENT_STREAMS bounds what one connection can ask for at once; without
  // it a single client opens thousands of streams and the process holds them all in memory.
  // Node answers a burst of cancelled streams (HTTP/2 rapid reset) with GOAWAY. Behind the
  // ingress one connection carries every client's calls, and one attacker would cut them all:
  // the budget is set for that connection, and the ingress faces the attackers.
  // The same holds for refused streams. Node (24.21 and later) counts a stream its client reset
  // until it has read the rest of that write, so a new stream sent in the same write as the
  // reset can be refused (ENHANCE_YOUR_CALM) although the client kept to the limit; the ingress
  // does exactly that when its clients cancel. Node's default closes the connection after 100
  // refusals in a row, and with it every other client's call (limits.test.ts).
  const { streamResetBurst, streamResetRate, maxSessionRejectedStreams } = deps.config.api;
  const server = createServer(
    { settings: { maxConcurrentStreams }, streamResetBurst, streamResetRate, maxSessionRejectedStreams },
    withCorrelationHeader((req, res) => {
      clampDeadline(req.headers, maxTimeoutMs);
      // connect-es answers an unknown encoding with `unimplemented` but drops the list it puts
      // on the error (a protocol header); the Connect protocol asks for it, so it is on every answer.
      res.setHeader('accept-encoding', ACCEPT_COMPRESSION.map((c) => c.name).join(','));
      // An answer sent before the request was read to its end (a body over API_READ_MAX_BYTES,
      // refused unread): what is left of the body is read and dropped. Left unread, it stops node
      // reading the connection: the client's close is never seen, the stream stays open, and a
      // graceful shutdown waits for it until its grace period ends, then exits 1. (No RST_STREAM:
      // the writable side ends before a gRPC answer's trailers are sent, and it would cut them.)
      req.stream.once('finish', () => {
        if (!req.readableEnded) req.resume();
      });
      handler(req, res);
    }),
  );
  const sessions = new Set<Http2Session>();
  const openStreams = new Map<Http2Session, number>();
  // The connections themselves: a session's socket is a proxy that refuses destroy().
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Calls in flight over every connection, and who waits for the last one to end.
  let calls = 0;
  const callsDone: Array<() => void> = [];
  server.on('session', (session) => {
    sessions.add(session);
    openStreams.set(session, 0);
    session.once('close', () => {
      sessions.delete(session);
      openStreams.delete(session);
    });
    // A connection that carries no call and no bytes for this long is closed: a client that
    // vanished without a FIN (or never sent a request) would otherwise hold it forever. A
    // quiet WatchItem stream is a call, so its connection stays.
    session.setTimeout(sessionIdleTimeoutMs, () => {
      if ((openStreams.get(session) ?? 0) === 0) session.close();
    });
  });
  server.on('stream', (stream) => {
    const session = stream.session;
    if (!session) return;
    openStreams.set(session, (openStreams.get(session) ?? 0) + 1);
    calls++;
    stream.once('close', () => {
      if (openStreams.has(session)) openStreams.set(session, openStreams.get(session)! - 1);
      if (--calls === 0) for (const done of callsDone.splice(0)) done();
    });
  });
  await new Promise<void>((resolve) => server.listen(deps.config.http.apiPort, deps.config.http.host, resolve));
  const address = server.address();
  return {
    server,
    hub,
    port: typeof address === 'object' && address ? address.port : deps.config.http.apiPort,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // GOAWAY: each connection finishes the calls it has and takes no new ones.
      for (const session of sessions) session.close();
      await hub.close(shuttingDown());
      if (calls > 0) await new Promise<void>((resolve) => callsDone.push(resolve));
      // Every call answered: a connection still open now waits only for its client to hang up.
      const hangUp = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, PEER_HANGUP_MS);
      await closed;
      clearTimeout(hangUp);
    },
  };
}
