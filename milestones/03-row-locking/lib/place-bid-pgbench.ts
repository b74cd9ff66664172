// pgbench running PlaceBid's transaction in SQL (bench/place-bid.pgbench.sql): the database's
// own ceiling, which bench bids, bench stampede and milestone 6's bench api each set their
// figures against. One way to run it and one reading of its output serve all three.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../bench/place-bid.pgbench.sql', import.meta.url));

export interface PlaceBidPgbench {
  /** Transactions per second, accepted and refused bids alike (each is an answer). */
  tps: number;
  latencyAverageMs: number;
  processed: number;
}

/**
 * Runs the script from `clients` connections for `seconds` on the first `items` rows of the
 * database's bench_items table (the caller fills it, and the bench_amounts sequence), writing
 * the tree's bidder column (user_id before milestone 5's contract, bidder_id after).
 */
export function runPlaceBidPgbench(options: { databaseUrl: string; clients: number; seconds: number; items: number; bidder: string }): PlaceBidPgbench {
  const { databaseUrl, clients, seconds, items, bidder } = options;
  const args = [
    '-n',
    '-c',
    String(clients),
    '-j',
    '2',
    '-T',
    String(seconds),
    '-D',
    `nitems=${items}`,
    '-D',
    `bidder=${bidder}`,
    '-D',
    `bidder_type=${bidder === 'user_id' ? 'uuid' : 'text'}`,
    '-f',
    script,
    databaseUrl,
  ];
  const run = spawnSync('pgbench', args, { encoding: 'utf8' });
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(run.stdout)?.[1] ?? NaN);
  // A run too short for one transaction to finish (a smoke run on a loaded machine) prints no tps: that is 0, not a failure.
  const tps = processed === 0 ? 0 : Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout)?.[1] ?? NaN);
  if (Number.isNaN(tps)) throw new Error(`pgbench did not report tps: ${(run.stderr || run.stdout || run.error?.message || '').slice(0, 500)}`);
  return { tps, latencyAverageMs: Number(/latency average = ([\d.]+) ms/.exec(run.stdout)?.[1] ?? NaN), processed };
}
