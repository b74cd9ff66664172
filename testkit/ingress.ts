// Runs the real ingress (milestone 6): the caddy binary with deploy/ingress/Caddyfile, the
// file docker-compose mounts, on a free port, with its data directory (and so its local CA)
// in a temporary folder. Clients trust that CA through `caCertPath`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { repoRoot } from '../workbook/trees.ts';
import { loadNote, patient } from './patience.ts';
import { freePort, lastLines, spawnWatchdog } from './binary-process.ts';
import { coerceError } from '../runtime/coerce-error.ts';

export const ingressCaddyfile = join(repoRoot, 'deploy', 'ingress', 'Caddyfile');
/** Where `npm run build:web` writes the live auction page, which the ingress serves at /. */
export const builtWebRoot = join(repoRoot, 'web', 'dist');

export interface Ingress {
  /** https://localhost:<port> */
  readonly url: string;
  readonly port: number;
  /** The caddy process (its memory is what chaos scenarios measure). */
  readonly pid: number | undefined;
  /** The root certificate of Caddy's local CA, which signed the ingress's certificate. */
  readonly caCertPath: string;
  stop(): Promise<void>;
  /** Everything Caddy wrote (JSON log lines). */
  logs(): string;
}

export interface IngressOptions {
  /** host:port of each API upstream (h2c), as API_UPSTREAMS takes them. */
  upstreams: string[];
  /** Where Caddy keeps its data and config; a new temporary folder (removed on stop) by default. */
  dir?: string;
  /** The files served at / (WEB_ROOT); the built page, web/dist, by default (absent until built: every page path is then a 404). */
  webRoot?: string;
  /** The port to serve HTTPS on; a free one by default. */
  port?: number;
  startTimeoutMs?: number;
}

export class IngressDidNotStart extends Error {
  override name = 'IngressDidNotStart';
}

const CADDY_MISSING =
  'caddy is not installed (or not on PATH), and the ingress of milestone 6 is the real caddy binary. ' +
  'Install it: apt-get install caddy (Debian, Ubuntu) or brew install caddy (macOS); see the README, Set-up. ' +
  'Then run the tests again.';

export async function startIngress(options: IngressOptions): Promise<Ingress> {
  if (options.upstreams.length === 0) throw new Error('startIngress needs at least one upstream (host:port)');
  await assertCaddyInstalled();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'wb-ingress-')));
  try {
    // The free port is found, then released for caddy to take; another process can take it
    // in between, so a start that fails on "address already in use" is tried on a new port.
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOnce({ ...options, dir, ownDir, port: options.port ?? (await freePort()) });
      } catch (err) {
        if (!(err instanceof PortTaken) || attempt === 3 || options.port !== undefined) throw err;
      }
    }
  } catch (err) {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

class PortTaken extends IngressDidNotStart {}

async function startOnce(options: IngressOptions & { dir: string; ownDir: boolean; port: number }): Promise<Ingress> {
  const { dir, port } = options;
  const dataHome = join(dir, 'data');
  const configHome = join(dir, 'config');
  await mkdir(dataHome, { recursive: true });
  await mkdir(configHome, { recursive: true });
  const caCertPath = join(dataHome, 'caddy', 'pki', 'authorities', 'local', 'root.crt');

  const child: ChildProcess = spawn('caddy', ['run', '--config', ingressCaddyfile, '--adapter', 'caddyfile'], {
    cwd: dir,
    env: {
      ...process.env,
      INGRESS_HOST: 'localhost',
      INGRESS_HTTPS_PORT: String(port),
      API_UPSTREAMS: options.upstreams.join(' '),
      WEB_ROOT: options.webRoot ?? builtWebRoot,
      // Caddy keeps certificates and its CA under $XDG_DATA_HOME/caddy and its autosaved
      // config under $XDG_CONFIG_HOME/caddy; HOME too, so nothing lands in the user's home.
      XDG_DATA_HOME: dataHome,
      XDG_CONFIG_HOME: configHome,
      HOME: dir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    // A long test must not grow this without bound; the end is what explains a failure.
    if (output.length > 1_000_000) output = output.slice(-500_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnFailure: Error | undefined;
  // 'error' instead of 'exit' when the binary could not be started at all.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      spawnFailure = err;
      resolve();
    });
  });

  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const watchdog = spawnWatchdog(child, options.ownDir ? dir : undefined);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (!exit && !spawnFailure) {
        child.kill('SIGTERM');
        // grace_period in the Caddyfile is 5 s; an ingress that outlives it is killed.
        const timer = setTimeout(() => child.kill('SIGKILL'), 7_000);
        await exited;
        clearTimeout(timer);
      }
      watchdog?.kill('SIGKILL');
      if (options.ownDir) await rm(dir, { recursive: true, force: true });
    })());

  const url = `https://localhost:${port}`;
  const limit = patient(options.startTimeoutMs ?? 15_000);
  const deadline = Date.now() + limit;
  for (;;) {
    if (spawnFailure) {
      await stop();
      throw new IngressDidNotStart((spawnFailure as NodeJS.ErrnoException).code === 'ENOENT' ? CADDY_MISSING : `caddy did not start: ${spawnFailure.message}`);
    }
    if (exit) {
      await stop();
      const message = `caddy exited (${exit.signal ?? `code ${exit.code}`}) before serving ${url}. Its output:\n${lastLines(output, 15)}`;
      throw /address already in use/.test(output) ? new PortTaken(message) : new IngressDidNotStart(message);
    }
    // Ready when the CA exists and a client that trusts only that CA completes a handshake
    // for "localhost" (the certificate is issued a moment after the port opens).
    if (existsSync(caCertPath) && (await handshakes(port, caCertPath))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new IngressDidNotStart(
        `caddy did not serve ${url} with a certificate from its local CA within ${limit} ms; ${loadNote()}. Its output:\n${lastLines(output, 15)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, port, pid: child.pid, caCertPath, stop, logs: () => output };
}

async function assertCaddyInstalled(): Promise<void> {
  try {
    await promisify(execFile)('caddy', ['version']);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new IngressDidNotStart(CADDY_MISSING);
    throw new IngressDidNotStart(`\`caddy version\` failed: ${coerceError(err).message}`);
  }
}

async function handshakes(port: number, caCertPath: string): Promise<boolean> {
  const ca = await readFile(caCertPath, 'utf8').catch(() => '');
  if (!ca.includes('BEGIN CERTIFICATE')) return false;
  return new Promise((resolve) => {
    const socket = tls.connect({ host: 'localhost', port, servername: 'localhost', ca, ALPNProtocols: ['h2', 'http/1.1'] });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('secureConnect', () => done(socket.authorized));
    socket.once('error', () => done(false));
  });
}
