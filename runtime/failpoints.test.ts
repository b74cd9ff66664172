import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  clearFailpoints,
  configureFailpoints,
  failpoint,
  FailpointError,
  failpointHits,
  FailpointSyntaxError,
  parseFailpoints,
  setFailpoint,
  type FailpointSpec,
} from '#runtime/failpoints.ts';

beforeEach(() => clearFailpoints());

const help =
  'Expected name=action[;name=action...] with action off | crash | error | delay(ms) | pause, ' +
  'optionally @n to fire only on the n-th hit, e.g. "outbox.after-commit=crash@2;bid.before-write=delay(300)".';

function syntaxErrorOf(run: () => unknown): FailpointSyntaxError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FailpointSyntaxError);
    return err as FailpointSyntaxError;
  }
  throw new Error('expected a FailpointSyntaxError, but nothing was thrown');
}

describe('parseFailpoints', () => {
  it.each<[string, Record<string, FailpointSpec>]>([
    ['', {}],
    ['   ', {}],
    ['a=off', { a: { action: { kind: 'off' } } }],
    ['a=crash', { a: { action: { kind: 'crash' } } }],
    ['a=error', { a: { action: { kind: 'error' } } }],
    ['a=delay(250)', { a: { action: { kind: 'delay', ms: 250 } } }],
    ['a=delay(0)', { a: { action: { kind: 'delay', ms: 0 } } }],
    ['a=error@3', { a: { action: { kind: 'error' }, onlyHit: 3 } }],
    [
      'outbox.after-commit=crash@2;bid.before-write=delay(300)',
      {
        'outbox.after-commit': { action: { kind: 'crash' }, onlyHit: 2 },
        'bid.before-write': { action: { kind: 'delay', ms: 300 } },
      },
    ],
    [' a = error@3 ;  b=off ; ', { a: { action: { kind: 'error' }, onlyHit: 3 }, b: { action: { kind: 'off' } } }],
  ])('%j parses', (text, expected) => {
    expect(Object.fromEntries(parseFailpoints(text))).toEqual(expected);
  });

  it('says exactly what is wrong, quoting the bad part and showing a valid example', () => {
    expect(syntaxErrorOf(() => parseFailpoints('a=off;b=explode')).message).toBe(
      'bad failpoint "b=explode": unknown action "explode". Expected name=action[;name=action...] with action ' +
        'off | crash | error | delay(ms) | pause, optionally @n to fire only on the n-th hit, ' +
        'e.g. "outbox.after-commit=crash@2;bid.before-write=delay(300)".',
    );
  });

  it.each([
    ['crash', 'bad failpoint "crash": missing "="'],
    ['=crash', 'bad failpoint "=crash": name must be letters, digits, ".", "_", ":" or "-"'],
    ['my point=crash', 'bad failpoint "my point=crash": name must be letters, digits, ".", "_", ":" or "-"'],
    ['a=', 'bad failpoint "a=": unknown action ""'],
    ['a=CRASH', 'bad failpoint "a=CRASH": unknown action "CRASH"'],
    ['a=delay', 'bad failpoint "a=delay": unknown action "delay"'],
    ['a=delay(-5)', 'bad failpoint "a=delay(-5)": unknown action "delay(-5)"'],
    ['a=delay(1.5)', 'bad failpoint "a=delay(1.5)": unknown action "delay(1.5)"'],
    ['a=error@', 'bad failpoint "a=error@": unknown action "error@"'],
    ['a=error@x', 'bad failpoint "a=error@x": unknown action "error@x"'],
    ['a=crash@0', 'bad failpoint "a=crash@0": hits count from 1'],
    ['a=off;a=crash', 'bad failpoint "a=crash": "a" is set twice'],
  ])('%j is rejected', (text, reason) => {
    expect(syntaxErrorOf(() => parseFailpoints(text)).message).toBe(`${reason}. ${help}`);
  });
});

