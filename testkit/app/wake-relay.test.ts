// wakeRelay (solutions/src/outbox/wake-relay.ts, provided code), against a real PostgreSQL: the
// NOTIFYs it sends for commits that come faster than one NOTIFY's round trip. Too many and they
// queue for the server's one notify lock; too few and a commit's row waits for the relay's poll.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OUTBOX_CHANNEL } from '#app/outbox/outbox-event.ts';
import { wakeRelay } from '#app/outbox/wake-relay.ts';
import { clearFailpoints, failpointHits, setFailpoint } from '#runtime/failpoints.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { countNotifications, type NotificationCounter } from '#testkit/notifications.ts';
import { patient } from '#testkit/patience.ts';

const env = useTestEnv();
let listener: NotificationCounter;
beforeAll(async () => {
  listener = await countNotifications(env.config.databaseUrl, OUTBOX_CHANNEL);
});
afterAll(() => listener?.close());
afterEach(() => clearFailpoints());

/** Waits until nothing more arrives for a while, then says how many NOTIFYs came since `from`. */
async function settled(from: number): Promise<number> {
  let last = -1;
  while (last !== listener.heard()) {
    last = listener.heard();
    await new Promise((r) => setTimeout(r, patient(200)));
  }
  return listener.heard() - from;
}

describe('wakeRelay', () => {
  it('sends one NOTIFY for a commit with no other on its way', async () => {
    const before = listener.heard();
    wakeRelay(env.db);
    await eventually(
      async () => listener.heard() - before,
      (n) => n > 0,
      'a NOTIFY on auction_outbox',
    );
    expect(await settled(before), 'NOTIFYs for one wakeRelay').toBe(1);
  });

  it('makes 200 commits that call it while one NOTIFY is on its way share one more, sent after it', async () => {
    // The first call's NOTIFY is held (its failpoint) while 199 more commits call wakeRelay: the
    // relay may already have read the table, woken by the first, before their rows committed.
    setFailpoint('outbox.before-wake', 'pause@1');
    const before = listener.heard();
    wakeRelay(env.db);
    await eventually(
      async () => failpointHits('outbox.before-wake'),
      (n) => n >= 1,
      'the first NOTIFY held at its failpoint',
    );
    for (let i = 0; i < 199; i++) wakeRelay(env.db);
    clearFailpoints();
    expect(await settled(before), 'NOTIFYs for 200 wakeRelay calls, 199 of them while the first was on its way').toBe(2);
  });

  it('does not throw, nor leave the doorbell stuck, when the database refuses the NOTIFY', async () => {
    setFailpoint('outbox.before-wake', 'error@1');
    const before = listener.heard();
    wakeRelay(env.db);
    await eventually(
      async () => failpointHits('outbox.before-wake'),
      (n) => n >= 1,
      'the failed wake-up',
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(await settled(before), 'NOTIFYs from the wake-up that failed').toBe(0);
    wakeRelay(env.db);
    await eventually(
      async () => listener.heard() - before,
      (n) => n > 0,
      'a NOTIFY from the next commit’s wakeRelay, after one that failed',
    );
  });
});
