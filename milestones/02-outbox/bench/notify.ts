// npm run bench -- notify: what a NOTIFY inside a write transaction costs every writer of the
// server (milestone 2, question 11). pgbench runs one small write transaction from 8 and from 32
// connections, each on a row of its own most of the time, with the NOTIFY nowhere, inside the
// transaction, and after its COMMIT (where wakeRelay sends it, here once per transaction).
import { fileURLToPath } from 'node:url';
import { barsAgainstCeiling, fmt, type BenchContext } from '#runtime/bench-stats.ts';
import { createDb } from '#runtime/db.ts';
import { createLogger } from '#runtime/logger.ts';
import { runPgbench, type PgbenchRun } from '#runtime/pgbench.ts';

/** The sizes of a real run, and of a smoke run (`--smoke`: end to end in seconds, no verdicts). */
const SIZES = { full: { clients: [8, 32], seconds: 6 }, smoke: { clients: [2], seconds: 1 } };
const ROWS = 1_000;
const script = fileURLToPath(new URL('./notify.pgbench.sql', import.meta.url));

const PLACES = [
  { key: 'none', label: 'no NOTIFY', defines: { inside: 0, after: 0 } },
  { key: 'inside', label: 'NOTIFY inside the transaction', defines: { inside: 1, after: 0 } },
  { key: 'after', label: 'NOTIFY after its COMMIT', defines: { inside: 0, after: 1 } },
] as const;

export const benchmark = {
  name: 'notify',
  milestone: 2,
  summary: `One small write transaction from ${SIZES.full.clients.join(' and ')} connections, with its NOTIFY nowhere, inside the transaction, or after its COMMIT: transactions/s and latency.`,
  async run(ctx: BenchContext) {
    const size = SIZES[ctx.smoke ? 'smoke' : 'full'];
    const { database } = await ctx.instance({ logLevel: 'silent' });
    const db = createDb({ url: database.url, log: createLogger({ name: 'bench', level: 'silent' }), max: 1 });
    try {
      await db.query('CREATE TABLE bench_rows (id int PRIMARY KEY, v bigint NOT NULL DEFAULT 0)');
      await db.query('INSERT INTO bench_rows (id) SELECT generate_series(1, $1::int)', [ROWS]);
    } finally {
      await db.end();
    }
    const runs: Array<{ clients: number; place: (typeof PLACES)[number]; run: PgbenchRun }> = [];
    for (const clients of size.clients)
      for (const place of PLACES) {
        ctx.say(`pgbench, ${clients} clients, ${size.seconds} s: ${place.label}`);
        runs.push({ clients, place, run: runPgbench({ databaseUrl: database.url, script, clients, seconds: size.seconds, defines: place.defines }) });
      }
    const of = (clients: number, key: string) => runs.find((r) => r.clients === clients && r.place.key === key)!.run;
    const share = (clients: number, key: string) => of(clients, key).tps / of(clients, 'none').tps;
    // The claim the outbox's design rests on: a NOTIFY after the COMMIT costs the writers less than one inside.
    const ok = size.clients.every((clients) => of(clients, 'after').tps > of(clients, 'inside').tps);
    const cell = (clients: number, key: string) => {
      const r = of(clients, key);
      return `${fmt(r.tps)} tps · ${r.latencyAverageMs.toFixed(1)} ms${key === 'none' ? '' : ` (${Math.round(share(clients, key) * 100)}%)`}`;
    };
    return {
      ok,
      table: [
        `| clients | ${PLACES.map((p) => p.label).join(' | ')} |`,
        '|---|---|---|---|',
        ...size.clients.map((clients) => `| ${clients} | ${PLACES.map((p) => cell(clients, p.key)).join(' | ')} |`),
        '',
        `pgbench, ${size.seconds} s a run, one UPDATE of a random row of ${fmt(ROWS)} per transaction; the share is of the run with no NOTIFY. NOTIFY after the COMMIT above NOTIFY inside at every client count: ${ok ? 'yes' : 'no'}.`,
      ],
      report: barsAgainstCeiling(
        'One small write transaction: where its NOTIFY runs',
        'transactions/s',
        size.clients.flatMap((clients) =>
          PLACES.map((p) => ({
            label: `${clients} clients, ${p.label}`,
            value: of(clients, p.key).tps,
            kind: p.key === 'none' ? ('ceiling' as const) : ('measured' as const),
            ...(p.key === 'none' ? {} : { share: share(clients, p.key) }),
          })),
        ),
      ),
    };
  },
};
