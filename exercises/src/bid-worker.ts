// Entry point of the worker process: the outbox relay (milestone 2), the auction closer, the
// consumers of the events and the retention job (milestone 4). Serves /healthz, /readyz and /metrics for its orchestrator.
import { createServer, type Server } from 'node:http';
import { ConfigError, serviceConfig, type WorkerRole } from '#runtime/config.ts';
import { createAmqp } from '#runtime/amqp.ts';
import { createDb } from '#runtime/db.ts';
import { configureFailpoints, onFailpointFired } from '#runtime/failpoints.ts';
import { createLogger } from '#runtime/logger.ts';
import { createMetrics } from '#runtime/metrics.ts';
import { connectInBackground, createRedis } from '#runtime/redis.ts';
import { onShutdown } from '#runtime/shutdown.ts';
import { createCloser } from './auctions/closer.ts';
import { startReadModelConsumer, startStatsConsumer } from './consumers/consumers.ts';
import { createRelay } from './outbox/relay.ts';
import { createRetention } from './retention/retention.ts';
import { coerceError } from '#runtime/coerce-error.ts';
import { logEvent } from '#runtime/process-events.ts';

async function main(): Promise<void> {
  const config = serviceConfig('bid-worker');
  const log = createLogger({ name: config.serviceName, level: config.logLevel });
  configureFailpoints(config.failpoints);
  onFailpointFired((name, action, hit) => logEvent(log, 'warn', { event: 'failpoint-fired', failpoint: name, action: action.kind, hit }, 'failpoint fired'));
  const db = createDb({ url: config.databaseUrl, log, applicationName: config.serviceName });
  const amqp = await createAmqp({ url: config.amqpUrl, log, name: config.serviceName });
  const metrics = createMetrics();
  const redis = createRedis({ url: config.redisUrl, log });
  connectInBackground(redis, log);
  const runs = (role: WorkerRole) => config.worker.roles.includes(role);
  const consumers = runs('consumers')
    ? [await startStatsConsumer({ db, amqp, log, metrics, config }), await startReadModelConsumer({ redis, amqp, log, metrics, config })]
    : [];
  const closer = runs('closer') ? createCloser({ db, log, metrics, config }) : undefined;
  closer?.start();
  const retention = runs('retention') ? createRetention({ db, log, metrics, config }) : undefined;
  retention?.start();
  const relay = runs('relay') ? createRelay({ db, amqp, log, metrics, config }) : undefined;
  // The broker drops an event that no queue is bound for (the relay counts it as unroutable),
  // so the relay publishes only once this worker's consumers have bound their queues.
  if (relay) void Promise.all(consumers.map((c) => c.bound)).then(() => relay.start());
  log.info({ roles: config.worker.roles }, 'bid-worker roles');

  const server: Server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.url === '/readyz') {
      // Ready while it can reach the two things it cannot work without (Redis outages only pause the read model).
      void Promise.all([
        db.query('SELECT 1').then(
          () => true,
          () => false,
        ),
        Promise.resolve(amqp.connected),
      ]).then(([postgres, rabbitmq]) =>
        res
          .writeHead(postgres && rabbitmq ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: postgres && rabbitmq ? 'ready' : 'not ready', postgres, rabbitmq })),
      );
    } else if (req.url === '/metrics') {
      void metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(config.http.port, config.http.host, resolve));
  const address = server.address();
  logEvent(log, 'info', { event: 'listening', port: typeof address === 'object' && address ? address.port : config.http.port }, 'bid-worker listening');

  onShutdown({
    log,
    graceMs: config.http.shutdownGraceMs,
    steps: () => [
      { name: 'stop the consumers after acking the messages in hand', run: async () => void (await Promise.all(consumers.map((c) => c.stop()))) },
      { name: 'stop the closer after its batch in flight', run: async () => closer?.stop() },
      { name: 'stop the relay after its batch in flight', run: async () => relay?.stop() },
      { name: 'stop the retention job after its batch in flight', run: async () => retention?.stop() },
      { name: 'stop serving health and metrics', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      { name: 'close PostgreSQL pool', run: () => db.end() },
      { name: 'close RabbitMQ', run: () => amqp.close() },
      { name: 'close Redis', run: () => (redis.isOpen ? redis.quit() : Promise.resolve()) },
    ],
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`bid-worker cannot start: ${err.message}`);
  else console.error(`bid-worker failed to start: ${coerceError(err).message}\nRun \`npm run doctor\` to check the services it needs.`);
  process.exit(1);
});
