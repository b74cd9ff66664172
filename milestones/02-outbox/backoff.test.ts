// Milestone 2 · backoff while the broker is down: exponential, capped, jittered.
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '#app/outbox/backoff.ts';

describe('backoffDelay', () => {
  it('doubles from 100 ms and stops at the cap (with the largest jitter)', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 30].map((n) => backoffDelay(n, 5_000, () => 1))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('spreads retries between 0 and the ceiling (full jitter), never past the cap', () => {
    expect(backoffDelay(3, 5_000, () => 0)).toBe(0);
    expect(backoffDelay(3, 5_000, () => 0.5)).toBe(200);
    for (let attempt = 1; attempt < 100; attempt++) {
      const delay = backoffDelay(attempt, 2_000);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(2_000);
    }
  });
});
