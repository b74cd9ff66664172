// Where the services come from (design §4), in this order:
//   1. DATABASE_URL / AMQP_URL / REDIS_URL in the environment;
//   2. services already answering on the docker-compose ports on localhost;
//   3. a Docker engine reachable: Testcontainers, same images as docker-compose.yml;
//   4. otherwise an error naming each way to get them.
// WORKBOOK_INFRA=testcontainers (settings.infra) goes straight to 3, and fails if it cannot.
import { connect } from 'node:net';
import { composeDefaults, type WorkbookSettings } from '../runtime/config.ts';
import { patient } from './patience.ts';

export type InfraSource = 'env' | 'local' | 'testcontainers';

export interface Infra {
  source: InfraSource;
  databaseUrl: string;
  amqpUrl: string;
  redisUrl: string;
  /** Only for Testcontainers: stops the containers this run started. */
  stop?: () => Promise<void>;
}

export class InfraUnavailable extends Error {
  override name = 'InfraUnavailable';
  constructor(readonly missing: string[]) {
    super(
      [
        `These services are not reachable: ${missing.join(', ')}.`,
        'The workbook looked for them in this order:',
        '  1. DATABASE_URL, AMQP_URL and REDIS_URL in the environment (not set);',
        '  2. the docker-compose ports on 127.0.0.1 (5432 PostgreSQL, 5672 RabbitMQ, 6379 Redis);',
        '  3. a Docker engine for Testcontainers (none answered).',
        'Fix it one of these ways, then run the command again:',
        '  - `docker compose up -d` (Docker Desktop or Docker Engine), or',
        '  - start your local PostgreSQL 15, RabbitMQ 3 and Redis 7, or',
        '  - export DATABASE_URL=postgres://… AMQP_URL=amqp://… REDIS_URL=redis://…',
        'Then `npm run doctor` shows what it finds.',
      ].join('\n'),
    );
  }
}

export interface ServiceEndpoint {
  name: 'PostgreSQL' | 'RabbitMQ' | 'Redis';
  url: string;
  host: string;
  port: number;
  startHint: string;
}

export function endpoints(urls: { databaseUrl: string; amqpUrl: string; redisUrl: string }): ServiceEndpoint[] {
  const at = (url: string, fallback: number) => {
    const u = new URL(url);
    return { host: u.hostname || '127.0.0.1', port: Number(u.port || fallback) };
  };
  return [
    {
      name: 'PostgreSQL',
      url: urls.databaseUrl,
      ...at(urls.databaseUrl, 5432),
      startHint: 'docker compose up -d postgres   (or start your local PostgreSQL 15)',
    },
    { name: 'RabbitMQ', url: urls.amqpUrl, ...at(urls.amqpUrl, 5672), startHint: 'docker compose up -d rabbitmq   (or `rabbitmq-server -detached`)' },
    { name: 'Redis', url: urls.redisUrl, ...at(urls.redisUrl, 6379), startHint: 'docker compose up -d redis   (or `redis-server --daemonize yes`)' },
  ];
}

/**
 * How long a service on this machine may take to accept a connection. Half a second on a quiet
 * machine; under load (load average 35 on 2 cores, other test runs beside this one) a fixed
 * 500 ms made every running service look unreachable, and the learner was told to start them.
 */
const REACHABLE_WITHIN_MS = 500;

/** True when something accepts a TCP connection there within `timeoutMs` (by default REACHABLE_WITHIN_MS, scaled with the machine's load: patience.ts). */
export function tcpReachable(host: string, port: number, timeoutMs = patient(REACHABLE_WITHIN_MS)): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    // Node runs expired timers before it reads I/O: after the event loop was busy for longer than
    // the timeout (modules loading on a loaded machine), the timer would win over a connection
    // the kernel had accepted long before. The timeout is decided after one more read of I/O: a
    // 'connect' found there resolves first, and this later done(false) changes nothing.
    socket.setTimeout(timeoutMs, () => setImmediate(() => done(false)));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function resolveInfra(settings: WorkbookSettings, options: { allowContainers?: boolean } = {}): Promise<Infra> {
  if (settings.infra === 'testcontainers') {
    // Forced (npm run test:containers): steps 1 and 2 are not even looked at, so a broken
    // container path fails with its reason instead of falling back to this machine's services.
    // Without allowContainers (the doctor), only containers already running are reported.
    const { runningContainers, startContainers } = await import('./containers.ts');
    return options.allowContainers === false ? runningContainers(settings) : startContainers(settings);
  }
  const explicit = settings.explicitUrls;
  if (explicit.databaseUrl || explicit.amqpUrl || explicit.redisUrl) {
    return {
      source: 'env',
      databaseUrl: explicit.databaseUrl ?? composeDefaults.databaseUrl,
      amqpUrl: explicit.amqpUrl ?? composeDefaults.amqpUrl,
      redisUrl: explicit.redisUrl ?? composeDefaults.redisUrl,
    };
  }
  const local = endpoints(composeDefaults);
  const reachable = await Promise.all(local.map((e) => tcpReachable(e.host, e.port)));
  if (reachable.every(Boolean)) return { source: 'local', ...composeDefaults };
  if (options.allowContainers !== false) {
    const { dockerReachable, startContainers } = await import('./containers.ts');
    if (await dockerReachable()) return startContainers(settings);
  }
  throw new InfraUnavailable(local.filter((_, i) => !reachable[i]).map((e) => `${e.name} (${e.host}:${e.port})`));
}
