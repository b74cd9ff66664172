// Test files take turns in a few long-lived workers (vitest.config.ts: isolate false), so what
// one file turns on inside this process is turned off before the next one runs there.
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { clearFailpoints } from '../failpoints.ts';
import { testFileStarted } from './stub-in-the-way.ts';

// Which milestone this file tests, so a wait ends at once on that milestone's unwritten stub.
beforeAll(() => testFileStarted(expect.getState().testPath));

afterAll(() => {
  clearFailpoints();
  vi.useRealTimers();
});
