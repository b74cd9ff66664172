// The verdict of milestone 1's redis-cut scenario, from observed facts (issue 21: "never red
// (redis down, postgres up) then NOT green" contradicted itself when readiness ignored Redis).
// Each failure must say what was observed and the next step for that failure alone.
import { describe, expect, it } from 'vitest';
import { redisCutVerdict, type RedisCutObserved } from '../milestones/01-foundation/chaos/redis-cut.ts';

const survived: RedisCutObserved = {
  sent: 300,
  acknowledged: 300,
  failed: 0,
  inDb: 300,
  during: { code: 200, status: 'degraded', redis: 'down', postgres: 'up' },
  wentRed: false,
  redSeconds: 0,
  restarts: 0,
};

describe('redis-cut verdict', () => {
  it('survives with every write in the database and /readyz 200 "degraded" naming redis down, and says so in one line', () => {
    const v = redisCutVerdict(survived);
    expect(v.ok).toBe(true);
    expect(v.problems).toEqual([]);
    expect(v.line).toBe(
      'requests 300 · acknowledged 300 · failed 0 · in db 300 · lost 0 · /readyz during the cut: 200 "degraded" (redis down, postgres up) · /readyz 200 throughout the run · restarts 0',
    );
  });

  it('names the status, not the sampler, when /readyz said redis down but answered "ready" (the contradiction of issue 21)', () => {
    const v = redisCutVerdict({ ...survived, during: { code: 200, status: 'ready', redis: 'down', postgres: 'up' } });
    expect(v.ok).toBe(false);
    expect(v.line).toContain('/readyz during the cut: 200 "ready" (redis down, postgres up)');
    expect(v.line).not.toMatch(/never red|NOT green/);
    expect(v.problems).toHaveLength(1);
    expect(v.problems![0]).toMatch(/^\/readyz answered 200 "ready" while its own body said redis down: .*Next: .*"degraded" and degraded: \["redis"\]/);
  });

  it('says the answer was not a fresh check when /readyz ignores Redis altogether (200 "ready", redis reported up)', () => {
    const v = redisCutVerdict({ ...survived, during: { code: 200, status: 'ready', redis: 'up', postgres: 'up' } });
    expect(v.ok).toBe(false);
    expect(v.line).toContain('200 "ready" (redis up, postgres up)');
    expect(v.problems).toEqual([
      expect.stringMatching(
        /^\/readyz answered 200 while Redis was cut, but its body said redis up instead of "down": .*Next: call checkDependencies\(deps\) on every \/readyz/,
      ),
    ]);
  });

  it('says readiness followed Redis, with the status seen and the fix in routes.ts, when /readyz answered 503 during the cut', () => {
    const v = redisCutVerdict({ ...survived, during: { code: 503, status: 'not ready', redis: 'down', postgres: 'up' }, wentRed: true, redSeconds: 2.3 });
    expect(v.ok).toBe(false);
    expect(v.line).toContain('/readyz during the cut: 503 "not ready" (redis down, postgres up) · /readyz not 200 for 2.3 s of the run');
    expect(v.problems).toEqual([
      expect.stringMatching(
        /^\/readyz answered 503 "not ready" while only Redis was cut .*Next: in exercises\/src\/http\/routes\.ts, answer 503 only when postgres is down/,
      ),
    ]);
  });

  it('says /readyz gave no answer, and points at the probe timeout, when the call during the cut hung', () => {
    const v = redisCutVerdict({ ...survived, during: { code: 0 }, wentRed: true, redSeconds: 2 });
    expect(v.line).toContain('/readyz during the cut: no answer within 3 s');
    expect(v.problems![0]).toMatch(/^\/readyz gave no answer within 3 s while Redis was cut\. Next: bound each probe with measure\(timeoutMs/);
  });

  it('says creating an item does not work at all, not that Redis is in its way, when no creation succeeded, those before the cut included', () => {
    const v = redisCutVerdict({ ...survived, acknowledged: 0, inDb: 0, failed: 300 });
    expect(v.line).toContain('acknowledged 0 · failed 300');
    expect(v.problems).toEqual([
      expect.stringMatching(/^All 300 item creations failed, those sent before Redis was cut too: .*Next: make items\.test\.ts pass/),
    ]);
  });

  it('counts lost and failed writes each with its own next step, alongside a readiness problem', () => {
    const v = redisCutVerdict({ ...survived, acknowledged: 290, inDb: 285, failed: 10, during: { code: 200, status: 'ready', redis: 'down', postgres: 'up' } });
    expect(v.ok).toBe(false);
    expect(v.line).toContain('acknowledged 290 · failed 10 · in db 285 · lost 5');
    expect(v.problems).toEqual([
      expect.stringMatching(/^5 of the 290 items answered 201 are not in the database\. Next: /),
      expect.stringMatching(/^10 of 300 item creations failed while Redis was cut.*Next: /),
      expect.stringMatching(/^\/readyz answered 200 "ready" while its own body said redis down/),
    ]);
  });
});
