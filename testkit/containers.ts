// Step 3 of design §4: PostgreSQL, RabbitMQ and Redis from Testcontainers. The images come
// from config (WorkbookSettings.images): by default the official ones docker-compose.yml
// uses, so a learner with Docker builds nothing; where no Docker engine runs, the ones
// scripts/containers/podman.sh builds from Debian's packages. Readiness is checked by
// connecting with each service's own client, which works for both kinds of image alike.
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import {
  GenericContainer,
  ImageName,
  getContainerRuntimeClient,
  type ContainerRuntimeClient,
  type StartedTestContainer,
  type WaitStrategy,
} from 'testcontainers';
import type { WorkbookSettings } from '../runtime/config.ts';
import { InfraUnavailable, tcpReachable, type Infra } from './infra.ts';
import { loadNote, patient } from './patience.ts';
import { waitUntilServicesAnswer } from './wait-for-services.ts';
import { coerceError } from '../runtime/coerce-error.ts';

/** The Testcontainers path cannot be used: what is wrong, and the fix. */
export class ContainersUnavailable extends InfraUnavailable {
  override name = 'ContainersUnavailable';
  constructor(
    what: string,
    readonly fix: string,
  ) {
    super([]);
    this.message = `${what}\nFix: ${fix}`;
  }
}

export type ServiceKey = 'postgres' | 'rabbitmq' | 'redis';

interface Service {
  key: ServiceKey;
  name: 'PostgreSQL' | 'RabbitMQ' | 'Redis';
  port: number;
  /** Read by the official images; the workbook's own need none (their entry points match). */
  env: Record<string, string>;
  variable: string;
}

export const SERVICES: readonly Service[] = [
  {
    key: 'postgres',
    name: 'PostgreSQL',
    port: 5432,
    env: { POSTGRES_PASSWORD: 'postgres', POSTGRES_HOST_AUTH_METHOD: 'trust' },
    variable: 'WORKBOOK_POSTGRES_IMAGE',
  },
  { key: 'rabbitmq', name: 'RabbitMQ', port: 5672, env: {}, variable: 'WORKBOOK_RABBITMQ_IMAGE' },
  { key: 'redis', name: 'Redis', port: 6379, env: {}, variable: 'WORKBOOK_REDIS_IMAGE' },
];

/** Labels on every workbook container: how doctor, the proof test and `podman.sh stop` find them. */
export const SERVICE_LABEL = 'workbook.service';
const IMAGE_LABEL = 'workbook.image';

const PODMAN_SOCKET = 'unix:///run/podman/podman.sock';
const PODMAN_UP = 'bash scripts/containers/podman.sh up, then eval "$(bash scripts/containers/podman.sh env)"';

export interface Engine {
  /** "Podman 4.3.1", "Docker Engine - Community 28.2.2", … */
  label: string;
  /** The command line that talks to it, for fixes: `podman logs …`, `docker logs …`. */
  cli: 'podman' | 'docker';
  /** DOCKER_HOST, or where Testcontainers found the engine by itself. */
  endpoint: string;
}

function howToStart(endpoint: string | undefined): string {
  if (endpoint === PODMAN_SOCKET) return "start podman's Docker API again: bash scripts/containers/podman.sh start   (as root; `up` also builds the images)";
  return `start Docker (Docker Desktop, or \`sudo systemctl start docker\`)${endpoint ? ', or point DOCKER_HOST at the socket it listens on' : ''}; without Docker, on Debian: ${PODMAN_UP}`;
}

interface DockerVersion {
  Version?: string;
  Platform?: { Name?: string };
  Components?: Array<{ Name?: string; Version?: string }>;
}

function engineOf(version: DockerVersion, endpoint: string): Engine {
  // Podman names itself in Components ("Podman Engine") and its OS in Platform.Name.
  const podman = (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? ''));
  const name = podman ? 'Podman' : version.Platform?.Name || 'Docker Engine';
  return { label: `${name} ${version.Version ?? '?'}`, cli: podman ? 'podman' : 'docker', endpoint };
}

/** GET /version over a unix socket: the engine's own words, or why there are none. */
function askVersion(socketPath: string, timeoutMs: number): Promise<{ version: DockerVersion } | { code: string }> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/version', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
          resolve({ version: JSON.parse(body) as DockerVersion });
        } catch {
          resolve({ code: `HTTP_${res.statusCode}` });
        }
      });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ code: 'TIMEOUT' });
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ code: err.code ?? err.message }));
    req.end();
  });
}

