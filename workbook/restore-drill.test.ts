// npm run restore-drill (workbook/restore-drill.ts) against a database filled the way npm run seed
// fills one: a fresh dump restores exactly; a backup from before the source changed is judged as
// a past state; a backup that breaks an invariant the source keeps fails the drill.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, databaseName, databaseUrlFor, dropDatabase } from '../runtime/migrate.ts';
import { restoreDrill, RestoreDrillRefused } from './restore-drill.ts';
import { seedAuctions } from '../testkit/seed.ts';
import { useTestEnv } from '../testkit/harness.ts';
import { withPgClient } from '../runtime/pg-client.ts';

const env = useTestEnv();
const pgDump = (url: string, file: string) => promisify(execFile)('pg_dump', ['--format=custom', `--file=${file}`, url]);
async function sql(url: string, text: string): Promise<void> {
  await withPgClient(url, (client) => client.query(text));
}

describe('the restore drill', () => {
  let source: { url: string; drop: () => Promise<void> };
  let dir: string;
  beforeAll(async () => {
    source = await env.scratchDatabase();
    dir = await mkdtemp(join(tmpdir(), 'wb-drill-test-'));
    // npm run seed -- --bids 20000, on 20 items so the per-item checks stay quick.
    await seedAuctions({ databaseUrl: source.url, bids: 20_000, items: 20 });
  });
  afterAll(async () => {
    await source?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('restores a fresh dump of a seeded database exactly, invariants included', async () => {
    const report = await restoreDrill({ sourceUrl: source.url, minIncrementCents: 100n });
    expect(report.differences).toEqual([]);
    expect(report.comparison).toBe('exact');
    expect(report.dump.made).toBe(true);
    expect(report.tables.find((t) => t.table === 'bids')).toEqual({ table: 'bids', source: 20_000, restored: 20_000 });
    expect(report.items).toBe(20);
    // Seeded bids have no outbox events: the source breaks that invariant, and so must the restore.
    expect(report.sourceViolations).toBe(20);
  });

  it('takes the newest backup of a folder, and refuses one that has more rows than the source', async () => {
    const backups = join(dir, 'backups');
    await promisify(execFile)('mkdir', ['-p', backups]);
    await pgDump(source.url, join(backups, 'auction-20260101T000000Z.dump'));
    const { rows } = await withPgClient(source.url, (client) => client.query<{ id: string }>('SELECT id FROM items ORDER BY id LIMIT 1'));
    // An older backup, then bids removed from the source: the newest backup now holds more
    // bids than the source ever could have had since.
    await sql(source.url, `DELETE FROM bids WHERE item_id = '${rows[0]!.id}' AND sequence > 990`);
    await sql(
      source.url,
      `UPDATE items SET last_sequence = 990, highest_bid_cents = b.amount_cents, leader_id = b.bidder_id::uuid FROM bids b WHERE b.item_id = items.id AND b.sequence = 990 AND items.id = '${rows[0]!.id}'`,
    );
    await pgDump(source.url, join(backups, 'auction-20260102T000000Z.dump'));
    await sql(source.url, `DELETE FROM bids WHERE item_id = '${rows[0]!.id}' AND sequence > 980`);
    await sql(
      source.url,
      `UPDATE items SET last_sequence = 980, highest_bid_cents = b.amount_cents, leader_id = b.bidder_id::uuid FROM bids b WHERE b.item_id = items.id AND b.sequence = 980 AND items.id = '${rows[0]!.id}'`,
    );

    const report = await restoreDrill({ sourceUrl: source.url, backupsDir: backups, minIncrementCents: 100n });
    expect(report.dump.path).toBe(join(backups, 'auction-20260102T000000Z.dump'));
    expect(report.comparison).toBe('past state');
    expect(report.differences).toEqual(['table bids: 19980 rows in the source, 19990 restored']);
  });

  it('fails a backup that breaks an invariant the source keeps', async () => {
    // A copy of the source (CREATE DATABASE … TEMPLATE) in which one item's highest bid
    // disagrees with its last bid, dumped: a backup of a database the source never was.
    const copy = `${databaseName(source.url)}_broken`;
    await createDatabase(env.workbook.databaseUrl, copy, databaseName(source.url));
    try {
      const copyUrl = databaseUrlFor(env.workbook.databaseUrl, copy);
      await sql(copyUrl, `UPDATE items SET highest_bid_cents = highest_bid_cents + 1 WHERE id = (SELECT id FROM items ORDER BY id DESC LIMIT 1)`);
      await pgDump(copyUrl, join(dir, 'broken.dump'));

      const report = await restoreDrill({ sourceUrl: source.url, dump: join(dir, 'broken.dump'), minIncrementCents: 100n });
      expect(report.differences).toHaveLength(1);
      expect(report.differences[0]).toMatch(
        /^the restore breaks an invariant the source keeps \(item [0-9a-f-]{36}: item shows \d+ by [0-9a-f-]{36}, the last accepted bid is \d+ by /,
      );
    } finally {
      await dropDatabase(env.workbook.databaseUrl, copy);
    }
  });

  it('says what is wrong when the dump is missing or is not a dump', async () => {
    await expect(restoreDrill({ sourceUrl: source.url, dump: join(dir, 'nope.dump'), minIncrementCents: 100n })).rejects.toThrow(RestoreDrillRefused);
    await promisify(execFile)('sh', ['-c', `echo not a dump > ${join(dir, 'text.dump')}`]);
    await expect(restoreDrill({ sourceUrl: source.url, dump: join(dir, 'text.dump'), minIncrementCents: 100n })).rejects.toThrow(
      /pg_restore could not restore .*text\.dump/,
    );
  });
});
