// 50 bidders hammer one item with 500 bids of random amounts through bid-service. Every bid
// must be accepted or refused with a typed reason, and the item's invariants must hold.
import { randomUUID } from 'node:crypto';
import { bidInvariantViolations } from '../lib/bid-invariants.ts';
import { postBid } from '#testkit/http-load.ts';
import { openItems } from '#testkit/scenario-data.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';

const BIDS = 500;
const BIDDERS = 50;

export const scenario: ChaosScenario = {
  name: 'hot-item-stampede',
  milestone: 3,
  summary: `${BIDDERS} bidders send ${BIDS} bids to one item at once, each outbidding the price it was last told; every answer must be an acceptance or a typed refusal, and no invariant may break.`,
  async run(ctx) {
    const env = await ctx.instance();
    const { database, config } = env;
    const service = await env.service('bid-service.ts');
    const [itemId] = await openItems(database.url, 1);
    const bidders = Array.from({ length: BIDDERS }, () => randomUUID());
    let sent = 0;
    const answers: Array<{ status: number; code?: string }> = [];
    // Like people: outbid the price you were last told, by a little.
    await Promise.all(
      bidders.map(async (userId) => {
        let minimum = 100n;
        while (sent < BIDS) {
          sent++;
          const answer = await postBid(service.url, itemId!, { userId, amountCents: String(minimum + BigInt(Math.floor(Math.random() * 300))) });
          answers.push(answer);
          if (answer.minimumNextCents) minimum = answer.minimumNextCents;
        }
      }),
    );
    const count = (pred: (a: { status: number; code?: string }) => boolean) => answers.filter(pred).length;
    const accepted = count((a) => a.status === 201);
    const tooLow = count((a) => a.code === 'bid_too_low');
    const busy = count((a) => a.code === 'unavailable');
    const other = answers.length - accepted - tooLow - busy;
    const violations = await bidInvariantViolations(database.url, itemId!, config.bidding.minIncrementCents);
    for (const v of violations.slice(0, 5)) ctx.say(`violation: ${v}`);
    return {
      ok: violations.length === 0 && other === 0 && accepted > 0,
      line: `accepted ${accepted} · rejected ${tooLow + busy} (too low ${tooLow}, busy ${busy}) · other answers ${other} · invariant violations ${violations.length}`,
      facts: { accepted, tooLow, busy, other, violations: violations.length },
    };
  },
};
