// What the relay's claim costs as published rows pile up: the pages one claim reads, from
// PostgreSQL's own EXPLAIN (ANALYZE, BUFFERS), around the relay's claimBatch itself (its SQL is
// not copied here). Used by claim-pages.test.ts and `npm run bench -- claim-pages`.
import { randomUUID } from 'node:crypto';
import type { DbClient, Db } from '#runtime/db.ts';
import type { claimBatch as ClaimBatch, Partition } from '#app/outbox/claim-batch.ts';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}

/** Shared pages (hit or read) one claim of `partition` reads. Runs in a transaction it rolls back, so it claims nothing. */
export async function pagesReadByClaim(db: Db, claimBatch: typeof ClaimBatch, partition: Partition = { index: 0, count: 4 }, limit = 500): Promise<number> {
  return (await measureClaim(db, claimBatch, partition, limit)).pages;
}

/**
 * One claim's pages, and the plan PostgreSQL ran for it, as its nodes from the top ("Limit >
 * LockRows > Index Scan on outbox_pending_idx"): which plan read them, when they surprise.
 */
export async function measureClaim(
  db: Db,
  claimBatch: typeof ClaimBatch,
  partition: Partition = { index: 0, count: 4 },
  limit = 500,
): Promise<{ pages: number; plan: string }> {
  const top = await explainClaim(db, claimBatch, partition, limit);
  const shape = (node: PlanNode): string[] => [
    `${node['Node Type']}${node['Index Name'] ? ` on ${node['Index Name']}` : ''}`,
    ...(node.Plans ?? []).flatMap(shape),
  ];
  return { pages: top['Shared Hit Blocks'] + top['Shared Read Blocks'], plan: shape(top).join(' > ') };
}

/** EXPLAIN (ANALYZE, BUFFERS) of the relay's own claim statement, in a transaction rolled back. */
async function explainClaim(db: Db, claimBatch: typeof ClaimBatch, partition: Partition, limit: number): Promise<PlanNode> {
  const tx = await db.connect();
  try {
    // The plan the relay runs on a table of any size: on a tiny one (100 rows, none published)
    // the planner reads the whole table and sorts it instead, and the pages of two different
    // plans, each counting a page once per row it locks, are no measure of the index.
    await tx.query('BEGIN; SET LOCAL enable_seqscan = off');
    const plans: PlanNode[] = [];
    // The relay's own statement, run as EXPLAIN: the client in its hands rewrites what it sends.
    const explaining = {
      query: async (sql: string, params: unknown[]) => {
        const { rows } = await tx.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params);
        plans.push(rows[0]!['QUERY PLAN'][0]!.Plan);
        return { rows: [], rowCount: 0 };
      },
    } as unknown as DbClient;
    await claimBatch(explaining, limit, partition);
    if (plans.length !== 1) throw new Error(`claimBatch sent ${plans.length} statements; expected the one claim query`);
    return plans[0]!;
  } finally {
    await tx.query('ROLLBACK').catch(() => undefined);
    tx.release();
  }
}

/** The pending index's shape, from pgstattuple's pgstatindex: its levels below the root, and its leaf pages that are not deleted (empty ones included). */
export interface IndexShape {
  levels: number;
  leafPages: number;
}

export async function pendingIndexShape(db: Db): Promise<IndexShape> {
  // pgstattuple ships with PostgreSQL (contrib, in the postgres image too); creating it needs a superuser, as the workbook's databases have.
  await db.query('CREATE EXTENSION IF NOT EXISTS pgstattuple');
  const { rows } = await db.query<{ tree_level: number; leaf_pages: string }>(`SELECT tree_level, leaf_pages FROM pgstatindex('outbox_pending_idx')`);
  return { levels: Number(rows[0]!.tree_level), leafPages: Number(rows[0]!.leaf_pages) };
}

/**
 * What one claim may read once VACUUM has removed the published rows' entries from the pending
 * index: the pages it read with none, plus one per level the B-tree grew on the way down (a
 * B-tree never gives a level back), plus one per leaf page VACUUM kept beyond those it had. The
 * claim's scan walks every leaf left when fewer rows are pending than its limit, and VACUUM
 * deletes an empty leaf only when it is not the rightmost child of its parent: each parent it
 * keeps keeps one, so at most two leaves per level grown stay (a million published rows: 2
 * levels, leaves 1 → 3, 2,738 deleted). More leaves than that means VACUUM did not empty the
 * index, and the allowance is then no allowance: `emptied` is false.
 */
export function vacuumedClaimAllowance(withNone: number, before: IndexShape, after: IndexShape): { pages: number; emptied: boolean; words: string } {
  const levels = after.levels - before.levels;
  const leaves = after.leafPages - before.leafPages;
  const emptied = leaves <= 2 * levels;
  return {
    pages: withNone + levels + leaves,
    emptied,
    words: `${withNone} with none + ${levels} level${levels === 1 ? '' : 's'} grown + ${leaves} leaf page${leaves === 1 ? '' : 's'} kept (${after.leafPages} left${emptied ? '' : `, more than the ${2 * levels} two per level grown allow: VACUUM did not empty the index`})`,
  };
}

/** `n` outbox rows over `items` items, inserted pending and then marked published by one UPDATE, as the relay marks them. */
export async function publishedRows(db: Db, n: number, items = 1_000): Promise<void> {
  const ids = Array.from({ length: items }, () => randomUUID());
  const { rows } = await db.query<{ last: bigint }>('SELECT coalesce(max(position), 0) AS last FROM outbox');
  await db.query(
    `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, routing_key, payload)
     SELECT 'item', ($2::uuid[])[1 + i % array_length($2::uuid[], 1)], 'auction.events.v1.BidPlaced', 'bid.placed', '\\x00'::bytea
       FROM generate_series(1, $1::int) AS i`,
    [n, ids],
  );
  await db.query(`UPDATE outbox SET published_at = now() WHERE position > $1::bigint`, [rows[0]!.last]);
}

/** `n` pending rows (each on its own item), for the claim to find. */
export async function pendingRows(db: Db, n: number): Promise<void> {
  await db.query(
    `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, routing_key, payload)
     SELECT 'item', gen_random_uuid(), 'auction.events.v1.BidPlaced', 'bid.placed', '\\x00'::bytea FROM generate_series(1, $1::int)`,
    [n],
  );
}
