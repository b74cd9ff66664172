// Test files take turns in a few long-lived workers (vitest.config.ts: isolate false), so what
// one file turns on inside this process is turned off before the next one runs there, and the
// next file gets fresh modules.
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import { clearFailpoints } from '../runtime/failpoints.ts';
import { testFileStarted } from './stub-in-the-way.ts';
import { clearWaits, pendingWaits } from './waits.ts';

// Which milestone this file tests, so a wait ends at once on that milestone's unwritten stub.
beforeAll(() => testFileStarted(expect.getState().testPath));

// A test that ran out of time says what it was still waiting for (the CLI turns this and
// vitest's "Test timed out" into one sentence in the domain's words: workbook/failure-text.ts).
afterEach((ctx) => {
  const waits = pendingWaits();
  const error = ctx.task.result?.errors?.[0];
  if (error && /timed out in \d+ms/.test(error.message ?? '') && waits.length) {
    error.message = `${error.message}\n${waits.map((w) => `Still waiting for: ${w}`).join('\n')}`;
  }
  clearWaits();
});

afterAll(() => {
  clearFailpoints();
  vi.useRealTimers();
  // The next file in this worker imports every module afresh (the app's, the runtime's, the kit's):
  // module-level state (a cursor, a cache, a known highest bid) cannot leak from one file into
  // another and make it pass or fail for the wrong reason. Only evaluation is repeated, not the
  // transform, and node_modules stay loaded: the shared worker keeps most of its speed.
  vi.resetModules();
});