/**
 * The container engine Testcontainers will use, or a ContainersUnavailable naming the fix.
 * DOCKER_HOST is checked first by hand, because each way a socket can be wrong has its own
 * fix and Testcontainers reports them all as "no working container runtime strategy".
 */
export async function findEngine(settings: WorkbookSettings): Promise<{ engine: Engine; client: ContainerRuntimeClient }> {
  const host = settings.dockerHost;
  if (host?.startsWith('unix://')) {
    const path = new URL(host).pathname;
    if (!existsSync(path)) {
      throw new ContainersUnavailable(`DOCKER_HOST=${host} names ${path}, which does not exist: no container engine is running there.`, howToStart(host));
    }
    // podman's API service answers its first request only once it has opened its storage: on
    // a busy machine that took over 3 s (CI: "did not answer within 3 s" at load 20). The limit
    // scales with the load, like every wait of the test kit.
    const limit = patient(10_000);
    const answer = await askVersion(path, limit);
    if ('code' in answer) {
      const what =
        answer.code === 'ECONNREFUSED'
          ? `${path} (DOCKER_HOST) is a socket, but nothing accepts connections on it: the engine that made it has stopped.`
          : answer.code === 'EACCES'
            ? `${path} (DOCKER_HOST) exists, but this user may not use it (permission denied).`
            : answer.code === 'TIMEOUT'
              ? `The engine at ${path} (DOCKER_HOST) accepted a connection but did not answer within ${limit / 1000} s (${loadNote()}).`
              : answer.code.startsWith('HTTP_')
                ? `Something answers on ${path} (DOCKER_HOST), but not as a Docker API (${answer.code.replace('_', ' ')}).`
                : `${path} (DOCKER_HOST) cannot be used: ${answer.code}.`;
      const fix =
        answer.code === 'EACCES' ? 'add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again), or run as root' : howToStart(host);
      throw new ContainersUnavailable(what, fix);
    }
  } else if (host?.startsWith('tcp://')) {
    const u = new URL(host);
    if (!(await tcpReachable(u.hostname, Number(u.port || 2375), 2_000))) {
      throw new ContainersUnavailable(`DOCKER_HOST=${host}: nothing accepts connections at ${u.hostname}:${u.port || 2375}.`, howToStart(host));
    }
  }
  let client: ContainerRuntimeClient;
  try {
    client = await getContainerRuntimeClient();
  } catch (err) {
    throw new ContainersUnavailable(
      host
        ? `Testcontainers could not use the engine at DOCKER_HOST=${host}: ${coerceError(err).message}.`
        : 'No container engine answers: DOCKER_HOST is not set and Testcontainers found no Docker socket (/var/run/docker.sock, ~/.docker/run/docker.sock, …).',
      howToStart(host),
    );
  }
  const version = (await client.container.dockerode.version().catch(() => ({}))) as DockerVersion;
  return { engine: engineOf(version, host ?? `the default socket (${client.info.containerRuntime.host})`), client };
}

