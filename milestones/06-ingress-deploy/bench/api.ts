import { availableParallelism, loadavg } from 'node:os';
import { randomUUID } from 'node:crypto';
import { ConnectError } from '@connectrpc/connect';
import { barsAgainstCeiling, fmt, percentile, type BenchContext } from '#runtime/bench-stats.ts';
import { bidderColumn } from '#testkit/bidder-column.ts';
import { createDb } from '#runtime/db.ts';
import { createLogger } from '#runtime/logger.ts';
import { openItems } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import { startIngress, type Ingress } from '#testkit/ingress.ts';
import { signIn } from '#testkit/sign-in.ts';
import { startServiceProcess, type ServiceProcess } from '#testkit/service-process.ts';
import { directClient, ingressClient, type AuctionClient } from '../chaos/lib/api-load.ts';
import { runPlaceBidPgbench } from '../../03-row-locking/lib/place-bid-pgbench.ts';

/** The sizes of a real run, and of a smoke run (`--smoke`: end to end in seconds, no verdicts). */
const SIZES = {
  full: { items: 200, clients: 32, seconds: 8, streams: 100, fanoutBids: 20 },
  smoke: { items: 20, clients: 4, seconds: 1, streams: 5, fanoutBids: 3 },
};
type Size = (typeof SIZES)['full'];
const TARGET = { databaseShare: 0.5, ingressShare: 0.5, fanoutP99Ms: 250 };

/**
 * pgbench running PlaceBid's transaction (lock the item, check, write the bid and its outbox
 * row; the relay's wake-up comes after it) on `items` from `clients` connections: transactions
 * per second, accepted and refused alike, as calls/s counts answers. Its amounts come from a sequence of its own; the
 * highest it reached is returned, so that the API's amounts start above it.
 */
async function pgbenchCeiling(databaseUrl: string, items: string[], clients: number, seconds: number): Promise<{ tps: number; highest: bigint }> {
  const db = createDb({ url: databaseUrl, log: createLogger({ name: 'bench', level: 'silent' }), max: 1 });
  try {
    await db.query('CREATE TABLE bench_items (n int PRIMARY KEY, id uuid NOT NULL)');
    await db.query('INSERT INTO bench_items SELECT g, ($1::uuid[])[g] FROM generate_series(1, $2::int) AS g', [items, items.length]);
    await db.query('CREATE SEQUENCE bench_amounts START 1');
    // The bidder column of this tree's schema: user_id (uuid) before milestone 5's contract, bidder_id (text) after.
    const bidder = await bidderColumn(db);
    const { tps } = runPlaceBidPgbench({ databaseUrl, clients, seconds, items: items.length, bidder });
    const { rows } = await db.query<{ highest: bigint | null }>('SELECT max(highest_bid_cents) AS highest FROM items WHERE id = ANY($1::uuid[])', [items]);
    await db.query('DROP TABLE bench_items; DROP SEQUENCE bench_amounts');
    return { tps, highest: rows[0]!.highest ?? 0n };
  } finally {
    await db.end();
  }
}

/** PlaceBid from `size.clients` loops for `size.seconds`, on random items of `items`, amounts from one rising counter (so nearly every bid is accepted). */
async function unaryLoad(size: Size, client: AuctionClient, items: string[], nextAmount: () => bigint) {
  const latencies: number[] = [];
  let accepted = 0;
  let refused = 0;
  let failed = 0;
  const errors = new Map<string, number>();
  const deadline = performance.now() + size.seconds * 1000;
  await Promise.all(
    Array.from({ length: size.clients }, async () => {
      while (performance.now() < deadline) {
        const itemId = items[Math.floor(Math.random() * items.length)]!;
        const started = performance.now();
        try {
          await client.placeBid({ itemId, amountCents: nextAmount(), requestId: randomUUID() }, { timeoutMs: 5_000 });
          accepted++;
        } catch (err) {
          const ce = ConnectError.from(err);
          // Too low (a faster bid on the same item took a higher amount) is an answer too.
          if (ce.code === 9 /* failed precondition */) refused++;
          else {
            failed++;
            errors.set(ce.rawMessage, (errors.get(ce.rawMessage) ?? 0) + 1);
          }
        }
        latencies.push(performance.now() - started);
      }
    }),
  );
  return { perSecond: (accepted + refused) / size.seconds, accepted, refused, failed, errors, sorted: latencies.sort((a, b) => a - b) };
}

