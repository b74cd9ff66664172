import { createClient } from 'redis';
import type { Logger } from './logger.ts';


/**
 * A Redis client that reconnects by itself (jittered backoff, capped at 2 s) and fails
 * commands at once while disconnected instead of queueing them: a caller (a readiness probe,
 * a read with a PostgreSQL fallback) must learn that Redis is down, not hang.
 */
function newClient(url: string) {
  return createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries) => Math.min(2 ** retries * 50, 2_000) * (0.5 + Math.random() / 2),
    },
  });
}

export type Redis = ReturnType<typeof newClient>;

export function createRedis(deps: { url: string; log: Logger }): Redis {
  const client = newClient(deps.url);
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) deps.log.warn({ err: err.message }, 'Redis connection lost; reconnecting');
    down = true;
  });
  client.on('ready', () => {
    if (down) deps.log.info('Redis connection restored');
    down = false;
  });
  return client;
}

/** Starts connecting without waiting: the process starts even while Redis is down. */
export function connectInBackground(client: Redis, log: Logger): void {
  client.connect().catch((err: Error) => log.warn({ err: err.message }, 'Redis not reachable yet; still trying'));
}

/** Deletes every Redis key under `prefix` (SCAN + DEL, never FLUSHDB: others share this Redis); returns how many. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  let deleted = 0;
  try {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1_000 })) if (keys.length) deleted += await redis.del(keys);
    return deleted;
  } finally {
    if (redis.isOpen) await redis.quit().catch(() => undefined);
  }
}
