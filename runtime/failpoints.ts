// Named failpoints, modeled on etcd's gofail and TiKV's fail-rs: code calls
// `await failpoint('outbox.after-commit')` at an interesting line, and a test or chaos run
// decides, by configuration, whether that line crashes, throws, stalls or does nothing.
//
// State is module-level (one process = one set). That is fine because it is only ever
// set explicitly: from config.failpoints at process start, or by a test.

import { writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export type FailpointAction = { kind: 'off' } | { kind: 'crash' } | { kind: 'error' } | { kind: 'delay'; ms: number } | { kind: 'pause' };

export interface FailpointSpec {
  action: FailpointAction;
  /** Fire only on the n-th hit (1-based); every other hit does nothing. */
  onlyHit?: number;
}

/** Thrown by a failpoint whose action is 'error'. */
export class FailpointError extends Error {
  override name = 'FailpointError';
  readonly failpoint: string;
  constructor(failpoint: string, hit: number) {
    super(`failpoint "${failpoint}" fired: injected error (hit ${hit})`);
    this.failpoint = failpoint;
  }
}

/** The failpoint text could not be parsed. */
export class FailpointSyntaxError extends Error {
  override name = 'FailpointSyntaxError';
}

const example = 'outbox.after-commit=crash@2;bid.before-write=delay(300)';
const namePattern = /^[A-Za-z0-9_.:-]+$/;
const actionPattern = /^(off|crash|error|pause|delay\((\d+)\))(?:@(\d+))?$/;

function syntaxError(bad: string, why: string): FailpointSyntaxError {
  return new FailpointSyntaxError(
    `bad failpoint ${JSON.stringify(bad)}: ${why}. ` +
      `Expected name=action[;name=action...] with action off | crash | error | delay(ms) | pause, ` +
      `optionally @n to fire only on the n-th hit, e.g. "${example}".`,
  );
}

/**
 * Parses "name=action;name=action" where action is off | crash | error | delay(250),
 * optionally suffixed "@3" meaning only the 3rd hit. Whitespace around parts is ignored,
 * as are empty parts (so a trailing ";" is fine); an empty string gives an empty map.
 */
export function parseFailpoints(text: string): Map<string, FailpointSpec> {
  const specs = new Map<string, FailpointSpec>();
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw syntaxError(part, 'missing "="');
    const name = part.slice(0, eq).trim();
    const actionText = part.slice(eq + 1).trim();
    if (!namePattern.test(name)) throw syntaxError(part, 'name must be letters, digits, ".", "_", ":" or "-"');
    const m = actionPattern.exec(actionText);
    if (!m) throw syntaxError(part, `unknown action ${JSON.stringify(actionText)}`);
    const [, verb, ms, nth] = m;
    const action: FailpointAction = ms !== undefined ? { kind: 'delay', ms: Number(ms) } : { kind: verb as 'off' | 'crash' | 'error' | 'pause' };
    const spec: FailpointSpec = { action };
    if (nth !== undefined) {
      if (Number(nth) < 1) throw syntaxError(part, 'hits count from 1');
      spec.onlyHit = Number(nth);
    }
    // Two specs for one name would silently mean "the last one"; in a chaos run that
    // is more likely a typo than an intent.
    if (specs.has(name)) throw syntaxError(part, `"${name}" is set twice`);
    specs.set(name, spec);
  }
  return specs;
}

let active = new Map<string, FailpointSpec>();
const hits = new Map<string, number>();
/** Callers held by a 'pause', by failpoint name: released when that name is set again or cleared. */
const paused = new Map<string, Array<() => void>>();

function release(name?: string): void {
  for (const [n, waiters] of paused) {
    if (name !== undefined && n !== name) continue;
    paused.delete(n);
    for (const go of waiters) go();
  }
}

/** Replaces the active set (used at process start with config.failpoints, and by tests). Resets all hit counts. */
export function configureFailpoints(text: string | Map<string, FailpointSpec>): void {
  active = typeof text === 'string' ? parseFailpoints(text) : new Map(text);
  hits.clear();
  release();
}

/** Sets (or replaces) one failpoint, e.g. setFailpoint('bid.before-write', 'error@2'). Resets that name's hit count. */
export function setFailpoint(name: string, spec: string): void {
  const parsed = parseFailpoints(`${name}=${spec}`);
  const only = parsed.get(name.trim());
  if (parsed.size !== 1 || !only) throw syntaxError(`${name}=${spec}`, 'expected exactly one failpoint');
  active.set(name.trim(), only);
  hits.delete(name.trim());
  release(name.trim());
}

/** Removes every failpoint and resets all hit counts. */
export function clearFailpoints(): void {
  active.clear();
  hits.clear();
  release();
}

/**
 * Call at a named line. When nothing is configured this costs one Map.size check.
 * Hits are counted only for configured names (including 'off' ones, which is how a test
 * can check that a line was reached).
 */
export async function failpoint(name: string): Promise<void> {
  if (active.size === 0) return;
  const spec = active.get(name);
  if (!spec) return;
  const hit = (hits.get(name) ?? 0) + 1;
  hits.set(name, hit);
  if (spec.onlyHit !== undefined && hit !== spec.onlyHit) return;
  observer?.(name, spec.action, hit);

  switch (spec.action.kind) {
    case 'off':
      return;
    case 'error':
      throw new FailpointError(name, hit);
    case 'delay':
      await sleep(spec.action.ms);
      return;
    case 'pause':
      // Held until the test moves on (setFailpoint on this name, configureFailpoints or
      // clearFailpoints), not for a fixed time: "the other side commits inside the gap" must
      // hold however slow the machine is, and a delay only makes it likely.
      await new Promise<void>((go) => paused.set(name, [...(paused.get(name) ?? []), go]));
      return;
    case 'crash':
      // Like a power loss: SIGKILL cannot be caught, so no finally block, exit handler or
      // buffered log flush runs. One synchronous line to stderr says why we died.
      try {
        writeSync(2, `failpoint "${name}" fired: crash (SIGKILL, hit ${hit})\n`);
      } catch {
        // stderr closed: die silently, the crash matters more than the message
      }
      process.kill(process.pid, 'SIGKILL');
      // A signal to ourselves is delivered before kill() returns; never resume the caller.
      return new Promise<never>(() => {});
  }
}

let observer: ((name: string, action: FailpointAction, hit: number) => void) | undefined;

/** Called each time a failpoint fires (before its action), so a process can log it. */
export function onFailpointFired(fn: typeof observer): void {
  observer = fn;
}

/** How many times a configured failpoint has been hit since it was last configured. */
export function failpointHits(name: string): number {
  return hits.get(name) ?? 0;
}
