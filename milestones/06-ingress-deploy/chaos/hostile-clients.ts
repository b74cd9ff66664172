// Clients nobody here wrote, sent straight to bid-service and through the ingress while real
// bids flow: HTTP/2 rapid reset, slow headers, 5,000 WatchItem streams on one connection,
// malformed URLs and oversized bodies. Nothing may crash, nothing may answer 5xx, no
// acknowledged bid may be lost, and the memory of both processes must stay bounded.
import { readFileSync } from 'node:fs';
import { openItems } from '#testkit/scenario-data.ts';
import { samplePeakRss, sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import { startIngress } from '#testkit/ingress.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { bidLoad, bidsVerdict, freePorts, ingressClient } from './lib/api-load.ts';
import {
  MALFORMED_PATHS,
  fivexx,
  malformedHttp2,
  oversizedHttp2,
  rapidReset,
  rawHttp1,
  slowHeaders,
  streamFlood,
  type StatusCounts,
  type StreamFlood,
} from './lib/hostile.ts';

const STREAMS_ON_ONE_CONNECTION = 5_000;
const RESETS = 3_000;
const SLOW_CONNECTIONS = 30;
/** Above the ingress's read_header timeout (10 s), so the ingress must cut the slow-headers connections. */
const SLOW_FOR_MS = 12_000;
const OVERSIZED = Buffer.alloc(2 * 1024 * 1024, 'a');
/** What the verdict accepts: the service holds at most API_MAX_WATCH_STREAMS streams; compose limits the ingress to 256 MB. */
const BOUND_MB = { service: 400, ingress: 256 };

export const scenario: ChaosScenario = {
  name: 'hostile-clients',
  milestone: 6,
  summary: `Rapid reset, slow headers, ${STREAMS_ON_ONE_CONNECTION.toLocaleString('en')} WatchItem streams on one connection, malformed URLs and oversized bodies, straight to bid-service and through the ingress, while real bids flow. No crash, no 5xx, no acknowledged bid lost, memory within ${BOUND_MB.service} MB (service) and ${BOUND_MB.ingress} MB (ingress).`,
  async run(ctx) {
    const env = await ctx.instance();
    const config = env.config;
    const processes: ServiceProcess[] = [];
    const stopBids = env.own(new AbortController(), (a) => a.abort(), 'bidders');
    const releaseStreams = env.own(new AbortController(), (a) => a.abort(), 'watch streams');
    let stopping = false;
    let crashes = 0;
    const [httpPort, apiPort] = await freePorts(2);
    const start = () => env.service('bid-service.ts', { config, extraEnv: { PORT: String(httpPort), API_PORT: String(apiPort) } });
    const service = await start();
    processes.push(service, await env.service('bid-worker.ts', { config }));
    // Its end when the kit stops it is no crash (released before the service stops).
    env.own(service, () => (stopping = true), 'crash watch');
    void service.exited.then((how) => {
      if (stopping) return;
      crashes++;
      const reason = service.otherOutput.find((l) => /Error/.test(l)) ?? `exit ${how.code ?? how.signal}`;
      ctx.say(`CRASH: bid-service exited (${reason.trim().slice(0, 160)})`);
    });
    const ingress = env.own(await startIngress({ upstreams: [`127.0.0.1:${apiPort}`] }), (i) => i.stop(), 'ingress');
    const ca = readFileSync(ingress.caCertPath);
    const direct = { authority: `http://127.0.0.1:${apiPort}` };
    const viaIngress = { authority: ingress.url, ca };
    const items = await openItems(config.databaseUrl, 8);
    const memory = env.own(samplePeakRss({ service: () => service.pid, ingress: () => ingress.pid }), (m) => m.stop(), 'memory sampler');

    const client = ingressClient(ingress);
    const bids = bidLoad({ client: () => client, auth: config, items, clients: 4, signal: stopBids.signal, pauseMs: 20 });
    env.own(
      bids,
      async (b) => {
        stopBids.abort();
        await b.catch(() => undefined);
      },
      'bid load',
    );
    ctx.say(`real bids flowing through the ingress; attacks start`);

    // Phase 1, all at once: rapid reset, slow headers, oversized bodies, 5,000 streams on one connection.
    const watchPath = '/api/auction.api.v1.AuctionService/WatchItem';
    const statuses: Record<string, StatusCounts> = {};
    const http1: StatusCounts = {};
    const floods: Record<string, StreamFlood> = {};
    const [resetDirect, resetIngress, slowDirect, slowIngress] = await Promise.all([
      rapidReset(direct, watchPath, RESETS),
      rapidReset(viaIngress, watchPath, RESETS),
      slowHeaders({ host: '127.0.0.1', port: httpPort!, n: SLOW_CONNECTIONS, everyMs: 500, forMs: SLOW_FOR_MS }),
      slowHeaders({ host: '127.0.0.1', port: ingress.port, ca, n: SLOW_CONNECTIONS, everyMs: 500, forMs: SLOW_FOR_MS }),
      (async () => {
        const big = await rawHttp1({ host: '127.0.0.1', port: httpPort!, method: 'POST', path: '/items', body: OVERSIZED });
        http1[String(big)] = (http1[String(big)] ?? 0) + 1;
        statuses.direct = await oversizedHttp2(direct, OVERSIZED);
        statuses.ingress = await oversizedHttp2(viaIngress, OVERSIZED);
      })(),
      (async () => {
        [floods.direct, floods.ingress] = await Promise.all([
          streamFlood(direct, items[0]!, STREAMS_ON_ONE_CONNECTION, releaseStreams.signal, 8_000),
          streamFlood(viaIngress, items[1]!, STREAMS_ON_ONE_CONNECTION, releaseStreams.signal, 8_000),
        ]);
      })(),
    ]);
    ctx.say(
      `rapid reset: ${resetDirect.streams} streams cancelled on ${resetDirect.connections} connection(s) straight, ${resetIngress.streams} on ${resetIngress.connections} through the ingress`,
    );
    ctx.say(
      `slow headers: ${slowDirect.cutByServer} of ${slowDirect.opened} cut by bid-service, ${slowIngress.cutByServer} of ${slowIngress.opened} by the ingress within ${SLOW_FOR_MS / 1000} s`,
    );
    ctx.say(
      `oversized bodies (2 MiB) answered: HTTP/1.1 ${describe(http1)} · API port ${describe(statuses.direct ?? {})} · ingress ${describe(statuses.ingress ?? {})}`,
    );

    for (const [where, f] of Object.entries(floods))
      ctx.say(
        `${STREAMS_ON_ONE_CONNECTION} WatchItem streams on one connection ${where}: open ${f.open} · refused ${describe(f.refused)} · not started (held back by the connection's stream limit) ${f.waiting}`,
      );
    releaseStreams.abort();

    // Phase 2, last because a URL decoder outside the error boundary kills the process: malformed URLs.
    const malformed: StatusCounts = {};
    for (const path of MALFORMED_PATHS) {
      for (const method of ['GET', 'POST']) {
        const status = await rawHttp1({ host: '127.0.0.1', port: httpPort!, method, path });
        malformed[String(status)] = (malformed[String(status)] ?? 0) + 1;
      }
    }
    statuses.http1 = { ...http1, ...Object.fromEntries(Object.entries(malformed).map(([k, n]) => [k, n + (http1[k] ?? 0)])) };
    const malformedDirect = await malformedHttp2(direct);
    const malformedIngress = await malformedHttp2(viaIngress);
    for (const [status, n] of Object.entries(malformedDirect)) statuses.direct![status] = (statuses.direct![status] ?? 0) + n;
    for (const [status, n] of Object.entries(malformedIngress)) statuses.ingress![status] = (statuses.ingress![status] ?? 0) + n;
    ctx.say(`malformed URLs answered: HTTP/1.1 ${describe(malformed)} · API port ${describe(malformedDirect)} · ingress ${describe(malformedIngress)}`);
    await sleep(1_000);

    stopBids.abort();
    const placed = await bids;
    const peak = await memory.stop();
    const verdict = await bidsVerdict(config.databaseUrl, placed.accepted);
    const bid5xx = (placed.retryCodes.Internal ?? 0) + (placed.retryCodes.Unknown ?? 0) + (placed.retryCodes.Unavailable ?? 0);
    const answered5xx = Object.values(statuses).reduce((n, s) => n + fivexx(s), 0) + bid5xx;
    // Lost: acknowledged, and not in the database. Unanswered: given up on after the resends
    // (the attack starved a real bidder); both fail the scenario, but they are not the same failure.
    const lost = verdict.lost;
    const unanswered = placed.gaveUp.length;
    // Why the ingress failed requests, once per distinct reason (Caddy logs one line per request).
    const reasons = new Map<string, number>();
    for (const line of ingress
      .logs()
      .split('\n')
      .filter((l) => /"level":"error"/.test(l))) {
      const { msg, error } = JSON.parse(line) as { msg?: string; error?: string };
      const key = `${msg}${error ? `: ${error.slice(0, 120)}` : ''}`;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    for (const [reason, n] of reasons) ctx.say(`ingress error ×${n}: ${reason}`);
    ctx.say(
      `real bids: ${placed.accepted.length} accepted, ${placed.refused} refused (too low), ${placed.gaveUp.length} unanswered, resent ${placed.retries} (${describe(placed.retryCodes)})`,
    );
    return {
      ok:
        crashes === 0 &&
        answered5xx === 0 &&
        lost === 0 &&
        unanswered === 0 &&
        placed.accepted.length > 0 &&
        peak.service! <= BOUND_MB.service &&
        peak.ingress! <= BOUND_MB.ingress,
      line: `crashes ${crashes} · 5xx ${answered5xx} · bids lost ${lost} · unanswered ${unanswered} · peak RSS service ${peak.service} MB · ingress ${peak.ingress} MB (bounds ${BOUND_MB.service} and ${BOUND_MB.ingress} MB) · bids accepted ${placed.accepted.length}`,
      facts: {
        crashes,
        fivexx: answered5xx,
        lost,
        unanswered,
        peakServiceMb: peak.service!,
        peakIngressMb: peak.ingress!,
        accepted: placed.accepted.length,
        openDirect: floods.direct?.open ?? 0,
        openIngress: floods.ingress?.open ?? 0,
      },
    };
  },
};

const describe = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, n]) => `${k}×${n}`)
    .join(' ') || 'none';
