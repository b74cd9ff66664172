// Entry point of the API process. Run with `npm run start:service` (or `tsx solutions/src/bid-service.ts`).
import type { Server } from 'node:http';
import { ConfigError, serviceConfig } from '#shared/config.ts';
import { configureFailpoints, onFailpointFired } from '#shared/failpoints.ts';
import { createLogger } from '#shared/logger.ts';
import { onShutdown } from '#shared/shutdown.ts';
import { createAppDeps } from './app-deps.ts';
import { createHttpServer } from './http/server.ts';

async function main(): Promise<void> {
  const config = serviceConfig('bid-service');
  const log = createLogger({ name: config.serviceName, level: config.logLevel });
  configureFailpoints(config.failpoints);
  onFailpointFired((name, action, hit) => log.warn({ failpoint: name, action: action.kind, hit }, 'failpoint fired'));
  const deps = await createAppDeps(config, log);
  const server = createHttpServer(deps);
  await new Promise<void>((resolve) => server.listen(config.http.port, config.http.host, resolve));
  const address = server.address();
  log.info({ port: typeof address === 'object' && address ? address.port : config.http.port, host: config.http.host }, 'bid-service listening');

  // #region m1: on SIGTERM, stop taking requests, finish the ones in flight, close every connection, exit 0
  // TODO(m1): handle SIGTERM with onShutdown from #shared/shutdown.ts (see the milestone-1 README, step 6).
  // #endregion
}

/** Resolves once every open request has finished; idle keep-alive sockets are closed at once. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeIdleConnections();
  });
}

main().catch((err: unknown) => {
  // A learner-facing start-up failure: say what and what to do, not only a stack trace.
  if (err instanceof ConfigError) console.error(`bid-service cannot start: ${err.message}`);
  else console.error(`bid-service failed to start: ${(err as Error).message}\nRun \`npm run doctor\` to check the services it needs.`);
  process.exit(1);
});

