// A rolling restart behind the ingress: each of two bid-services in turn gets SIGTERM, after
// its replacement (on the same port, the ingress's upstream list is fixed) is listening.
// Clients keep bidding and keep WatchItem streams open; a stream the draining service ends
// with `unavailable` reconnects and resumes from the current state. No bid call may fail after
// its retries, no stream may end any other way, and every watcher must end on the db's state.
import { openItems } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import { startIngress } from '#testkit/ingress.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { bidLoad, bidsVerdict, freePorts, ingressClient, itemStates, watch, type Watcher } from './lib/api-load.ts';

const CLIENTS = 8;
const ITEMS = 4;
const WATCHERS_PER_ITEM = 5;
// A pause after each replacement listens before the next service is stopped, so there is always
// a warm upstream. (The Caddyfile once had passive health checks that skipped a port for 2 s
// after a refused connection; it has none now, and the pause is kept as the rollout's own pace.)
const FAIL_DURATION_MS = 2_000;

export const scenario: ChaosScenario = {
  name: 'rolling-restart',
  milestone: 6,
  summary: `${CLIENTS} clients bid and ${ITEMS * WATCHERS_PER_ITEM} WatchItem streams watch ${ITEMS} items through the ingress while each of two bid-services is replaced in turn (SIGTERM, then a replacement on the same port, the next one once the ingress uses the replacement again). No call may fail after retries, no stream may end other than unavailable, every watcher must end on the database's state.`,
  async run(ctx) {
    const env = await ctx.instance();
    const config = { ...env.config, outbox: { ...env.config.outbox, pollMs: 100 } };
    const processes: ServiceProcess[] = [];
    const watchers: Watcher[] = [];
    const abort = env.own(new AbortController(), (a) => a.abort(), 'bidders');
    const ports = await freePorts(2);
    const startService = (port: number) => env.service('bid-service.ts', { config, extraEnv: { API_PORT: String(port) } });
    const started = await Promise.all([env.service('bid-worker.ts', { config }), ...ports.map(startService)]);
    processes.push(...started);
    const serving = started.slice(1);
    const ingress = env.own(await startIngress({ upstreams: ports.map((p) => `127.0.0.1:${p}`) }), (i) => i.stop(), 'ingress');
    const client = ingressClient(ingress);
    const items = await openItems(config.databaseUrl, ITEMS);
    for (const itemId of items)
      for (let i = 0; i < WATCHERS_PER_ITEM; i++)
        watchers.push(
          env.own(
            watch(() => client, itemId),
            (w) => w.stop(),
            'watcher',
          ),
        );
    const t0 = Date.now();
    const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    const load = bidLoad({ client: () => client, auth: config, items, clients: CLIENTS, signal: abort.signal, pauseMs: 20 });
    env.own(
      load,
      async (l) => {
        abort.abort();
        await l.catch(() => undefined);
      },
      'bid load',
    );
    await sleep(2_000);
    for (let i = 0; i < serving.length; i++) {
      const old = serving[i]!;
      // Old and new on the same port: the replacement can only bind once the old one let go of
      // it, so the new one starts right after the old one closed its listener (SIGTERM first,
      // GOAWAY to the ingress, in-flight calls finish; the ingress retries refused connections
      // on the other upstream for up to 5 s).
      const stopping = old.stop('SIGTERM', 10_000);
      ctx.say(`${at()}: SIGTERM bid-service on :${ports[i]}`);
      const ended = await stopping;
      const exitedAt = Date.now();
      ctx.say(`${at()}: it exited (${ended.signal ?? `code ${ended.code}`}); starting its replacement on :${ports[i]}`);
      processes.push(await startService(ports[i]!));
      ctx.say(`${at()}: replacement listening`);
      // The rollout's pace: the replacement gets traffic before the next one is stopped.
      await sleep(Math.max(2_000, exitedAt + FAIL_DURATION_MS + 1_000 - Date.now()));
    }
    abort.abort();
    const result = await load;
    ctx.say(
      `load over: ${result.sent} bids sent, ${result.accepted.length} accepted, ${result.refused} refused (too low), ${result.gaveUp.length} failed after retries; ${result.retries} resends (${
        Object.entries(result.retryCodes)
          .map(([c, n]) => `${c} ${n}`)
          .join(', ') || 'none'
      })`,
    );
    for (const reason of result.gaveUp.slice(0, 3)) ctx.say(`failed: ${reason}`);
    // The worker publishes the last bids' events; the watchers must catch up with the database.
    const deadline = Date.now() + 10_000;
    let expected = await itemStates(config.databaseUrl, items);
    const behind = () => watchers.filter((w) => w.last !== expected.get(w.itemId));
    while (behind().length > 0 && Date.now() < deadline) {
      await sleep(250);
      expected = await itemStates(config.databaseUrl, items);
    }
    const stale = behind();
    for (const w of stale.slice(0, 3)) ctx.say(`watcher of ${w.itemId} saw ${w.last}, the database says ${expected.get(w.itemId)} (version/bids/price)`);
    await Promise.all(watchers.map((w) => w.stop()));
    const badEnds = watchers.flatMap((w) => w.badEnds);
    for (const e of badEnds.slice(0, 3)) ctx.say(`stream ended: ${e}`);
    const why: Record<string, number> = {};
    for (const w of watchers) for (const [m, n] of Object.entries(w.unavailable)) why[m] = (why[m] ?? 0) + n;
    for (const [m, n] of Object.entries(why)) ctx.say(`streams ended unavailable ${n}×: ${m.slice(0, 160)}`);
    const by503 = new Map<number, number>();
    for (const w of watchers) for (const t of w.ingress503At) by503.set(Math.floor((t - t0) / 1000), (by503.get(Math.floor((t - t0) / 1000)) ?? 0) + 1);
    if (by503.size)
      ctx.say(
        `ingress 503s by second: ${[...by503]
          .sort((a, b) => a[0] - b[0])
          .map(([s, n]) => `${s}s:${n}`)
          .join(' ')}`,
      );
    const ingress503s = [...by503.values()].reduce((a, b) => a + b, 0);
    const reconnects = watchers.reduce((n, w) => n + w.reconnects, 0);
    const wentBack = watchers.reduce((n, w) => n + w.wentBack, 0);
    const db = await bidsVerdict(config.databaseUrl, result.accepted);
    return {
      ok:
        result.gaveUp.length === 0 &&
        badEnds.length === 0 &&
        stale.length === 0 &&
        wentBack === 0 &&
        db.lost === 0 &&
        db.duplicated === 0 &&
        result.accepted.length > 0,
      line: `bids answered ${result.accepted.length} · failed after retries ${result.gaveUp.length} · in db ${db.inDb} · lost ${db.lost} · duplicated ${db.duplicated} · streams reconnected ${reconnects} · ended otherwise ${badEnds.length} · ingress 503s ${ingress503s} · watchers on the db state ${watchers.length - stale.length} of ${watchers.length}`,
      facts: {
        answered: result.accepted.length,
        failedAfterRetries: result.gaveUp.length,
        retries: result.retries,
        inDb: db.inDb,
        lost: db.lost,
        duplicated: db.duplicated,
        reconnects,
        badEnds: badEnds.length,
        ingress503s,
        staleWatchers: stale.length,
        wentBack,
      },
    };
  },
};
