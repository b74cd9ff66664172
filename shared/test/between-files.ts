// Test files take turns in a few long-lived workers (vitest.config.ts: isolate false), so what
// one file turns on inside this process is turned off before the next one runs there.
import { afterAll, vi } from 'vitest';
import { clearFailpoints } from '../failpoints.ts';

afterAll(() => {
  clearFailpoints();
  vi.useRealTimers();
});
