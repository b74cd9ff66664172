// Milestone 1 · the schema: money is BIGINT cents and the database refuses what can never be true.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createDb, type Db } from '#runtime/db.ts';
import { runMigrations } from '#runtime/migrate.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { withPgClient } from '#runtime/pg-client.ts';

const env = useTestEnv();
// The schema as milestone 1's migration leaves it: later milestones change bids (milestone 5
// replaces user_id), and these tests are about this one.
let db: Db;
let dropDb: () => Promise<void>;
beforeAll(async () => {
  const atMilestone1 = await env.databaseAt('1764000000000_items-and-bids');
  db = createDb({ url: atMilestone1.url, log: env.log, applicationName: 'schema-test' });
  dropDb = atMilestone1.drop;
});
afterAll(async () => {
  await db?.end();
  await dropDb?.();
});
const future = () => new Date(Date.now() + 86_400_000);

async function sqlError(promise: Promise<unknown>): Promise<{ code?: string; constraint?: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as pg.DatabaseError;
    return { code: e.code, constraint: e.constraint };
  }
  return { code: 'no error: the database accepted it' };
}

async function insertItem(values: { title?: string; priceCents?: string; startAt?: Date; endAt?: Date } = {}) {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO items (title, start_price_cents, start_at, end_at)
     VALUES ($1::text, $2::bigint, $3::timestamptz, $4::timestamptz) RETURNING id`,
    [values.title ?? 'Lamp', values.priceCents ?? '1000', values.startAt ?? new Date(), values.endAt ?? future()],
  );
  return rows[0]!.id;
}

describe('schema', () => {
  it('has items and bids with the columns the lesson lists, money as bigint', async () => {
    const { rows } = await db.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
      `SELECT table_name, column_name, data_type, is_nullable
         FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name IN ('items', 'bids')
        ORDER BY table_name, column_name`,
    );
    const columns = Object.fromEntries(rows.map((r) => [`${r.table_name}.${r.column_name}`, `${r.data_type}${r.is_nullable === 'NO' ? ' not null' : ''}`]));
    expect(columns).toMatchObject({
      'bids.amount_cents': 'bigint not null',
      'bids.id': 'uuid not null',
      'bids.item_id': 'uuid not null',
      'bids.placed_at': 'timestamp with time zone not null',
      'bids.user_id': 'uuid not null',
      'items.created_at': 'timestamp with time zone not null',
      'items.description': 'text not null',
      'items.end_at': 'timestamp with time zone not null',
      'items.id': 'uuid not null',
      'items.start_at': 'timestamp with time zone not null',
      'items.start_price_cents': 'bigint not null',
      'items.title': 'text not null',
    });
  });

  it('stores 9007199254740993 cents (above 2^53) and reads it back exactly', async () => {
    const id = await insertItem({ priceCents: '9007199254740993' });
    const { rows } = await db.query<{ start_price_cents: bigint }>('SELECT start_price_cents FROM items WHERE id = $1', [id]);
    expect(rows[0]?.start_price_cents).toBe(9007199254740993n);
  });

  it.each([
    ['a zero price', 'items_start_price_positive', { priceCents: '0' }],
    ['a negative price', 'items_start_price_positive', { priceCents: '-1' }],
    ['a blank title', 'items_title_not_blank', { title: '   ' }],
    ['an end before the start', 'items_end_after_start', { startAt: new Date('2030-01-02T00:00:00Z'), endAt: new Date('2030-01-01T00:00:00Z') }],
    ['an end equal to the start', 'items_end_after_start', { startAt: new Date('2030-01-01T00:00:00Z'), endAt: new Date('2030-01-01T00:00:00Z') }],
  ])('refuses an item with %s (CHECK %s) and writes nothing', async (_case, constraint, values) => {
    const before = await db.query('SELECT count(*) AS n FROM items');
    expect(await sqlError(insertItem(values))).toEqual({ code: '23514', constraint });
    const after = await db.query('SELECT count(*) AS n FROM items');
    expect(after.rows[0].n, 'rows in items').toBe(before.rows[0].n);
  });

  it('refuses a bid that is not positive, or on an item that does not exist', async () => {
    const itemId = await insertItem();
    const bid = (item: string, cents: string) =>
      db.query(`INSERT INTO bids (item_id, user_id, amount_cents) VALUES ($1, gen_random_uuid(), $2::bigint)`, [item, cents]);
    expect(await sqlError(bid(itemId, '0'))).toEqual({ code: '23514', constraint: 'bids_amount_positive' });
    expect((await sqlError(bid('00000000-0000-4000-8000-000000000000', '100'))).code, 'foreign key violation').toBe('23503');
    await bid(itemId, '9007199254740993');
    const { rows } = await db.query<{ amount_cents: bigint }>('SELECT amount_cents FROM bids WHERE item_id = $1', [itemId]);
    expect(rows.map((r) => r.amount_cents)).toEqual([9007199254740993n]);
  });

  it('migrates down to nothing and back up again', async () => {
    const scratch = await env.scratchDatabase();
    const tables = async () => {
      return withPgClient(scratch.url, async (client) => {
        const { rows } = await client.query<{ t: string }>(
          `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('items', 'bids') ORDER BY 1`,
        );
        return rows.map((r) => r.t);
      });
    };
    try {
      expect(await tables(), 'tables after up').toEqual(['bids', 'items']);
      await runMigrations({ databaseUrl: scratch.url, tree: env.tree, direction: 'down', count: Infinity });
      expect(await tables(), 'tables after down').toEqual([]);
      await runMigrations({ databaseUrl: scratch.url, tree: env.tree, direction: 'up' });
      expect(await tables(), 'tables after up again').toEqual(['bids', 'items']);
    } finally {
      await scratch.drop();
    }
  });
});
