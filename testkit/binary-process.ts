// Runs a service binary a test needs (prometheus, an exporter, pebble, caddy) as a child
// process on a free port, and makes sure it does not outlive the test: killed on stop, on the
// test process's exit, and by a watchdog when the test runner itself is killed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';

export interface BinaryProcess {
  readonly pid: number;
  /** Everything it wrote, stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

export class BinaryDidNotStart extends Error {
  override name = 'BinaryDidNotStart';
}

// Polls the test process and the child; kills the child (and removes its temporary folder,
// when given) once the test process is gone, because a crashed or killed test runner never
// runs its 'exit' handlers; exits with the child. A Go binary cannot be preloaded with
// testkit/exit-with-parent.ts, so this runs beside it.
const WATCHDOG = `
const [parent, child] = process.argv.slice(1, 3).map(Number);
const dir = process.argv[3];
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (err) { return err.code === 'EPERM'; } };
setInterval(() => {
  if (!alive(child)) process.exit(0);
  if (!alive(parent)) {
    try { process.kill(child, 'SIGKILL'); } catch {}
    if (dir) setTimeout(() => { require('node:fs').rmSync(dir, { recursive: true, force: true }); process.exit(0); }, 500);
    else process.exit(0);
  }
}, 1000);
`;

/** Starts the watchdog for `child`; kill the returned process once the child is stopped. */
export function spawnWatchdog(child: ChildProcess, dir?: string): ChildProcess | undefined {
  if (!child.pid) return undefined;
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(process.pid), String(child.pid), ...(dir ? [dir] : [])], { stdio: 'ignore' });
  watchdog.unref();
  return watchdog;
}

/** Whether `name` is on PATH. */
export function installed(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Spawns `command` and resolves once `ready()` holds; throws BinaryDidNotStart with its last
 * output lines when it exits first or `timeoutMs` passes. `removeOnStop` is a temporary folder
 * to delete once it is stopped (or by the watchdog).
 */
export async function startBinary(options: {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  ready: () => Promise<boolean>;
  timeoutMs?: number;
  removeOnStop?: string;
}): Promise<BinaryProcess> {
  const child = spawn(options.command, options.args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 1_000_000) output = output.slice(-500_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let ended: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = signal ?? `code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      ended = err.message;
      resolve();
    });
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const watchdog = spawnWatchdog(child, options.removeOnStop);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (!ended) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 7_000);
        await exited;
        clearTimeout(timer);
      }
      watchdog?.kill('SIGKILL');
      if (options.removeOnStop) rmSync(options.removeOnStop, { recursive: true, force: true });
    })());

  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (ended) {
      await stop();
      throw new BinaryDidNotStart(`${options.command} exited (${ended}) before it was ready. Its output:\n${lastLines(output, 15)}`);
    }
    if (await options.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new BinaryDidNotStart(`${options.command} was not ready within ${timeoutMs} ms. Its output:\n${lastLines(output, 15)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { pid: child.pid!, output: () => output, stop };
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n') || '(no output)';
}