export const benchmark = {
  name: 'api',
  milestone: 6,
  summary: `PlaceBid calls/s and latency over ${SIZES.full.items} items, ${SIZES.full.clients} clients, through the ingress next to direct h2c; then WatchItem fan-out, ${SIZES.full.streams} streams on one item, commit-to-delivery latency of ${SIZES.full.fanoutBids} bids.`,
  async run(ctx: BenchContext) {
    const size = SIZES[ctx.smoke ? 'smoke' : 'full'];
    const env = await ctx.instance();
    const config = {
      ...env.config,
      healthTimeoutMs: 2_000,
      bidding: { ...env.config.bidding, minIncrementCents: 1n },
      outbox: { ...env.config.outbox, pollMs: 50 },
    };
    const processes: ServiceProcess[] = [];
    let ingress: Ingress | undefined;
    try {
      const [worker, service] = await Promise.all([
        startServiceProcess({ tree: ctx.tree, entry: 'bid-worker.ts', config }),
        startServiceProcess({ tree: ctx.tree, entry: 'bid-service.ts', config }),
      ]);
      processes.push(worker!, service!);
      if (!service!.apiUrl) throw new Error('bid-service did not log its apiPort: it starts the API server in bid-service.ts');
      ingress = await startIngress({ upstreams: [new URL(service!.apiUrl).host] });
      // One signed-in bidder on both paths: each call's token is verified, as in production.
      const { token } = await signIn(config);
      const viaIngress = ingressClient(ingress, token);
      const direct = directClient(service!.apiUrl, token);
      const items = await openItems(config.databaseUrl, size.items);
      ctx.say(`pgbench, PlaceBid's transaction in SQL: ${size.clients} clients, ${size.items} items, ${size.seconds} s`);
      const database = await pgbenchCeiling(config.databaseUrl, items, size.clients, size.seconds);
      let amount = database.highest + 1_000n;
      const nextAmount = () => (amount += 1n);
      // Warm both paths (connections, TLS, JIT) before measuring.
      for (const c of [direct, viaIngress]) await Promise.all(items.slice(0, size.clients).map((itemId) => c.placeBid({ itemId, amountCents: nextAmount() })));
      // Direct, ingress, direct again: the ceiling is the better direct run, so that the order of
      // the runs (a warmer database, JIT) cannot put the ingress above it.
      ctx.say(`direct h2c to bid-service: ${size.clients} clients, ${size.items} items, ${size.seconds} s`);
      const d1 = await unaryLoad(size, direct, items, nextAmount);
      ctx.say(`through the ingress (TLS, HTTP/2): ${size.clients} clients, ${size.items} items, ${size.seconds} s`);
      const i = await unaryLoad(size, viaIngress, items, nextAmount);
      ctx.say(`direct h2c again: ${size.clients} clients, ${size.items} items, ${size.seconds} s`);
      const d2 = await unaryLoad(size, direct, items, nextAmount);
      const d = d1.perSecond >= d2.perSecond ? d1 : d2;
      ctx.say(`direct runs: ${fmt(d1.perSecond)} and ${fmt(d2.perSecond)} calls/s; the ceiling is the better one`);
      for (const [path, r] of [
        ['direct', d1],
        ['ingress', i],
        ['direct again', d2],
      ] as const)
        for (const [m, n] of [...r.errors].slice(0, 2)) ctx.say(`${path}: ${n} calls failed: ${m.slice(0, 160)}`);

      // Fan-out: every stream must first have the item's current state, then 20 bids one after another.
      ctx.say(`fan-out: ${size.streams} WatchItem streams through the ingress on one item, ${size.fanoutBids} bids`);
      const [hot] = await openItems(config.databaseUrl, 1);
      const received = Array.from({ length: size.streams }, () => new Map<bigint, number>());
      const abort = new AbortController();
      const streams = received.map(async (got) => {
        try {
          for await (const { live } of viaIngress.watchItem({ itemId: hot! }, { signal: abort.signal })) got.set(live!.version, performance.now());
        } catch {
          // aborted at the end
        }
      });
      const waitAll = async (version: bigint, timeoutMs: number) => {
        const until = performance.now() + timeoutMs;
        while (received.some((g) => !g.has(version)) && performance.now() < until) await sleep(2);
      };
      await waitAll(0n, 15_000);
      const opened = received.filter((g) => g.has(0n)).length;
      const fanout: number[] = [];
      let missing = 0;
      for (let b = 0; b < size.fanoutBids; b++) {
        const { bid } = await viaIngress.placeBid({ itemId: hot!, amountCents: 1_000n + BigInt(b) * 100n });
        const committedAt = performance.now();
        await waitAll(bid!.sequence, 5_000);
        for (const got of received) {
          const at = got.get(bid!.sequence);
          if (at === undefined) missing++;
          else fanout.push(Math.max(0, at - committedAt));
        }
        await sleep(20);
      }
      abort.abort();
      await Promise.all(streams);
      fanout.sort((a, b) => a - b);

      const share = i.perSecond / d.perSecond;
      const ofDatabase = d.perSecond / database.tps;
      const fanoutP99 = percentile(fanout, 99);
      const targets = [
        [`direct ≥ ${TARGET.databaseShare * 100}% of pgbench's tps`, ofDatabase >= TARGET.databaseShare, `${(ofDatabase * 100).toFixed(0)}%`],
        [`ingress ≥ ${TARGET.ingressShare * 100}% of direct calls/s`, share >= TARGET.ingressShare, `${(share * 100).toFixed(0)}%`],
        [
          `fan-out p99 < ${TARGET.fanoutP99Ms} ms at ${size.streams} streams`,
          missing === 0 && opened === size.streams && fanoutP99 < TARGET.fanoutP99Ms,
          `${fanoutP99.toFixed(1)} ms${missing ? `, ${fmt(missing)} deliveries missing` : ''}`,
        ],
      ] as const;
      const ms = (sorted: number[]) => `p50 ${percentile(sorted, 50).toFixed(1)} ms · p99 ${percentile(sorted, 99).toFixed(1)} ms`;
      return {
        ok: targets.every(([, met]) => met) && d.failed === 0 && i.failed === 0,
        table: [
          '| measure | path | calls/s | accepted · too low · failed | latency | vs direct | vs pgbench |',
          '|---|---|---|---|---|---|---|',
          `| PlaceBid's transaction, ${size.items} items, ${size.clients} clients, ${size.seconds} s | pgbench, the transaction in SQL (the database's ceiling) | ${fmt(database.tps)} tps | – | – | – | 100% |`,
          `| PlaceBid, ${size.items} items, ${size.clients} clients, ${size.seconds} s | direct h2c to bid-service (ceiling: the better of two runs) | ${fmt(d.perSecond)} | ${fmt(d.accepted)} · ${fmt(d.refused)} · ${fmt(d.failed)} | ${ms(d.sorted)} | 100% | ${(ofDatabase * 100).toFixed(0)}% |`,
          `| PlaceBid, ${size.items} items, ${size.clients} clients, ${size.seconds} s | ingress (TLS + HTTP/2, then h2c) | ${fmt(i.perSecond)} | ${fmt(i.accepted)} · ${fmt(i.refused)} · ${fmt(i.failed)} | ${ms(i.sorted)} | ${(share * 100).toFixed(0)}% | ${((i.perSecond / database.tps) * 100).toFixed(0)}% |`,
          `| WatchItem fan-out, ${opened} of ${size.streams} streams on one item, ${size.fanoutBids} bids | ingress, commit (PlaceBid answer) → each stream | ${fmt(fanout.length)} deliveries | ${fmt(missing)} missing | ${ms(fanout)} | – | – |`,
          '',
          `One bid-service, one bid-worker, Caddy and this client on the same machine. Load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs when it ended.`,
          `Targets: ${targets.map(([what, met, value]) => `${what}: ${value} ${met ? '✓' : '✗'}`).join(' · ')}`,
        ],
        // Bars against the ceiling: pgbench, then each HTTP path, in calls (transactions) per second.
        report: barsAgainstCeiling(
          `PlaceBid, ${size.items} items, ${size.clients} clients: calls/s against pgbench on the same transaction`,
          'calls (transactions) per second',
          [
            { label: 'pgbench (database ceiling)', value: Math.round(database.tps), kind: 'ceiling', share: 1 },
            { label: 'direct h2c', value: Math.round(d.perSecond), kind: 'measured', share: ofDatabase },
            { label: 'through the ingress', value: Math.round(i.perSecond), kind: 'measured', share: i.perSecond / database.tps },
          ],
        ),
      };
    } finally {
      await ingress?.stop();
      await Promise.all(processes.map((p) => p.stop('SIGTERM', 5_000)));
    }
  },
};
