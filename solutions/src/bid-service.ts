// Entry point of the API process. Run with `npm run start:service` (or `tsx solutions/src/bid-service.ts`).
import type { Server } from 'node:http';
import { ConfigError, serviceConfig } from '#runtime/config.ts';
import { configureFailpoints, onFailpointFired } from '#runtime/failpoints.ts';
import { createLogger } from '#runtime/logger.ts';
import { onShutdown } from '#runtime/shutdown.ts';
import { startApiServer, type ApiServer } from './api/server.ts';
import { createAppDeps, type AppDeps } from './app-deps.ts';
import { createHttpServer } from './http/server.ts';
import { coerceError } from '#runtime/coerce-error.ts';
import { logEvent } from '#runtime/process-events.ts';

async function main(): Promise<void> {
  const config = serviceConfig('bid-service');
  const log = createLogger({ name: config.serviceName, level: config.logLevel });
  configureFailpoints(config.failpoints);
  onFailpointFired((name, action, hit) => logEvent(log, 'warn', { event: 'failpoint-fired', failpoint: name, action: action.kind, hit }, 'failpoint fired'));
  const deps = await createAppDeps(config, log);
  // Milestone 6: the ConnectRPC API on its own port (h2c), behind the ingress.
  const api = await startApiServer(deps);
  const server = createHttpServer(deps);
  await new Promise<void>((resolve) => server.listen(config.http.port, config.http.host, resolve));
  const address = server.address();
  logEvent(
    log,
    'info',
    { event: 'listening', port: typeof address === 'object' && address ? address.port : config.http.port, apiPort: api.port, host: config.http.host },
    'bid-service listening',
  );
  // Readiness red first, then the API drains, then the HTTP/1.1 server finishes its requests.
  const closeServer = (http: Server) => closeServers(deps, api, http);

  // #region m1: on SIGTERM, stop taking requests, finish the ones in flight, close every connection, exit 0
  onShutdown({
    log,
    graceMs: config.http.shutdownGraceMs,
    steps: () => [
      { name: 'stop accepting requests and finish in-flight ones', run: () => closeServer(server) },
      { name: 'close PostgreSQL pool', run: () => deps.db.end() },
      { name: 'close the readiness probe’s PostgreSQL connection', run: () => deps.probeDb.end() },
      { name: 'close Redis', run: () => (deps.redis.isOpen ? deps.redis.quit() : Promise.resolve()) },
      { name: 'close RabbitMQ', run: () => deps.amqp.close() },
    ],
  });
  // #stub
  // // TODO(m1): handle SIGTERM with onShutdown from #runtime/shutdown.ts (see the milestone-1 README, step 6).
  // #endregion
}

/**
 * Resolves once every call and request in flight has finished: readiness turns red, the API
 * stops taking calls (GOAWAY) and ends its WatchItem streams with `unavailable`, then the
 * HTTP/1.1 server closes (idle keep-alive sockets at once).
 */
async function closeServers(deps: AppDeps, api: ApiServer, http: Server): Promise<void> {
  deps.lifecycle.draining = true;
  await api.close();
  await new Promise<void>((resolve, reject) => {
    http.close((err) => (err ? reject(err) : resolve()));
    http.closeIdleConnections();
  });
}

main().catch((err: unknown) => {
  // A learner-facing start-up failure: say what and what to do, not only a stack trace.
  if (err instanceof ConfigError) console.error(`bid-service cannot start: ${err.message}`);
  else console.error(`bid-service failed to start: ${coerceError(err).message}\nRun \`npm run doctor\` to check the services it needs.`);
  process.exit(1);
});
