// Realistic auction data at scale, loaded with COPY (one stream per table, not a statement per
// row): items with their bids in rising amounts and per-item sequence order, each item's
// highest bid, leader and last sequence consistent with its bids. Milestone 5 starts from it.
import { randomInt, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { bidderColumn } from './bidder-column.ts';

export interface SeedOptions {
  databaseUrl: string;
  bids: number;
  /** Default: one item per 100 bids. */
  items?: number;
  /** Distinct bidders the bids are spread over. Default: one per 20 bids, at least 10. */
  bidders?: number;
  /** Told the bids loaded so far, every 10,000 rows and at the end. */
  onProgress?: (loaded: number, total: number) => void;
}

export class SeedRefused extends Error {
  override name = 'SeedRefused';
}

/** Loads the items and bids in one transaction; returns what it loaded. */
export async function seedAuctions(options: SeedOptions): Promise<{ items: number; bids: number; bidders: number; seconds: number }> {
  if (!Number.isSafeInteger(options.bids) || options.bids < 1) throw new SeedRefused(`--bids must be a whole number of at least 1, not ${options.bids}`);
  const items = options.items ?? Math.max(1, Math.round(options.bids / 100));
  if (!Number.isSafeInteger(items) || items < 1 || items > options.bids)
    throw new SeedRefused(`--items must be between 1 and the number of bids (${options.bids}), not ${items}`);
  const bidderIds = Array.from({ length: options.bidders ?? Math.max(10, Math.round(options.bids / 20)) }, () => randomUUID());
  const started = performance.now();
  const client = new pg.Client({ connectionString: options.databaseUrl, application_name: 'workbook-seed' });
  await client.connect();
  try {
    const { rows } = await client.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'items'`,
    );
    const columns = new Set(rows.map((r) => r.column_name));
    if (!columns.has('highest_bid_cents') || !columns.has('last_sequence')) {
      throw new SeedRefused(
        'the database has no milestone-3 schema yet (items.highest_bid_cents, items.last_sequence): run `npm run migrate` with milestones 1 to 3 written, or seed a database migrated from solutions/',
      );
    }
    await client.query('BEGIN');
    // Plan every item first (its bid count, prices, times), so items and bids agree.
    const now = Date.now();
    const day = 86_400_000;
    const plan = Array.from({ length: items }, (_, n) => {
      const count = Math.floor(options.bids / items) + (n < options.bids % items ? 1 : 0);
      const startPrice = BigInt(randomInt(1, 100) * 100);
      const increment = BigInt(randomInt(1, 6) * 100);
      const startAt = now - randomInt(1, 8) * day;
      const endAt = now + randomInt(1, 31) * day;
      const leaderIndex = randomInt(bidderIds.length);
      return { id: randomUUID(), n, count, startPrice, increment, startAt, endAt, leader: bidderIds[leaderIndex]! };
    });
    const iso = (ms: number) => new Date(ms).toISOString();
    const itemRows = function* () {
      for (const p of plan) {
        const highest = p.count > 0 ? (p.startPrice + p.increment * BigInt(p.count - 1)).toString() : '';
        yield `${p.id},Lot ${p.n + 1},${p.startPrice},${iso(p.startAt)},${iso(p.endAt)},${iso(p.startAt)},${highest},${p.count > 0 ? p.leader : ''},${p.count}\n`;
      }
    };
    await pipeline(
      Readable.from(itemRows()),
      client.query(
        copyFrom(
          `COPY items (id, title, start_price_cents, start_at, end_at, created_at, highest_bid_cents, leader_id, last_sequence) FROM STDIN (FORMAT csv)`,
        ),
      ),
    );
    let loaded = 0;
    const bidRows = function* () {
      for (const p of plan) {
        const spacing = Math.max(1, Math.floor((now - p.startAt) / (p.count + 1)));
        for (let i = 0; i < p.count; i++) {
          // The last bid is the leader's; the others come from anyone.
          const bidder = i === p.count - 1 ? p.leader : bidderIds[randomInt(bidderIds.length)]!;
          yield `${randomUUID()},${p.id},${bidder},${p.startPrice + p.increment * BigInt(i)},${i + 1},${iso(p.startAt + spacing * (i + 1))}\n`;
          if (++loaded % 10_000 === 0) options.onProgress?.(loaded, options.bids);
        }
      }
    };
    // Milestone 5 starts from user_id; once it is contracted, only bidder_id is left. (While both
    // exist, user_id, and the expand trigger fills bidder_id: COPY fires row triggers.)
    const bidderColumnName = await bidderColumn(client);
    await pipeline(
      Readable.from(bidRows()),
      client.query(copyFrom(`COPY bids (id, item_id, ${bidderColumnName}, amount_cents, sequence, placed_at) FROM STDIN (FORMAT csv)`)),
    );
    options.onProgress?.(loaded, options.bids);
    await client.query('COMMIT');
    // Fresh statistics, so the planner sees a million rows, not an empty table.
    await client.query('ANALYZE items, bids');
    return { items, bids: loaded, bidders: bidderIds.length, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
