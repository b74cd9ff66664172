// Milestone 1 · items: create, read and list, with every bad input refused by name and nothing written.
import { describe, expect, it } from 'vitest';
import { ItemNotFound } from '#app/errors.ts';
import { createItem } from '#app/items/create-item.ts';
import { getItem } from '#app/items/get-item.ts';
import { listItems } from '#app/items/list-items.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { rejection } from '#testkit/rejection.ts';

const env = useTestEnv();
const NOW = new Date('2030-06-01T12:00:00Z');
const valid = { title: 'Brass lamp', description: 'Works.', startPriceCents: '2500', startAt: '2030-06-01T12:00:00Z', endAt: '2030-06-08T12:00:00Z' };

async function itemCount(): Promise<bigint> {
  const { rows } = await env.db.query<{ n: bigint }>('SELECT count(*) AS n FROM items');
  return rows[0]!.n;
}

describe('items', () => {
  it('creates an item and reads it back exactly, price above 2^53 included', async () => {
    const created = await createItem(env, { ...valid, startPriceCents: '9007199254740993' }, NOW);
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.startPriceCents).toBe(9007199254740993n);
    const read = await getItem(env, created.id);
    expect(read).toEqual({
      id: created.id,
      title: 'Brass lamp',
      description: 'Works.',
      startPriceCents: 9007199254740993n,
      startAt: new Date(valid.startAt),
      endAt: new Date(valid.endAt),
      createdAt: created.createdAt,
    });
  });

  it('accepts a safe-integer number of cents and trims the title', async () => {
    const created = await createItem(env, { ...valid, title: '  Chair ', startPriceCents: 150 }, NOW);
    expect({ title: created.title, cents: created.startPriceCents }).toEqual({ title: 'Chair', cents: 150n });
  });

  it.each([
    ['an empty title', { title: '' }, 'title'],
    ['a blank title', { title: '   ' }, 'title'],
    ['no title', { title: undefined }, 'title'],
    ['a title of 201 characters', { title: 'x'.repeat(201) }, 'title'],
    ['a description that is not a string', { description: 42 }, 'description'],
    ['a negative price', { startPriceCents: '-100' }, 'startPriceCents'],
    ['a zero price', { startPriceCents: 0 }, 'startPriceCents'],
    ['a fractional price', { startPriceCents: 10.5 }, 'startPriceCents'],
    ['a price written with a decimal point', { startPriceCents: '10.50' }, 'startPriceCents'],
    ['a price above BIGINT', { startPriceCents: '9223372036854775808' }, 'startPriceCents'],
    ['a price number above 2^53 (already rounded by JSON.parse)', { startPriceCents: 2 ** 53 + 2 }, 'startPriceCents'],
    ['a price that is not a number', { startPriceCents: 'ten' }, 'startPriceCents'],
    ['an end in the past', { startAt: '2030-05-01T00:00:00Z', endAt: '2030-05-02T00:00:00Z' }, 'endAt'],
    ['an end before the start', { endAt: '2030-06-01T11:00:00Z' }, 'endAt'],
    ['an end that is not a timestamp', { endAt: 'next tuesday' }, 'endAt'],
    ['an end without a time zone', { endAt: '2030-06-08T12:00:00' }, 'endAt'],
    ['a start that is not a timestamp', { startAt: '2030-13-45T00:00:00Z' }, 'startAt'],
  ])('refuses %s with a ValidationError naming the field, and writes nothing', async (_case, change, field) => {
    const before = await itemCount();
    expect(await rejection(createItem(env, { ...valid, ...change }, NOW))).toEqual({ name: 'ValidationError', field });
    expect(await itemCount(), 'rows in items').toBe(before);
  });

  it.each([
    ['null', null],
    ['an array', [valid]],
    ['a string', 'Brass lamp'],
  ])('refuses a body that is %s', async (_case, body) => {
    const before = await itemCount();
    expect(await rejection(createItem(env, body, NOW))).toEqual({ name: 'ValidationError', field: 'body' });
    expect(await itemCount(), 'rows in items').toBe(before);
  });

  it('refuses a malformed id by name, and reports an unknown one as not found', async () => {
    expect(await rejection(getItem(env, 'not-a-uuid'))).toEqual({ name: 'ValidationError', field: 'id' });
    expect(await rejection(getItem(env, "1' OR '1'='1"))).toEqual({ name: 'ValidationError', field: 'id' });
    const missing = '3f1c2d4e-0000-4000-8000-000000000000';
    const err = await getItem(env, missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ItemNotFound);
    expect((err as ItemNotFound).itemId).toBe(missing);
  });

  it('lists every item once, in creation order, a page at a time', async () => {
    const scratch = await env.scratchDatabase();
    const { createDb } = await import('#runtime/db.ts');
    const db = createDb({ url: scratch.url, log: env.log });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await createItem({ db, config: env.config }, { ...valid, title: `Item ${i}` }, NOW)).id);
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await listItems({ db }, { limit: 2, after });
        seen.push(...page.items.map((i) => i.id));
        after = page.nextAfter;
        pages++;
      } while (after && pages < 10);
      expect(seen).toEqual(ids);
      expect(pages).toBe(3);
      expect(await rejection(listItems({ db }, { limit: 0 }))).toEqual({ name: 'ValidationError', field: 'limit' });
      expect(await rejection(listItems({ db }, { limit: 101 }))).toEqual({ name: 'ValidationError', field: 'limit' });
    } finally {
      await db.end();
      await scratch.drop();
    }
  });

  it('pages through items sharing one created_at (inserted in one transaction) without skipping or repeating any', async () => {
    const scratch = await env.scratchDatabase();
    const { createDb } = await import('#runtime/db.ts');
    const db = createDb({ url: scratch.url, log: env.log });
    try {
      // One statement, one transaction: now() is the same for all seven, so created_at alone cannot order them.
      await db.query(`INSERT INTO items (title, start_price_cents, end_at) SELECT 'Twin ' || g, 100, now() + interval '1 day' FROM generate_series(1, 7) AS g`);
      const { rows } = await db.query<{ id: string }>('SELECT id FROM items ORDER BY created_at, id');
      const stamps = await db.query<{ n: bigint }>('SELECT count(DISTINCT created_at) AS n FROM items');
      expect(stamps.rows[0]?.n, 'distinct created_at values among the items (the test needs them equal)').toBe(1n);
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await listItems({ db }, { limit: 3, after });
        seen.push(...page.items.map((i) => i.id));
        after = page.nextAfter;
        if (!after) break;
      }
      const skipped = rows.map((r) => r.id).filter((id) => !seen.includes(id));
      const repeated = seen.filter((id, i) => seen.indexOf(id) !== i);
      expect(
        { skipped: skipped.length, repeated: repeated.length },
        'items sharing a created_at across a page boundary were skipped or repeated: the cursor must compare (created_at, id) > (…, …) and ORDER BY created_at, id, not created_at alone',
      ).toEqual({ skipped: 0, repeated: 0 });
      expect(seen, 'every item, in (created_at, id) order').toEqual(rows.map((r) => r.id));
    } finally {
      await db.end();
      await scratch.drop();
    }
  });
});
