// Milestone 5 · the throttle's decision (backfill/throttle.ts), on its own: what the backfill
// does after a batch, given how long the batch took and the traffic measured at its end.
import { describe, expect, it } from 'vitest';
import { BUSY_SHARE, MAX_PAUSE_MS, throttleStep } from '#app/backfill/throttle.ts';

const config = { pauseMs: 20, batchSize: 5_000 };

describe('throttleStep', () => {
  it('with no other session in the database: the configured pause and batch size, however slow the batch', () => {
    for (const ms of [5, 300, 5_000]) {
      expect(throttleStep(ms, { sessions: 0, inFlight: 0 }, config), `after a batch of ${ms} ms, no traffic`).toEqual({
        pauseMs: 20,
        batchSize: 5_000,
        yielding: false,
      });
    }
  });

  it('with traffic: a pause that keeps the backfill in the database BUSY_SHARE of its time, and shorter batches', () => {
    const step = throttleStep(300, { sessions: 3, inFlight: 1 }, config);
    expect(step.yielding, 'yielding').toBe(true);
    expect(300 / (300 + step.pauseMs), 'share of its time the backfill spends in batches').toBeCloseTo(BUSY_SHARE);
    expect(step.batchSize, 'next batch size').toBeLessThan(5_000);
    expect(step.batchSize, 'next batch size').toBeGreaterThan(0);
  });

  it('with traffic: never a shorter pause than the configured one, never longer than MAX_PAUSE_MS, never a batch of 0 rows', () => {
    expect(throttleStep(1, { sessions: 1, inFlight: 0 }, config).pauseMs, 'after a 1 ms batch').toBe(20);
    expect(throttleStep(60_000, { sessions: 1, inFlight: 0 }, config).pauseMs, 'after a 60 s batch').toBe(MAX_PAUSE_MS);
    expect(throttleStep(10, { sessions: 1, inFlight: 0 }, { pauseMs: 0, batchSize: 1 }).batchSize, 'batches of 1 row').toBe(1);
  });

  it('the more sessions in flight when the batch ended, the smaller its share: BUSY_SHARE / n for n of them', () => {
    for (const inFlight of [2, 4]) {
      const step = throttleStep(100, { sessions: 10, inFlight }, config);
      expect(100 / (100 + step.pauseMs), `share of its time in batches, ${inFlight} sessions in flight`).toBeCloseTo(BUSY_SHARE / inFlight);
    }
    expect(throttleStep(100, { sessions: 10, inFlight: 10 }, config).pauseMs, 'all of a pool of 10 in flight: as long a pause as it takes').toBe(1_900);
  });

  it('a lower busyShare yields more: at one third, the pause is twice the batch', () => {
    expect(throttleStep(100, { sessions: 1, inFlight: 0 }, { ...config, busyShare: 1 / 3 }).pauseMs).toBeCloseTo(200);
  });
});
