// Named fixtures of the milestone-5 tests: a database as milestone 4 left it (bids.user_id
// only), moved forward one migration at a time, and app versions that differ only in
// BIDDER_PHASE, as old and new versions do during a rollout.
import { randomUUID } from 'node:crypto';
import { placeBid } from '#app/bidding/place-bid.ts';
import type { BidderPhase, Config } from '#runtime/config.ts';
import { createDb, type Db } from '#runtime/db.ts';
import { runMigrations } from '#runtime/migrate.ts';
import { seedAuctions } from '#testkit/seed.ts';
import type { TestEnv } from '#testkit/harness.ts';

export const MILESTONE_4 = '1764000000003_closing-and-stats';
export const EXPAND = '1764000000004_expand-bidder-id';
export const CHECK = '1764000000005_check-bidder-id';
export const VALIDATE = '1764000000006_validate-bidder-id';
export const INDEX = '1764000000007_index-bidder-request';
export const CONTRACT = '1764000000008_contract-user-id';

export interface RolloutDatabase {
  url: string;
  db: Db;
  config: Config;
  /** Migrates up to and including `migration`. */
  migrateTo(migration: string, options?: { attempts?: number; onRetry?: () => void }): Promise<string[]>;
  /** An app version: placeBid with this BIDDER_PHASE, on this database. */
  app(phase: BidderPhase): {
    place: (bid: { itemId: string; userId: string; amountCents: string; requestId?: string }) => ReturnType<typeof placeBid>;
    config: Config;
    db: Db;
  };
  close(): Promise<void>;
}

/** A database at milestone 4's schema, optionally seeded with `bids` bids (COPY). */
export async function rolloutDatabase(env: TestEnv, options: { bids?: number } = {}): Promise<RolloutDatabase> {
  const { url, drop } = await env.databaseAt(MILESTONE_4);
  if (options.bids) await seedAuctions({ databaseUrl: url, bids: options.bids, items: Math.max(1, Math.floor(options.bids / 100)) });
  const db = createDb({ url, log: env.log, applicationName: 'rollout-test' });
  const config: Config = { ...env.config, databaseUrl: url };
  return {
    url,
    db,
    config,
    migrateTo: (migration, o = {}) => runMigrations({ databaseUrl: url, tree: env.tree, direction: 'up', to: migration, ...o }),
    app(phase) {
      const appConfig: Config = { ...config, bidding: { ...config.bidding, bidderPhase: phase } };
      return { config: appConfig, db, place: (bid) => placeBid({ db, config: appConfig }, bid) };
    },
    async close() {
      await db.end();
      await drop();
    },
  };
}

/** An open item, written directly. */
export async function openItem(db: Db): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO items (title, start_price_cents, start_at, end_at) VALUES ('Lot', 100, now() - interval '1 day', now() + interval '1 day') RETURNING id`,
  );
  return rows[0]!.id;
}

export const aBidder = () => randomUUID();

/** Rows whose bidder_id is not the text of their user_id (NULL included). */
export async function wrongBidderIds(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM bids WHERE bidder_id IS DISTINCT FROM user_id::text');
  return Number(rows[0]!.n);
}

/** The parts of bids' schema a rollout phase changes: columns, constraints, indexes (with validity), triggers. */
export async function bidsSchema(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ line: string }>(
    `SELECT 'column ' || column_name || ' ' || data_type || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END AS line
       FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'bids'
     UNION ALL
     SELECT 'constraint ' || conname || CASE WHEN convalidated THEN '' ELSE ' not valid' END FROM pg_constraint WHERE conrelid = 'bids'::regclass
     UNION ALL
     SELECT 'index ' || indexrelid::regclass::text || CASE WHEN indisvalid THEN '' ELSE ' INVALID' END FROM pg_index WHERE indrelid = 'bids'::regclass
     UNION ALL
     SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid = 'bids'::regclass AND NOT tgisinternal
     UNION ALL
     SELECT 'table ' || table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'backfill_checkpoints'
     ORDER BY 1`,
  );
  return rows.map((r) => r.line);
}
