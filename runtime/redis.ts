import { createClient } from '@redis/client';
import { errorFields, type Logger } from './logger.ts';
import { backoffMs, type Backoff } from './retry.ts';

// At least half of each pause, so one client does not hammer a Redis that is restarting.
const RECONNECT: Backoff = { firstMs: 50, maxMs: 2_000, jitter: 'equal' };

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
      reconnectStrategy: (retries) => backoffMs(retries + 1, RECONNECT),
    },
  });
}

export type Redis = ReturnType<typeof newClient>;

export function createRedis(deps: { url: string; log: Logger }): Redis {
  const client = newClient(deps.url);
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) deps.log.warn(errorFields(err), 'Redis connection lost; reconnecting');
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
  client.connect().catch((err: Error) => log.warn(errorFields(err), 'Redis not reachable yet; still trying'));
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
