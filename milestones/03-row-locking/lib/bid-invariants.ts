// Milestone 3's invariants on one item, checked by its chaos scenarios, its benchmark and the
// restore drill.
import { bidderColumn } from '#testkit/bidder-column.ts';
import { withPgClient } from '#runtime/pg-client.ts';

/**
 * Milestone 3's invariants on one item, read from the database: accepted bids rise by at least
 * the increment in sequence (commit) order, the item's highest bid and leader are the last
 * bid's, and each bid has exactly one outbox event. Returns the violations, one line each.
 */
export async function bidInvariantViolations(databaseUrl: string, itemId: string, minIncrementCents: bigint): Promise<string[]> {
  return withPgClient(databaseUrl, async (client) => {
    const bidder = await bidderColumn(client);
    const { rows: bids } = await client.query<{ id: string; user_id: string; amount_cents: string; sequence: string }>(
      `SELECT id, ${bidder}::text AS user_id, amount_cents, sequence FROM bids WHERE item_id = $1 ORDER BY sequence`,
      [itemId],
    );
    const { rows: items } = await client.query<{ highest_bid_cents: string | null; leader_id: string | null }>(
      'SELECT highest_bid_cents, leader_id FROM items WHERE id = $1',
      [itemId],
    );
    const { rows: events } = await client.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE aggregate_id = $1', [itemId]);
    const violations: string[] = [];
    bids.forEach((bid, i) => {
      if (BigInt(bid.sequence) !== BigInt(i + 1)) violations.push(`bid ${bid.id} has sequence ${bid.sequence}, expected ${i + 1}`);
      const previous = bids[i - 1];
      if (previous && BigInt(bid.amount_cents) < BigInt(previous.amount_cents) + minIncrementCents) {
        violations.push(`bid ${i + 1} (${bid.amount_cents}) does not beat bid ${i} (${previous.amount_cents}) by ${minIncrementCents}`);
      }
    });
    const last = bids.at(-1);
    if (last && (items[0]?.highest_bid_cents !== last.amount_cents || items[0]?.leader_id !== last.user_id)) {
      violations.push(`item shows ${items[0]?.highest_bid_cents} by ${items[0]?.leader_id}, the last accepted bid is ${last.amount_cents} by ${last.user_id}`);
    }
    if (Number(events[0]?.n) !== bids.length) violations.push(`${bids.length} bids but ${events[0]?.n} outbox events`);
    return violations;
  });
}