/** True when Testcontainers finds an engine by itself (design §4, step 3). */
export async function dockerReachable(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** Each configured image and whether the engine has it (pulling is left to startContainers). */
export async function imagesPresent(
  client: ContainerRuntimeClient,
  settings: WorkbookSettings,
): Promise<Array<{ service: ServiceKey; image: string; present: boolean }>> {
  return Promise.all(
    SERVICES.map(async (s) => ({
      service: s.key,
      image: settings.images[s.key],
      present: await client.image.exists(ImageName.fromString(settings.images[s.key])).catch(() => false),
    })),
  );
}

async function ensureImage(client: ContainerRuntimeClient, engine: Engine, service: Service, image: string): Promise<void> {
  const name = ImageName.fromString(image);
  if (await client.image.exists(name)) return;
  let reason = '';
  try {
    await client.image.pull(name);
  } catch (err) {
    reason = firstLine(coerceError(err).message);
  }
  // A failed pull can also end "successfully" with its error inside the stream; only the
  // image being there counts, and the engine's own words say why it is not.
  if (await client.image.exists(name).catch(() => false)) return;
  reason ||= await pullError(client, image);
  throw new ContainersUnavailable(
    `The ${service.name} image ${image} (${service.variable}) is not on ${engine.label} and could not be pulled${reason ? `: ${reason}` : ''}.`,
    engine.cli === 'podman'
      ? `build the workbook's images from Debian's packages: bash scripts/containers/podman.sh build, then eval "$(bash scripts/containers/podman.sh env)"; or set ${service.variable} to an image you have (podman images lists them)`
      : `check the name, or pull it yourself (docker pull ${image}); or set ${service.variable} to an image you have (docker images lists them)`,
  );
}

/** Pulls once more, reading the error line the engine streams back (podman and Docker both do). */
async function pullError(client: ContainerRuntimeClient, image: string): Promise<string> {
  try {
    const stream = await client.container.dockerode.pull(image);
    let text = '';
    for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString();
    const lines = text.split('\n').map((l) => {
      try {
        return JSON.parse(l) as { error?: string };
      } catch {
        return {};
      }
    });
    return (lines.find((l) => l.error)?.error ?? '').replace(/^initializing source \S+: /, '').slice(0, 300);
  } catch (err) {
    return firstLine(coerceError(err).message);
  }
}

// Testcontainers' default check looks inside the container with shell tools and only proves
// that a port is open; connecting with each service's client (below) proves it answers, and
// needs nothing from the image.
const checkedByConnecting: WaitStrategy = {
  waitUntilReady: async () => undefined,
  withStartupTimeout() {
    return this;
  },
  isStartupTimeoutSet: () => false,
  getStartupTimeout: () => 90_000,
};

async function startService(engine: Engine, service: Service, image: string): Promise<StartedTestContainer> {
  try {
    return await new GenericContainer(image)
      .withExposedPorts(service.port)
      .withEnvironment(service.env)
      .withLabels({ [SERVICE_LABEL]: service.key, [IMAGE_LABEL]: image })
      .withWaitStrategy(checkedByConnecting)
      // One set of containers per machine, found again by every run (and by the CLI's prepare
      // and vitest's global setup within one run): the next run starts in seconds. Each test
      // file still gets its own database, names and key prefix (testkit/harness.ts).
      .withReuse()
      .start();
  } catch (err) {
    throw new ContainersUnavailable(
      `${engine.label} could not start the ${service.name} container (${image}): ${firstLine(coerceError(err).message)}`,
      engine.cli === 'podman'
        ? 'bash scripts/containers/podman.sh up configures podman for this machine (runc, cgroupfs, ulimits); run it, then the command again'
        : `\`docker run --rm ${image}\` shows the same error in full; fix what it says, then run the command again`,
    );
  }
}

/** Rejects as soon as one of the containers stops while the services are being waited for. */
async function watchForExit(
  client: ContainerRuntimeClient,
  engine: Engine,
  started: Array<{ service: Service; container: StartedTestContainer }>,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    for (const { service, container } of started) {
      const state = await client.container.inspect(client.container.getById(container.getId())).then(
        (i) => i.State,
        () => undefined,
      );
      if (signal.aborted) return;
      if (state?.Running && engine.endpoint === PODMAN_SOCKET && !containerProcessAlive(state.Pid, container.getId())) {
        // podman.sh's own rootful podman shares this machine's process table: a container it
        // lists as running whose process is gone was stopped under podman (a session ended).
        throw new ContainersUnavailable(
          `The ${service.name} container (${container.getName().replace(/^\//, '')}) is listed as running, but its process is gone: this machine's processes were stopped since it started.`,
          'bash scripts/containers/podman.sh start removes such containers; then run the command again',
        );
      }
      if (state && !state.Running) {
        throw new ContainersUnavailable(
          `The ${service.name} container (${container.getName().replace(/^\//, '')}) stopped while starting, with exit code ${state.ExitCode}.`,
          `\`${engine.cli} logs ${container.getName().replace(/^\//, '')}\` shows why${engine.cli === 'podman' ? "; for the workbook's own images, bash scripts/containers/podman.sh build rebuilds them" : ''}`,
        );
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function startContainers(settings: WorkbookSettings): Promise<Infra> {
  const { engine, client } = await findEngine(settings);
  await Promise.all(SERVICES.map((service) => ensureImage(client, engine, service, settings.images[service.key])));
  const started = await Promise.all(
    SERVICES.map(async (service) => ({ service, container: await startService(engine, service, settings.images[service.key]) })),
  );
  const [pg, mq, rd] = started.map((s) => s.container) as [StartedTestContainer, StartedTestContainer, StartedTestContainer];
  const url = (c: StartedTestContainer, scheme: string, port: number, rest: string) => `${scheme}://${rest}${c.getHost()}:${c.getMappedPort(port)}`;
  const infra: Infra = {
    source: 'testcontainers',
    databaseUrl: `${url(pg, 'postgres', 5432, 'postgres:postgres@')}/postgres`,
    amqpUrl: url(mq, 'amqp', 5672, 'guest:guest@'),
    redisUrl: url(rd, 'redis', 6379, ''),
    // Reused containers stay up between runs; `bash scripts/containers/podman.sh stop` (or
    // `docker rm -f` of the containers labelled workbook.service) removes them.
    stop: async () => undefined,
  };
  const done = new AbortController();
  const exited = watchForExit(client, engine, started, done.signal);
  exited.catch(() => undefined);
  try {
    await Promise.race([waitUntilServicesAnswer(infra, 90_000), exited]);
  } catch (err) {
    if (err instanceof ContainersUnavailable) throw err;
    throw new ContainersUnavailable(
      `The containers started, but a service did not answer: ${coerceError(err).message}`,
      `\`${engine.cli} logs <container>\` shows why (\`${engine.cli} ps\` lists them)`,
    );
  } finally {
    done.abort();
  }
  return infra;
}

export interface WorkbookContainer {
  service: ServiceKey;
  id: string;
  name: string;
  image: string;
  running: boolean;
  /** The container's own host name and address, as the server inside sees them. */
  hostname: string;
  address: string | undefined;
  /** The host port mapped to the service's port. */
  publicPort: number | undefined;
}

/** The containers the workbook started on this engine (running or not), newest first. */
export async function workbookContainers(client: ContainerRuntimeClient): Promise<WorkbookContainer[]> {
  const list = await client.container.dockerode.listContainers({ all: true, filters: { label: [SERVICE_LABEL] } });
  const out: WorkbookContainer[] = [];
  for (const info of list.sort((a, b) => b.Created - a.Created)) {
    const service = SERVICES.find((s) => s.key === info.Labels[SERVICE_LABEL]);
    if (!service) continue;
    const inspect = await client.container.inspect(client.container.getById(info.Id));
    const networks = Object.values(inspect.NetworkSettings.Networks ?? {});
    out.push({
      service: service.key,
      id: info.Id,
      name: (info.Names[0] ?? info.Id).replace(/^\//, ''),
      image: info.Labels[IMAGE_LABEL] ?? info.Image,
      running: inspect.State.Running,
      hostname: inspect.Config.Hostname,
      address: networks.find((n) => n.IPAddress)?.IPAddress || undefined,
      publicPort: info.Ports.find((p) => p.PrivatePort === service.port && p.PublicPort)?.PublicPort,
    });
  }
  return out;
}

/** The running containers of the configured images, without starting any (for the doctor). */
export async function runningContainers(settings: WorkbookSettings): Promise<Infra> {
  const { client } = await findEngine(settings);
  const all = await workbookContainers(client);
  const host = client.info.containerRuntime.host;
  const port = (key: ServiceKey) => {
    const c = all.find((x) => x.service === key && x.running && x.image === settings.images[key] && x.publicPort);
    if (!c) {
      const service = SERVICES.find((s) => s.key === key)!;
      throw new ContainersUnavailable(
        `No ${service.name} container of ${settings.images[key]} is running yet.`,
        'npm run test:containers starts them, and later runs reuse them',
      );
    }
    return c.publicPort!;
  };
  return {
    source: 'testcontainers',
    databaseUrl: `postgres://postgres:postgres@${host}:${port('postgres')}/postgres`,
    amqpUrl: `amqp://guest:guest@${host}:${port('rabbitmq')}`,
    redisUrl: `redis://${host}:${port('redis')}`,
  };
}

/**
 * Whether the container's process still runs. A PID alone does not say: after the machine's
 * processes were stopped, the same number can belong to another process (it did, in CI). The
 * process is the container's only if its cgroup names the container's id.
 */
function containerProcessAlive(pid: number, containerId: string): boolean {
  if (!pid) return false;
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(containerId);
  } catch {
    return false;
  }
}

function firstLine(message: string): string {
  return (message.split('\n').find((l) => l.trim()) ?? message).trim().replace(/\.$/, '');
}
