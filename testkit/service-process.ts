// Runs an app entry point (bid-service, bid-worker) of a tree as a real child process, the
// way it runs in production, and reads its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { configToEnv, type Config } from '../runtime/config.ts';
import { eventsIn, isEvent, type EventName, type LoggedEvent } from '../runtime/process-events.ts';
import { repoRoot } from '../workbook/trees.ts';
import { loadNote, patient } from './patience.ts';
import { noticeTodo, onStub } from './stub-in-the-way.ts';
import { bundledEntry } from './bundled-entry.ts';
import { waitingFor } from './waits.ts';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** The message of the error a line logged: `err` is the serialized error ({ type, message, stack, code }), or a string in older lines. */
export function loggedErrorMessage(line: LogLine): string | undefined {
  const err = line.err as { message?: unknown } | string | undefined;
  if (typeof err === 'string') return err;
  return typeof err?.message === 'string' ? err.message : undefined;
}

export interface ServiceProcess {
  readonly pid: number;
  /** http://127.0.0.1:<port> once it logged that it listens. */
  readonly url: string;
  /** The ConnectRPC API (h2c) of a bid-service, when it serves one (milestone 6). */
  readonly apiUrl: string | undefined;
  readonly logs: LogLine[];
  /** Lines that were not JSON (a crash, a stack trace). */
  readonly otherOutput: string[];
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Waits for the event `name` (runtime/process-events.ts) that satisfies `where`: tests watch events, not log text. */
  waitForEvent<K extends EventName>(name: K, where?: (event: LoggedEvent<K>) => boolean, timeoutMs?: number): Promise<LoggedEvent<K>>;
  /** The events `name` logged so far (that satisfy `where`). */
  events<K extends EventName>(name: K, where?: (event: LoggedEvent<K>) => boolean): LoggedEvent<K>[];
  /** Sends the signal and resolves with how the process ended. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class ServiceDidNotStart extends Error {
  override name = 'ServiceDidNotStart';
}

const exitWithParent = pathToFileURL(join(repoRoot, 'testkit/exit-with-parent.ts')).href;
const running = new Set<ChildProcess>();

/** Kills every service process this test file started and has not stopped (the harness calls it after each file). */
export async function killServiceProcesses(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          if (!child.kill('SIGKILL') || child.exitCode !== null) resolve();
        }),
    ),
  );
}

/** A wait's predicate as its source, for the message of a wait that expires ("a log line matching (l) => l.msg === 'relay started'"). */
const describe = (predicate: (line: LogLine) => boolean) => `a log line matching ${String(predicate).replace(/\s+/g, ' ').slice(0, 160)}`;

export async function startServiceProcess(options: {
  tree: string;
  entry: string;
  config: Config;
  startTimeoutMs?: number;
  extraEnv?: Record<string, string>;
  /**
   * Which lines of output to parse and keep in `logs` (every line unless given); a line left
   * out is still read, and still seen by the stub check. A benchmark that sends thousands of
   * requests a second keeps none of their per-request lines, which it never reads: parsing and
   * keeping them all made its own process, which times the answers, collect garbage for longer.
   */
  keepLine?: (line: string) => boolean;
}): Promise<ServiceProcess> {
  const entryPath = join(options.tree, 'src', options.entry);
  // From a bundle built once per content (testkit/bundled-entry.ts); through tsx when esbuild cannot build it.
  const bundle = await bundledEntry(options.tree, options.entry);
  const args = bundle ? ['--import', pathToFileURL(bundle.preload).href, bundle.entry] : ['--import', 'tsx', '--import', exitWithParent, entryPath];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...configToEnv({
        ...options.config,
        serviceName: options.entry.replace(/\.ts$/, ''),
        http: { ...options.config.http, port: 0, apiPort: 0 },
        logLevel: 'info',
      }),
      WORKBOOK_PARENT_PID: String(process.pid),
      ...options.extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test runner that exits (or times a test out) must not leave this process running.
  running.add(child);
  void new Promise((resolve) => child.once('exit', resolve)).then(() => running.delete(child));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void new Promise((resolve) => child.once('exit', resolve)).then(() => process.off('exit', killOnExit));
  const logs: LogLine[] = [];
  const otherOutput: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string) => {
    noticeTodo(line, options.entry.replace(/\.ts$/, ''));
    if (options.keepLine && !options.keepLine(line)) return;
    try {
      const parsed = JSON.parse(line) as LogLine;
      if (typeof parsed === 'object' && parsed && 'msg' in parsed) logs.push(parsed);
      else otherOutput.push(line);
    } catch {
      if (line.trim()) otherOutput.push(line);
    }
    for (const wake of waiters) wake();
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // Once the process is gone and its last lines are read, a wait for a log line gives up at
  // once (a stub that throws at start), instead of when its timeout runs out.
  let hasExited = false;
  child.once('close', () => {
    hasExited = true;
    for (const wake of waiters) wake();
  });

  // `what` names what was waited for in the message of a wait that expires.
  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 10_000, what = describe(predicate)) =>
    waitingFor(
      `${what} from ${options.entry}`,
      new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          const found = logs.find(predicate);
          if (found) return finish(() => resolve(found));
          if (hasExited)
            finish(() =>
              reject(
                new ServiceDidNotStart(
                  `${options.entry} exited before logging what was expected (${what}). Its output:\n${[...otherOutput].slice(-15).join('\n')}`,
                ),
              ),
            );
        };
        const limit = patient(timeoutMs);
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new ServiceDidNotStart(
                  `${options.entry} did not log what was expected (${what}) within ${limit} ms; ${loadNote()}. Its output:\n${otherOutput.slice(-15).join('\n')}`,
                ),
              ),
            ),
          limit,
        );
        let stopWatching = () => {};
        let done = false;
        const finish = (fn: () => void) => {
          done = true;
          clearTimeout(timer);
          waiters.delete(check);
          stopWatching();
          fn();
        };
        waiters.add(check);
        check();
        // A stub in the way of this test never starts working: give up now, saying which.
        if (!done) stopWatching = onStub((stub) => finish(() => reject(stub)));
      }),
    );

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) => {
    if (!hasExited) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };

  let listening: LogLine;
  try {
    listening = await waitForLog((l) => isEvent(l, 'listening'), options.startTimeoutMs ?? 15_000, 'the event "listening" with its port');
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${listening.port as number}`,
    apiUrl: typeof listening.apiPort === 'number' ? `http://127.0.0.1:${listening.apiPort}` : undefined,
    logs,
    otherOutput,
    waitForLog,
    waitForEvent: <K extends EventName>(name: K, where: (event: LoggedEvent<K>) => boolean = () => true, timeoutMs?: number) =>
      waitForLog(
        (l) => isEvent(l, name) && where(l),
        timeoutMs,
        `the event "${name}"${where.length ? ` where ${String(where).replace(/\s+/g, ' ').slice(0, 140)}` : ''}`,
      ) as Promise<LoggedEvent<K>>,
    events: (name, where) => eventsIn(logs, name, where),
    stop,
    exited,
  };
}
