import amqp from 'amqplib';
import { createClient } from '@redis/client';
import { withPgClient } from '../runtime/pg-client.ts';
import { coerceError } from '../runtime/coerce-error.ts';
import { backoffMs, type Backoff } from '../runtime/retry.ts';

// Short pauses first (a service that is up answers at once), then at most one probe a second.
const PROBE_PAUSE: Backoff = { firstMs: 100, maxMs: 1_000, jitter: 'equal' };

/** Retries a real connection to each service until it answers or `timeoutMs` passes. */
export async function waitUntilServicesAnswer(urls: { databaseUrl: string; amqpUrl: string; redisUrl: string }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const until = async (name: string, probe: () => Promise<unknown>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await probe();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${name} did not answer within ${timeoutMs} ms: ${coerceError(err).message}`);
        await new Promise((r) => setTimeout(r, backoffMs(attempt, PROBE_PAUSE)));
      }
    }
  };
  await Promise.all([
    until('PostgreSQL', () => withPgClient(urls.databaseUrl, (client) => client.query('SELECT 1'), { connectionTimeoutMillis: 2_000 })),
    until('RabbitMQ', async () => (await amqp.connect(urls.amqpUrl)).close()),
    until('Redis', async () => {
      const client = createClient({ url: urls.redisUrl, socket: { reconnectStrategy: false, connectTimeout: 2_000 } });
      client.on('error', () => undefined);
      await client.connect();
      await client.ping();
      await client.quit();
    }),
  ]);
}
