// testkit/seed.ts: the data milestone 5 starts from, loaded with COPY, consistent with itself.
import { describe, expect, it } from 'vitest';
import { seedAuctions } from './seed.ts';
import { bidderColumn } from './bidder-column.ts';
import { createDatabase, databaseUrlFor, dropDatabase } from '../runtime/migrate.ts';
import { useTestEnv } from './harness.ts';
import { withPgClient } from '../runtime/pg-client.ts';

const env = useTestEnv();

describe('seedAuctions', () => {
  it('loads the bids over the items, each item’s highest bid, leader and last sequence agreeing with its bids', async () => {
    const scratch = await env.scratchDatabase();
    const progress: number[] = [];
    try {
      const result = await seedAuctions({ databaseUrl: scratch.url, bids: 25_003, onProgress: (done) => progress.push(done) });
      expect({ items: result.items, bids: result.bids }).toEqual({ items: 250, bids: 25_003 });
      expect(progress.at(-1), 'the last progress report').toBe(25_003);
      await withPgClient(scratch.url, async (client) => {
        const { rows } = await client.query(
          `SELECT (SELECT count(*)::int FROM bids) AS bids,
                  (SELECT count(*)::int FROM items i
                    WHERE i.last_sequence <> (SELECT count(*) FROM bids b WHERE b.item_id = i.id)
                       OR i.highest_bid_cents IS DISTINCT FROM (SELECT max(amount_cents) FROM bids b WHERE b.item_id = i.id)
                       OR i.leader_id::text IS DISTINCT FROM (SELECT ${await bidderColumn(client)}::text FROM bids b WHERE b.item_id = i.id ORDER BY sequence DESC LIMIT 1)) AS inconsistent_items,
                  (SELECT count(*)::int FROM (SELECT item_id FROM bids GROUP BY item_id HAVING count(*) <> max(sequence) OR count(DISTINCT sequence) <> count(*)) s) AS items_with_gaps,
                  (SELECT count(*)::int FROM bids b JOIN bids c ON c.item_id = b.item_id AND c.sequence = b.sequence + 1 WHERE c.amount_cents <= b.amount_cents) AS falling_bids`,
        );
        expect(rows[0]).toEqual({ bids: 25_003, inconsistent_items: 0, items_with_gaps: 0, falling_bids: 0 });
      });
    } finally {
      await scratch.drop();
    }
  });

  it('refuses a bad count, and a database without the schema, and loads nothing', async () => {
    const scratch = await env.scratchDatabase();
    const empty = `wb_seed_empty_${Date.now()}`;
    try {
      await expect(seedAuctions({ databaseUrl: scratch.url, bids: 0 })).rejects.toMatchObject({
        name: 'SeedRefused',
        message: expect.stringContaining('--bids'),
      });
      await expect(seedAuctions({ databaseUrl: scratch.url, bids: 10, items: 11 })).rejects.toMatchObject({
        name: 'SeedRefused',
        message: expect.stringContaining('--items'),
      });
      await createDatabase(env.workbook.databaseUrl, empty);
      await expect(seedAuctions({ databaseUrl: databaseUrlFor(env.workbook.databaseUrl, empty), bids: 10 })).rejects.toMatchObject({
        name: 'SeedRefused',
        message: expect.stringContaining('npm run migrate'),
      });
      const { rows } = await withPgClient(scratch.url, (client) =>
        client.query('SELECT (SELECT count(*)::int FROM items) AS items, (SELECT count(*)::int FROM bids) AS bids'),
      );
      expect(rows[0]).toEqual({ items: 0, bids: 0 });
    } finally {
      await dropDatabase(env.workbook.databaseUrl, empty);
      await scratch.drop();
    }
  });
});
