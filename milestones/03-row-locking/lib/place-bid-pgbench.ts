// pgbench running PlaceBid's transaction in SQL (bench/place-bid.pgbench.sql): the database's
// own ceiling, which bench bids, bench stampede and milestone 6's bench api each set their
// figures against. One way to run it and one reading of its output serve all three.
import { fileURLToPath } from 'node:url';
import { runPgbench, type PgbenchRun } from '#runtime/pgbench.ts';

const script = fileURLToPath(new URL('../bench/place-bid.pgbench.sql', import.meta.url));

/** Transactions per second (accepted and refused bids alike: each is an answer), their average latency, and how many ran. */
export type PlaceBidPgbench = PgbenchRun;

/**
 * Runs the script from `clients` connections for `seconds` on the first `items` rows of the
 * database's bench_items table (the caller fills it, and the bench_amounts sequence), writing
 * the tree's bidder column (user_id before milestone 5's contract, bidder_id after).
 */
export function runPlaceBidPgbench(options: { databaseUrl: string; clients: number; seconds: number; items: number; bidder: string }): PlaceBidPgbench {
  const { databaseUrl, clients, seconds, items, bidder } = options;
  return runPgbench({
    databaseUrl,
    script,
    clients,
    seconds,
    defines: { nitems: items, bidder, bidder_type: bidder === 'user_id' ? 'uuid' : 'text' },
  });
}
