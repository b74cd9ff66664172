// npm run read-model:rebuild: repopulates the Redis read model from PostgreSQL (after a
// flush, or to start a new read model). Safe while the bid-worker consumes.
import { ConfigError, serviceConfig } from '#runtime/config.ts';
import { createDb } from '#runtime/db.ts';
import { createLogger } from '#runtime/logger.ts';
import { createRedis } from '#runtime/redis.ts';
import { rebuildReadModel } from './read-model/rebuild-read-model.ts';
import { coerceError } from '#runtime/coerce-error.ts';

async function main(): Promise<void> {
  const config = serviceConfig('bid-worker');
  const log = createLogger({ name: 'read-model-rebuild', level: config.logLevel });
  const db = createDb({ url: config.databaseUrl, log, applicationName: 'read-model-rebuild' });
  const redis = createRedis({ url: config.redisUrl, log });
  try {
    await redis.connect();
    const started = performance.now();
    const { written, current } = await rebuildReadModel({ db, redis, config }, (done) => process.stderr.write(`\r${done} items…`));
    process.stderr.write('\n');
    console.log(
      `Read model rebuilt from PostgreSQL in ${((performance.now() - started) / 1000).toFixed(1)} s: ${written} items written, ${current} already current.`,
    );
  } finally {
    await db.end();
    if (redis.isOpen) await redis.quit();
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`read-model:rebuild cannot start: ${err.message}`);
  else
    console.error(
      `read-model:rebuild failed: ${coerceError(err).message}\nRun \`npm run doctor\` to check the services it needs; the milestone-4 code it runs must pass \`npm run milestone:4\`.`,
    );
  process.exit(1);
});
