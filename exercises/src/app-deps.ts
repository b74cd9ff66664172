import type { Config } from '#runtime/config.ts';
import { createAmqp, type Amqp } from '#runtime/amqp.ts';
import { createDb, type Db } from '#runtime/db.ts';
import type { Logger } from '#runtime/logger.ts';
import { createMetrics, type Metrics } from '#runtime/metrics.ts';
import { connectInBackground, createRedis, type Redis } from '#runtime/redis.ts';

/** Everything a handler may need, passed explicitly as one argument. */
export interface AppDeps {
  config: Config;
  log: Logger;
  db: Db;
  /**
   * One PostgreSQL connection of the readiness probe's own. Under load every connection of
   * `db` is busy with bids and more wait in its queue; a probe that waited there would call
   * a healthy database down exactly when the pod is busy.
   */
  probeDb: Db;
  amqp: Amqp;
  redis: Redis;
  metrics: Metrics;
  /** Set on SIGTERM: /readyz answers 503 from then on, so no new traffic is routed here. */
  lifecycle: { draining: boolean };
}

/** Opens the connections without waiting for them: the service starts (not ready) while a dependency is down. */
export async function createAppDeps(config: Config, log: Logger): Promise<AppDeps> {
  const db = createDb({ url: config.databaseUrl, log, applicationName: config.serviceName });
  const probeDb = createDb({ url: config.databaseUrl, log, applicationName: `${config.serviceName} probe`, max: 1 });
  const redis = createRedis({ url: config.redisUrl, log });
  connectInBackground(redis, log);
  const amqp = await createAmqp({ url: config.amqpUrl, log, name: config.serviceName });
  return { config, log, db, probeDb, amqp, redis, metrics: createMetrics(), lifecycle: { draining: false } };
}
