// runtime/coerce-error.ts and errorFields of runtime/logger.ts: an error is logged with its stack and SQLSTATE.
import { Writable } from 'node:stream';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { coerceError } from './coerce-error.ts';
import { createLogger, errorFields } from './logger.ts';
import { onShutdown } from './shutdown.ts';
import { useTestEnv } from '../testkit/harness.ts';

const env = useTestEnv();

/** A logger whose JSON lines land in an array. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ name: 'coerce-error-test', level: 'debug', destination }), lines };
}

/** A real error of PostgreSQL: division by zero, SQLSTATE 22012. */
async function databaseError(): Promise<unknown> {
  const client = new pg.Client({ connectionString: env.config.databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT 1 / 0');
  } catch (err) {
    return err;
  } finally {
    await client.end();
  }
  throw new Error('SELECT 1 / 0 did not fail');
}

describe('coerceError', () => {
  it('keeps an Error as it is, and turns anything else thrown into an Error that says what it was', () => {
    const error = new RangeError('out of range');
    expect(coerceError(error)).toBe(error);
    expect(coerceError('plain text').message).toBe('plain text');
    expect(coerceError({ message: 'shaped like one', code: 'E1' })).toMatchObject({ message: 'shaped like one', code: 'E1' });
    expect(coerceError(undefined).message).toBe('a non-Error was thrown: undefined');
    expect(coerceError({ amount: 5n }).message).toBe('a non-Error was thrown: {"amount":"5n"}');
    expect(coerceError(42).cause).toBe(42);
  });
});

describe('a logged error', () => {
  it('carries its stack and its SQLSTATE (errorFields)', async () => {
    const { log, lines } = capturingLogger();
    log.warn(errorFields(await databaseError()), 'a statement failed');
    const line = lines[0] as { code?: string; err?: { type?: string; message?: string; stack?: string; code?: string } };
    expect(line.code, 'the SQLSTATE at the top of the line').toBe('22012');
    expect(line.err).toMatchObject({ type: 'DatabaseError', message: 'division by zero', code: '22012' });
    expect(line.err?.stack, 'the stack').toMatch(/^error: division by zero\n\s+at /);
  });

  it('from a shutdown step that failed on the database, keeps the stack and the SQLSTATE', async () => {
    const { log, lines } = capturingLogger();
    const failure = await databaseError();
    const shutdown = onShutdown({ log, graceMs: 5_000, exit: () => undefined, steps: () => [{ name: 'drain', run: () => Promise.reject(failure) }] });
    expect(await shutdown()).toBe(1);
    const failed = lines.find((l) => l.step === 'drain' && l.level === 50) as { code?: string; err?: { stack?: string; code?: string } } | undefined;
    expect(failed?.code).toBe('22012');
    expect(failed?.err?.stack).toContain('division by zero');
  });
});
