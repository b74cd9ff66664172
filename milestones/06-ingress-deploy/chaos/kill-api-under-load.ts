// kill -9 on one of two bid-services behind the ingress while clients bid through it. Calls in
// flight on the killed process are lost mid-answer; each client sends the same request (same
// request id) again until it is answered, and the ingress sends it to the survivor. No bid may
// be placed twice, and no answered bid may be missing from the database.
import { openItems } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import { startIngress } from '#testkit/ingress.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { bidLoad, bidsVerdict, freePorts, ingressClient } from './lib/api-load.ts';

const CLIENTS = 16;
const ITEMS = 5;
const KILL_AFTER_MS = 3_000;
const RUN_MS = 9_000;

export const scenario: ChaosScenario = {
  name: 'kill-api-under-load',
  milestone: 6,
  summary: `${CLIENTS} clients bid over HTTP/2 through the ingress on ${ITEMS} items, retrying each bid with its request id until answered; one of the two bid-services is killed with SIGKILL mid-run and a replacement started on its port. Nothing may be placed twice or lost.`,
  async run(ctx) {
    const env = await ctx.instance();
    const config = env.config;
    const processes: ServiceProcess[] = [];
    const abort = env.own(new AbortController(), (a) => a.abort(), 'bidders');
    const ports = await freePorts(2);
    const startService = (port: number) => env.service('bid-service.ts', { config, extraEnv: { API_PORT: String(port) } });
    const started = await Promise.all([env.service('bid-worker.ts', { config }), ...ports.map(startService)]);
    processes.push(...started);
    const [, victim] = started;
    const ingress = env.own(await startIngress({ upstreams: ports.map((p) => `127.0.0.1:${p}`) }), (i) => i.stop(), 'ingress');
    const client = ingressClient(ingress);
    const items = await openItems(config.databaseUrl, ITEMS);
    const t0 = Date.now();
    const load = bidLoad({ client: () => client, auth: config, items, clients: CLIENTS, signal: abort.signal });
    // Released before the ingress: the bids stop first, as a rollout's clients would.
    env.own(
      load,
      async (l) => {
        abort.abort();
        await l.catch(() => undefined);
      },
      'bid load',
    );
    await sleep(KILL_AFTER_MS);
    const before = victim!.events('rpc').length;
    await victim!.stop('SIGKILL');
    ctx.say(
      `kill -9 bid-service on :${ports[0]} at ${((Date.now() - t0) / 1000).toFixed(1)} s, after it answered ${before} calls; starting a replacement on the same port`,
    );
    processes.push(await startService(ports[0]!));
    ctx.say(`replacement listening at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await sleep(Math.max(0, RUN_MS - (Date.now() - t0)));
    abort.abort();
    const result = await load;
    ctx.say(
      `load over: ${result.sent} bids sent, ${result.accepted.length} accepted, ${result.refused} refused (too low), ${result.gaveUp.length} unanswered; ${result.retries} resends (${
        Object.entries(result.retryCodes)
          .map(([c, n]) => `${c} ${n}`)
          .join(', ') || 'none'
      })`,
    );
    for (const reason of result.gaveUp.slice(0, 3)) ctx.say(`unanswered: ${reason}`);
    const db = await bidsVerdict(config.databaseUrl, result.accepted);
    return {
      ok: db.duplicated === 0 && db.lost === 0 && result.gaveUp.length === 0 && result.accepted.length > 0,
      line: `bids answered ${result.accepted.length} · in db ${db.inDb} · duplicated ${db.duplicated} · lost ${db.lost} · resent ${result.retries} (answered after a resend ${result.acceptedAfterResend}) · unanswered ${result.gaveUp.length}`,
      facts: {
        sent: result.sent,
        answered: result.accepted.length,
        refused: result.refused,
        inDb: db.inDb,
        duplicated: db.duplicated,
        lost: db.lost,
        retries: result.retries,
        acceptedAfterResend: result.acceptedAfterResend,
        unanswered: result.gaveUp.length,
      },
    };
  },
};
