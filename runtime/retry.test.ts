// runtime/retry.ts: the one backoff formula and the one table of retryable SQLSTATEs.
import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { backoffMs, sqlStateRetry, sqlStatesOf, type Backoff } from './retry.ts';

const policy = fc.record({
  firstMs: fc.integer({ min: 1, max: 10_000 }),
  maxMs: fc.integer({ min: 1, max: 600_000 }),
  jitter: fc.constantFrom('full' as const, 'equal' as const),
});
const attempt = fc.integer({ min: 1, max: 10_000 });
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const ceiling = (n: number, p: Backoff) => Math.min(p.maxMs, p.firstMs * 2 ** Math.min(n - 1, 30));

describe('backoffMs', () => {
  it('is a whole number of milliseconds within [0, maxMs], for any attempt (even after days of retrying)', () => {
    fc.assert(
      fc.property(attempt, policy, random, (n, p, r) => {
        const d = backoffMs(n, p, () => r);
        return Number.isInteger(d) && d >= 0 && d <= p.maxMs;
      }),
    );
  });

  it('stays within its jitter range: [0, ceiling] for full, [ceiling/2, ceiling] for equal', () => {
    fc.assert(
      fc.property(attempt, policy, random, (n, p, r) => {
        const d = backoffMs(n, p, () => r);
        const c = ceiling(n, p);
        const low = p.jitter === 'equal' ? Math.floor(c / 2) : 0;
        return d >= low && d <= Math.ceil(c);
      }),
    );
  });

  it('never shrinks from one attempt to the next for the same draw, and doubles until the cap', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), policy, random, (n, p, r) => backoffMs(n + 1, p, () => r) >= backoffMs(n, p, () => r)));
    const p: Backoff = { firstMs: 100, maxMs: 5_000, jitter: 'full' };
    expect([1, 2, 3, 4, 5, 6, 7, 40].map((n) => backoffMs(n, p, () => 0.999_999))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('spreads clients out: the draw decides where in the range the pause falls', () => {
    const p: Backoff = { firstMs: 100, maxMs: 5_000, jitter: 'equal' };
    expect([0, 0.5, 0.999_999].map((r) => backoffMs(4, p, () => r))).toEqual([400, 600, 800]);
  });
});

describe('the retryable SQLSTATEs', () => {
  it('says why each may succeed again, and nothing for an error that would fail again', () => {
    expect(['40001', '40P01', '55P03', '57P01', '08006', '08000', '23505', '22012', undefined].map(sqlStateRetry)).toEqual([
      'conflict',
      'conflict',
      'lock-timeout',
      'connection',
      'connection',
      'connection',
      undefined,
      undefined,
      undefined,
    ]);
    expect([...sqlStatesOf('conflict')].sort()).toEqual(['40001', '40P01']);
    expect([...sqlStatesOf('lock-timeout', 'conflict')].sort()).toEqual(['40001', '40P01', '55P03']);
  });

  it('is the table the app and the infrastructure read', async () => {
    const { RETRYABLE } = await import('#app/bidding/bid-transaction.ts');
    expect([...RETRYABLE].sort()).toEqual(['40001', '40P01']);
    const { postgresUnreachable } = await import('#app/postgres-unreachable.ts');
    const dbError = (code: string) => Object.assign(new pg.DatabaseError('x', 1, 'error'), { code });
    expect(['57P01', '08006', '40001'].map((c) => postgresUnreachable(dbError(c)))).toEqual([true, true, false]);
  });
});
