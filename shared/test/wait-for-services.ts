import amqp from 'amqplib';
import { createClient } from 'redis';
import { withPgClient } from '../pg-client.ts';

/** Retries a real connection to each service until it answers or `timeoutMs` passes. */
export async function waitUntilServicesAnswer(urls: { databaseUrl: string; amqpUrl: string; redisUrl: string }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const until = async (name: string, probe: () => Promise<unknown>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await probe();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${name} did not answer within ${timeoutMs} ms: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 1_000)));
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
