// npm run bench -- bids: placeBid (pessimistic) and placeBidOptimistic on one hot item and
// spread over 1,000 items, each next to pgbench running the same transaction in SQL against
// the same database in the same run (place-bid.pgbench.sql).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bidInvariantViolations } from '../lib/bid-invariants.ts';
import { openItems } from '#testkit/scenario-data.ts';
import { bidderColumn } from '#testkit/bidder-column.ts';
import { createDb } from '#runtime/db.ts';
import { barsAgainstCeiling, fmt, percentile, type Bar, type BenchContext } from '#runtime/bench-stats.ts';
import { createLogger } from '#runtime/logger.ts';
import { runPlaceBidPgbench } from '../lib/place-bid-pgbench.ts';

/** The sizes of a real run, and of a smoke run (`--smoke`: end to end in seconds, no verdicts). */
const SIZES = {
  full: { clients: 8, seconds: 8, spreadItems: 1_000 },
  smoke: { clients: 4, seconds: 1, spreadItems: 50 },
};

type Place = (deps: unknown, input: unknown) => Promise<unknown>;

export const benchmark = {
  name: 'bids',
  milestone: 3,
  summary: `Bids/s and latency of placeBid and placeBidOptimistic on one hot item and over ${fmt(SIZES.full.spreadItems)} items, ${SIZES.full.clients} clients, next to pgbench running the same transaction.`,
  async run(ctx: BenchContext) {
    const size = SIZES[ctx.smoke ? 'smoke' : 'full'];
    const { database, config: base } = await ctx.instance();
    const config = { ...base, bidding: { ...base.bidding, minIncrementCents: 1n } };
    const db = createDb({ url: database.url, log: createLogger({ name: 'bench', level: 'silent' }), max: size.clients });
    const load = async (file: string) => (await import(pathToFileURL(join(ctx.tree, 'src/bidding', file)).href)) as Record<string, Place>;
    const variants: Array<[string, Place]> = [
      ['pessimistic (FOR UPDATE)', (await load('place-bid.ts')).placeBid!],
      ['optimistic (conditional UPDATE)', (await load('place-bid-optimistic.ts')).placeBidOptimistic!],
    ];
    const rows: string[] = [];
    const bars: Bar[] = [];
    let ok = true;
    try {
      const items = await openItems(database.url, size.spreadItems);
      await db.query('CREATE TABLE bench_items (n int PRIMARY KEY, id uuid NOT NULL)');
      await db.query('INSERT INTO bench_items SELECT g, ($1::uuid[])[g] FROM generate_series(1, $2::int) AS g', [items, size.spreadItems]);
      await db.query('CREATE SEQUENCE bench_amounts START 1000000000');
      // The bidder column of this tree's schema: user_id (uuid) before milestone 5's contract, bidder_id (text) after.
      const bidder = await bidderColumn(db);
      const acceptedSoFar = async () => Number((await db.query<{ n: bigint }>('SELECT count(*) AS n FROM bids')).rows[0]!.n);
      for (const [shape, nitems] of [
        ['hot item', 1],
        [`${fmt(size.spreadItems)} items`, size.spreadItems],
      ] as const) {
        ctx.say(`${shape}: pgbench ceiling, ${size.clients} clients, ${size.seconds} s`);
        const before = await acceptedSoFar();
        const pgbench = runPlaceBidPgbench({ databaseUrl: database.url, clients: size.clients, seconds: size.seconds, items: nitems, bidder });
        const { processed } = pgbench;
        const pgLatency = pgbench.latencyAverageMs;
        // Accepted bids per second, like the Node.js rows; tps also counts refused ones. Both are
        // shown: on a hot item, how many bids an amount drawn before the transaction wins depends
        // on the order the bids reach the lock in, which milestone 3's admission queue keeps and
        // pgbench's sessions, each waiting on the row lock itself, do not; and a refusal, which
        // writes neither the bid nor its outbox row, holds the lock for less time.
        const acceptedByPgbench = (await acceptedSoFar()) - before;
        const ceiling = acceptedByPgbench / size.seconds;
        bars.push({ label: `${shape}: pgbench (ceiling)`, value: ceiling, kind: 'ceiling' });
        rows.push(
          `| ${shape} | pgbench, same transaction in SQL (ceiling) | ${fmt(ceiling)} | ${fmt(processed - acceptedByPgbench)} | ${fmt(processed / size.seconds)} | avg ${pgLatency.toFixed(1)} ms | – | 100% |`,
        );
        for (const [name, place] of variants) {
          ctx.say(`${shape}: ${name}, ${size.clients} clients, ${size.seconds} s`);
          let accepted = 0;
          // Same amounts as pgbench's: the shared sequence, fetched before the transaction.
          const amountOf = async () => BigInt((await db.query<{ v: bigint }>("SELECT nextval('bench_amounts') * 1000 AS v")).rows[0]!.v);
          let refused = 0;
          const latencies: number[] = [];
          const deadline = performance.now() + size.seconds * 1000;
          await Promise.all(
            Array.from({ length: size.clients }, async () => {
              while (performance.now() < deadline) {
                const n = nitems === 1 ? 1 : 1 + Math.floor(Math.random() * nitems);
                const started = performance.now();
                try {
                  await place({ db, config }, { itemId: items[n - 1], userId: randomUUID(), amountCents: String(await amountOf()) });
                  accepted++;
                } catch {
                  refused++;
                }
                latencies.push(performance.now() - started);
              }
            }),
          );
          const sorted = latencies.sort((a, b) => a - b);
          const rate = accepted / size.seconds;
          const violations = await bidInvariantViolations(database.url, items[0]!, config.bidding.minIncrementCents);
          const share = rate / ceiling;
          const target = nitems === 1 && name.startsWith('pessimistic');
          if (violations.length > 0 || (target && share < 0.7)) ok = false;
          bars.push({ label: `${shape}: ${name}`, value: rate, kind: 'measured' });
          rows.push(
            `| ${shape} | ${name} | ${fmt(rate)} | ${fmt(refused)} | ${fmt((accepted + refused) / size.seconds)} | p50 ${percentile(sorted, 50).toFixed(1)} ms · p99 ${percentile(sorted, 99).toFixed(1)} ms | ${violations.length} | ${(share * 100).toFixed(0)}%${target ? ` (target ≥ 70%: ${share >= 0.7 ? 'PASS' : 'FAIL'})` : ''} |`,
          );
        }
      }
      return {
        ok,
        table: [
          `| shape | bids by | bids/s accepted | refused | answers/s (accepted + refused) | latency | invariant violations (hot item) | accepted vs ceiling |`,
          `|---|---|---|---|---|---|---|---|`,
          ...rows,
        ],
        report: barsAgainstCeiling(`Accepted bids/s, ${size.clients} clients, against pgbench running the same transaction`, 'bids/s accepted', bars),
      };
    } finally {
      await db.end();
    }
  },
};
