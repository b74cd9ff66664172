// The ConnectRPC API (milestone 6) on node:http2 in cleartext (h2c): the ingress terminates
// TLS and speaks HTTP/2 to it. Every RPC is under /api; health stays on the HTTP/1.1 port,
// because kubelet probes do not speak h2c.
import { createServer, type Http2Server, type Http2Session } from 'node:http2';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Gauge } from 'prom-client';
import { AuctionService } from '#shared/api/gen/auction/api/v1/auction_pb.ts';
import { correlationIdFrom, withCorrelationId } from '#shared/logger.ts';
import { TodoError } from '#shared/todo-error.ts';
import type { AppDeps } from '../app-deps.ts';
import { auctionService } from './auction-service.ts';
import { withCorrelationHeader } from './correlation-header.ts';
import { strictJsonDecoder } from './strict-json.ts';
import { startWatchHub, type WatchHub } from './watch-hub.ts';
import { shuttingDown } from './watch-item.ts';

export const API_PREFIX = '/api';

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
    const route = `${req.service.typeName}/${req.method.name}`;
    const started = performance.now();
    return withCorrelationId(correlationId, async () => {
      let code = 'ok';
      try {
        return await next(req);
      } catch (err) {
        // Connect hides any error that is not a ConnectError as "internal error"; a stub's
        // TODO must reach the learner's test output as it is.
        const thrown = err instanceof TodoError ? new ConnectError(err.message, Code.Unimplemented) : err;
        code = String((thrown as { code?: number }).code ?? 'unknown');
        throw thrown;
      } finally {
        deps.metrics.httpRequests.inc({ method: 'RPC', route, status: code });
        deps.log.info({ rpc: route, stream: req.stream, code, durationMs: Math.round(performance.now() - started) }, 'rpc');
      }
    });
  };
}

export async function startApiServer(deps: AppDeps): Promise<ApiServer> {
  const hub = await startWatchHub(deps);
  deps.metrics.registry.registerMetric(
    new Gauge({ name: 'api_watch_streams', help: 'Open WatchItem streams.', registers: [], collect() { this.set(hub.watchers); } }),
  );
  const handler = connectNodeAdapter({
    requestPathPrefix: API_PREFIX,
    routes: (router) => router.service(AuctionService, auctionService({ ...deps, hub })),
    interceptors: [correlationAndLog(deps)],
    readMaxBytes: deps.config.api.readMaxBytes,
    maxTimeoutMs: deps.config.api.maxTimeoutMs,
    // connect-es passes these to its JSON serialization; ignoreUnknownFields is its default, restated.
    jsonOptions: { ignoreUnknownFields: true, textDecoder: strictJsonDecoder } as { ignoreUnknownFields: boolean },
    // A request outside /api, or for no known RPC: a plain 404.
    fallback: (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not found: only ${API_PREFIX}/auction.api.v1.AuctionService/* is served here\n`);
    },
  });
  const server = createServer(withCorrelationHeader(handler));
  const sessions = new Set<Http2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
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
      await closed;
    },
  };
}
