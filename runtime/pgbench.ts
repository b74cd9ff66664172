// pgbench, run and read one way for the benchmarks that set their figures against it.
import { spawnSync } from 'node:child_process';

export interface PgbenchRun {
  /** Transactions per second, without the connections' setup. */
  tps: number;
  latencyAverageMs: number;
  processed: number;
}

/** Runs `script` from `clients` connections for `seconds`, with `-D name=value` for each of `defines`. */
export function runPgbench(options: {
  databaseUrl: string;
  script: string;
  clients: number;
  seconds: number;
  defines?: Record<string, string | number>;
  /** How statements are sent (pgbench's -M): simple by default; extended as node-postgres sends them, which \startpipeline needs. */
  protocol?: 'simple' | 'extended' | 'prepared';
}): PgbenchRun {
  const defines = Object.entries(options.defines ?? {}).flatMap(([name, value]) => ['-D', `${name}=${value}`]);
  const threads = String(Math.min(2, options.clients));
  const protocol = ['-M', options.protocol ?? 'simple'];
  const args = [
    '-n',
    ...protocol,
    '-c',
    String(options.clients),
    '-j',
    threads,
    '-T',
    String(options.seconds),
    ...defines,
    '-f',
    options.script,
    options.databaseUrl,
  ];
  const run = spawnSync('pgbench', args, { encoding: 'utf8' });
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(run.stdout)?.[1] ?? Number.NaN);
  // A run too short for one transaction to finish (a smoke run on a loaded machine) prints no tps: that is 0, not a failure.
  const tps = processed === 0 ? 0 : Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout)?.[1] ?? Number.NaN);
  if (Number.isNaN(tps)) throw new Error(`pgbench did not report tps: ${(run.stderr || run.stdout || run.error?.message || '').slice(0, 500)}`);
  return { tps, latencyAverageMs: Number(/latency average = ([\d.]+) ms/.exec(run.stdout)?.[1] ?? Number.NaN), processed };
}
