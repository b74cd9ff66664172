// Run only by npm run test:containers (vitest.config.ts includes this folder only under
// WORKBOOK_INFRA=testcontainers): proves that this run's services came from containers, so
// the Testcontainers path can never pass by quietly using the services on this machine.
import { hostname } from 'node:os';
import amqp from 'amqplib';
import { createClient } from '@redis/client';
import { getContainerRuntimeClient } from 'testcontainers';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { workbookContainers, type ServiceKey, type WorkbookContainer } from '../containers.ts';
import { withPgClient } from '../../runtime/pg-client.ts';

const workbook = inject('workbook');
const portOf = (url: string) => Number(new URL(url).port);
const urls: Record<ServiceKey, string> = { postgres: workbook.databaseUrl, rabbitmq: workbook.amqpUrl, redis: workbook.redisUrl };
const composePorts: Record<ServiceKey, number> = { postgres: 5432, rabbitmq: 5672, redis: 6379 };

let containers: WorkbookContainer[] = [];
/** The running container whose mapped port this run's URL for the service points at. */
function behind(service: ServiceKey): WorkbookContainer {
  const found = containers.find((c) => c.service === service && c.running && c.publicPort === portOf(urls[service]));
  if (!found) throw new Error(`no running ${service} container maps port ${portOf(urls[service])}; containers: ${JSON.stringify(containers)}`);
  return found;
}

beforeAll(async () => {
  containers = await workbookContainers(await getContainerRuntimeClient());
});

describe('the services of a test:containers run come from containers', () => {
  it('the run resolved its infrastructure to Testcontainers', () => {
    expect(workbook.source).toBe('testcontainers');
  });

  it.each(['postgres', 'rabbitmq', 'redis'] as const)('%s is on a port the engine mapped, not the local service port', (service) => {
    const port = portOf(urls[service]);
    expect(port).not.toBe(composePorts[service]);
    expect(behind(service).publicPort).toBe(port);
  });

  it('PostgreSQL reports the container host name', async () => {
    const container = behind('postgres');
    await withPgClient(workbook.databaseUrl, async (client) => {
      // /etc/hostname as the server process reads it: the container's, not this machine's.
      const { rows } = await client.query<{ name: string }>("SELECT trim(pg_read_file('/etc/hostname'), E' \\n') AS name");
      expect(rows[0]?.name).toBe(container.hostname);
      expect(rows[0]?.name).not.toBe(hostname());
    });
  });

  it('RabbitMQ reports the container host name in its node name', async () => {
    const container = behind('rabbitmq');
    const conn = await amqp.connect(workbook.amqpUrl);
    try {
      // The node is rabbit@<host name>, in the official image and in the workbook's own.
      expect(conn.connection.serverProperties.cluster_name).toBe(`rabbit@${container.hostname}`);
    } finally {
      await conn.close();
    }
  });

  it('Redis reports the container address and its own port', async () => {
    const container = behind('redis');
    const client = createClient({ url: workbook.redisUrl });
    client.on('error', () => undefined);
    await client.connect();
    try {
      // Redis has no host name to report; the address it was reached at (laddr) is the
      // container's own, and the port it listens on is 6379 behind the mapped one.
      const info = await client.clientInfo();
      expect(container.address).toBeTruthy();
      expect(info.laddr).toBe(`${container.address}:6379`);
      expect(/tcp_port:(\d+)/.exec(await client.info('server'))?.[1]).toBe('6379');
    } finally {
      await client.quit();
    }
  });
});
