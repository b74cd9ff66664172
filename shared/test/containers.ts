// Step 3 of design §4: PostgreSQL, RabbitMQ and Redis from Testcontainers, with the images
// docker-compose.yml uses (overridable in config). Readiness is checked by connecting, which
// works for the official images and for locally built ones alike.
import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import type { WorkbookSettings } from '../config.ts';
import type { Infra } from './infra.ts';
import { waitUntilServicesAnswer } from './wait-for-services.ts';

export async function dockerReachable(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startContainers(settings: WorkbookSettings): Promise<Infra> {
  const start = (image: string, port: number, env: Record<string, string> = {}) =>
    new GenericContainer(image).withExposedPorts(port).withEnvironment(env).withWaitStrategy(Wait.forListeningPorts()).withReuse().start();
  const [pg, mq, rd] = await Promise.all([
    start(settings.images.postgres, 5432, { POSTGRES_PASSWORD: 'postgres', POSTGRES_HOST_AUTH_METHOD: 'trust' }),
    start(settings.images.rabbitmq, 5672),
    start(settings.images.redis, 6379),
  ]);
  const url = (c: StartedTestContainer, scheme: string, port: number, rest: string) => `${scheme}://${rest}${c.getHost()}:${c.getMappedPort(port)}`;
  const infra: Infra = {
    source: 'testcontainers',
    databaseUrl: `${url(pg, 'postgres', 5432, 'postgres:postgres@')}/postgres`,
    amqpUrl: url(mq, 'amqp', 5672, 'guest:guest@'),
    redisUrl: url(rd, 'redis', 6379, ''),
    // Reused containers stay up between runs, so the next run starts in seconds.
    stop: async () => undefined,
  };
  await waitUntilServicesAnswer(infra, 60_000);
  return infra;
}