describe('failpoint()', () => {
  it('does nothing and counts nothing when no failpoint is configured', async () => {
    await expect(failpoint('anything')).resolves.toBeUndefined();
    expect(failpointHits('anything')).toBe(0);
  });

  it('does nothing for a name that is not configured, even when others are', async () => {
    configureFailpoints('other=error');
    await expect(failpoint('anything')).resolves.toBeUndefined();
    expect(failpointHits('anything')).toBe(0);
  });

  it('off does nothing but still counts hits, so a test can see the line was reached', async () => {
    configureFailpoints('reached=off');
    await failpoint('reached');
    await failpoint('reached');
    expect(failpointHits('reached')).toBe(2);
  });

  it('error throws a FailpointError naming the failpoint, on every hit', async () => {
    configureFailpoints('bid.before-write=error');
    for (const hit of [1, 2]) {
      const err = await failpoint('bid.before-write').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FailpointError);
      expect((err as FailpointError).failpoint).toBe('bid.before-write');
      expect((err as FailpointError).message).toBe(`failpoint "bid.before-write" fired: injected error (hit ${hit})`);
    }
  });

  it('@n fires only on the n-th hit; the hits before and after pass', async () => {
    configureFailpoints('p=error@2');
    await expect(failpoint('p')).resolves.toBeUndefined();
    await expect(failpoint('p')).rejects.toThrow('failpoint "p" fired: injected error (hit 2)');
    await expect(failpoint('p')).resolves.toBeUndefined();
    expect(failpointHits('p')).toBe(3);
  });

  it('delay(ms) awaits at least ms before returning', async () => {
    configureFailpoints('slow=delay(50)');
    const start = performance.now();
    await failpoint('slow');
    // Lower bound only; 1 ms slack because timers have 1 ms resolution.
    expect(performance.now() - start).toBeGreaterThanOrEqual(49);
  });

  it('pause holds every caller until the test sets that failpoint again or clears it, however long that takes', async () => {
    setFailpoint('gap', 'pause@1');
    setFailpoint('other', 'pause');
    const order: string[] = [];
    const first = failpoint('gap').then(() => order.push('first released'));
    await failpoint('gap'); // the second hit: @1 lets it through
    const other = failpoint('other').then(() => order.push('other released'));
    await new Promise((r) => setTimeout(r, 50));
    expect(order, 'nothing released before the test moved on').toEqual([]);
    setFailpoint('gap', 'off');
    await first;
    expect(order, 'setting "gap" releases only "gap"').toEqual(['first released']);
    clearFailpoints();
    await other;
    expect(order).toEqual(['first released', 'other released']);
  });
});

describe('configuring', () => {
  it('configureFailpoints replaces the whole set and resets hit counts', async () => {
    configureFailpoints('a=off;b=error');
    await failpoint('a');
    configureFailpoints('a=off');
    expect(failpointHits('a')).toBe(0);
    await expect(failpoint('b')).resolves.toBeUndefined();
  });

  it('configureFailpoints accepts an already parsed map', async () => {
    configureFailpoints(new Map([['m', { action: { kind: 'error' } }]]));
    await expect(failpoint('m')).rejects.toBeInstanceOf(FailpointError);
  });

  it('setFailpoint adds or replaces one failpoint and restarts its hit count', async () => {
    configureFailpoints('keep=off');
    await failpoint('keep');
    setFailpoint('p', 'off');
    await failpoint('p');
    setFailpoint('p', 'error@2');
    expect(failpointHits('p')).toBe(0);
    await expect(failpoint('p')).resolves.toBeUndefined();
    await expect(failpoint('p')).rejects.toBeInstanceOf(FailpointError);
    expect(failpointHits('keep')).toBe(1);
  });

  it('setFailpoint rejects a bad spec, and one that smuggles in a second failpoint', () => {
    expect(syntaxErrorOf(() => setFailpoint('p', 'boom')).message).toBe(`bad failpoint "p=boom": unknown action "boom". ${help}`);
    expect(syntaxErrorOf(() => setFailpoint('p', 'off;q=crash')).message).toBe(`bad failpoint "p=off;q=crash": expected exactly one failpoint. ${help}`);
  });

  it('clearFailpoints turns everything off and forgets hits', async () => {
    configureFailpoints('p=error');
    await failpoint('p').catch(() => {});
    clearFailpoints();
    await expect(failpoint('p')).resolves.toBeUndefined();
    expect(failpointHits('p')).toBe(0);
  });
});

describe('crash', () => {
  it('kills the process with SIGKILL at the n-th hit: no finally blocks, no exit handlers', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const module = pathToFileURL(fileURLToPath(new URL('./failpoints.ts', import.meta.url))).href;
    // writeSync so every line the child got to is on the pipe before it dies.
    const code = `
      import { writeSync } from 'node:fs';
      import { configureFailpoints, failpoint } from ${JSON.stringify(module)};
      process.on('exit', () => writeSync(1, 'exit handler\\n'));
      configureFailpoints('outbox.after-commit=crash@2');
      writeSync(1, 'before\\n');
      try {
        await failpoint('outbox.after-commit');
        writeSync(1, 'survived hit 1\\n');
        await failpoint('outbox.after-commit');
        writeSync(1, 'after\\n');
      } finally {
        writeSync(1, 'finally\\n');
      }
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));

    expect({ exitCode, signal }).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(stdout).toBe('before\nsurvived hit 1\n');
    expect(stderr).toContain('failpoint "outbox.after-commit" fired: crash (SIGKILL, hit 2)');
  });
});
