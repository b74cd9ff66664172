// deploy/observability against the running app: the real prometheus binary with the shipped
// prometheus.yml and alerts.yml (durations shortened in a copy), scraping a bid-service and a
// bid-worker started like production, postgres_exporter with the shipped queries and
// redis_exporter. Every series the alert rules and the Grafana dashboard read exists, every
// dashboard query runs, and OutboxBacklog fires while RabbitMQ is cut (fault proxy) and
// resolves once it is back.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { AuctionService } from '../../runtime/gen/auction/api/v1/auction_pb.ts';
import { placeBidsOverHttp, postBid } from '../../testkit/http-load.ts';
import { openItems } from '../../testkit/scenario-data.ts';
import { startFaultProxy, type FaultProxy } from '../../testkit/fault-proxy.ts';
import { installed } from '../../testkit/binary-process.ts';
import { signIn, withBearer } from '../../testkit/sign-in.ts';
import { useTestEnv } from '../../testkit/harness.ts';
import {
  acceleratedRules,
  metricNames,
  OBSERVABILITY_BINARIES,
  observabilityDir,
  startPostgresExporter,
  startPrometheus,
  startRedisExporter,
  type Exporter,
  type Prometheus,
} from '../../testkit/prometheus.ts';
import { startServiceProcess, type ServiceProcess } from '../../testkit/service-process.ts';
import { withPgClient } from '../../runtime/pg-client.ts';

const missing = Object.entries(OBSERVABILITY_BINARIES).filter(([binary]) => !installed(binary));
const title = missing.length
  ? `SKIPPED: ${missing.map(([b]) => b).join(', ')} not installed. Install with apt-get install -y ${[...new Set(missing.map(([, p]) => p))].join(' ')} (.ci/run does), then run the infra check again`
  : 'deploy/observability against a running bid-service and bid-worker';

// RabbitMQ's Prometheus plugin (port 15692) is on in the compose image; a broker without it
// (this machine's, which the tests must not reconfigure) leaves its series out of the check.
const RABBITMQ_PLUGIN = '127.0.0.1:15692';

interface Dashboard {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
}

const rulesFile = await readFile(join(observabilityDir, 'alerts.yml'), 'utf8');
const ruleExprs = (parse(rulesFile) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) =>
  g.rules.map((r) => ({ name: `alert ${r.alert}`, expr: r.expr })),
);
const dashboard = JSON.parse(await readFile(join(observabilityDir, 'grafana', 'dashboards', 'auction.json'), 'utf8')) as Dashboard;
const panelExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ name: `panel "${p.title}"`, expr: t.expr })));
/** Grafana fills $__rate_interval in; a few scrape intervals is what it would pick here. */
const asGrafanaSends = (expr: string) => expr.replaceAll('$__rate_interval', '10s');

const env = useTestEnv();

describe.skipIf(missing.length > 0)(title, () => {
  let proxy: FaultProxy;
  let service: ServiceProcess;
  let worker: ServiceProcess;
  let postgresExporter: Exporter;
  let expandPhaseExporter: Exporter;
  let redisExporter: Exporter;
  let prometheus: Prometheus;
  let expandPhase: { url: string; drop: () => Promise<void> };
  let rabbitmqPlugin = false;

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: env.config.amqpUrl });
    const config = { ...env.config, amqpUrl: proxy.url(env.config.amqpUrl), outbox: { ...env.config.outbox, backoffMaxMs: 500 } };
    [service, worker] = await Promise.all([
      startServiceProcess({ tree: env.tree, entry: 'bid-service.ts', config, startTimeoutMs: 30_000 }),
      startServiceProcess({ tree: env.tree, entry: 'bid-worker.ts', config, startTimeoutMs: 30_000 }),
    ]);
    // The backfill's checkpoint exists between the expand and the contract migrations only.
    expandPhase = await env.databaseAt('1764000000007_index-bidder-request');
    await withPgClient(expandPhase.url, (client) =>
      client.query(`INSERT INTO backfill_checkpoints (name, last_id, rows_filled) VALUES ('bidder_id', '00000000-0000-0000-0000-000000000000', 0)`),
    );
    [postgresExporter, expandPhaseExporter, redisExporter] = await Promise.all([
      startPostgresExporter(env.config.databaseUrl),
      startPostgresExporter(expandPhase.url),
      startRedisExporter(env.config.redisUrl),
    ]);
    rabbitmqPlugin = await fetch(`http://${RABBITMQ_PLUGIN}/metrics`).then(
      (r) => r.ok,
      () => false,
    );
    prometheus = await startPrometheus({
      scrapeInterval: '1s',
      rules: acceleratedRules(rulesFile, { for: '2s', window: '10s' }),
      targets: {
        'bid-service': [new URL(service.url).host],
        'bid-worker': [new URL(worker.url).host],
        postgres: [postgresExporter.target, expandPhaseExporter.target],
        redis: [redisExporter.target],
        rabbitmq: [RABBITMQ_PLUGIN],
      },
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([prometheus?.stop(), postgresExporter?.stop(), expandPhaseExporter?.stop(), redisExporter?.stop(), service?.stop(), worker?.stop()]);
    await proxy?.close();
    await expandPhase?.drop();
  });

  it('scrapes every target, finds every series the rules and the dashboard read, and runs every panel query', async () => {
    const items = await openItems(env.config.databaseUrl, 2);
    const placed = await placeBidsOverHttp({ serviceUrl: () => service.url, items, count: 6 });
    expect(placed.failed, 'bids refused before the cut').toBe(0);
    // A bid below the highest: the refusals series exists once one is counted.
    expect((await postBid(service.url, items[0]!, { userId: crypto.randomUUID(), amountCents: '1' })).status).toBe(409);
    // auction_dependency_up is set by each readiness probe (kubelet's, compose's healthcheck): one here.
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    // And one over the Connect API, what the frontend calls: the RPC series the bid alerts read.
    const api = createClient(
      AuctionService,
      createConnectTransport({ baseUrl: `${service.apiUrl!}/api`, httpVersion: '2', interceptors: [withBearer((await signIn(env.config)).token)] }),
    );
    await api.placeBid({ itemId: items[1]!, amountCents: 1_000_000_000n, requestId: crypto.randomUUID() });

    const scraped = ['bid-service', 'bid-worker', 'postgres', 'redis', ...(rabbitmqPlugin ? ['rabbitmq'] : [])];
    await vi.waitFor(
      async () => {
        const up = await prometheus.query('up == 1');
        expect([...new Set(up.map((s) => s.metric.job))].sort()).toEqual(scraped.sort());
        expect(await prometheus.query('sum(auction_outbox_published_total) >= 6')).toHaveLength(1);
        expect(await prometheus.query('sum(auction_consumer_messages_total) > 0')).toHaveLength(1);
      },
      { timeout: 20_000, interval: 250 },
    );

    const absentHere = (name: string) => (name.startsWith('rabbitmq_') && !rabbitmqPlugin) || name === 'ALERTS';
    const names = [...new Set([...ruleExprs, ...panelExprs].flatMap((e) => metricNames(e.expr)))].filter((n) => !absentHere(n));
    await vi.waitFor(
      async () => {
        const missingSeries: string[] = [];
        for (const name of names) if ((await prometheus.query(`count({__name__="${name}"})`)).length === 0) missingSeries.push(name);
        expect(missingSeries, 'series the rules or the dashboard read that Prometheus does not have').toEqual([]);
      },
      { timeout: 10_000, interval: 250 },
    );

    for (const { name, expr } of panelExprs) {
      await expect(
        prometheus.query(asGrafanaSends(expr)).then(() => 'runs'),
        `${name}: ${expr}`,
      ).resolves.toBe('runs');
    }
  });

  it('fires OutboxBacklog while RabbitMQ is cut, and resolves it once the broker is back', async () => {
    const backlog = async () => (await prometheus.alerts()).filter((a) => a.labels.alertname === 'OutboxBacklog');
    expect(await backlog(), 'before the cut').toEqual([]);

    proxy.refuse(true);
    proxy.cutAll();
    const items = await openItems(env.config.databaseUrl, 1);
    const placed = await placeBidsOverHttp({ serviceUrl: () => service.url, items, count: 5 });
    expect(placed.failed, 'bids are accepted while the broker is away (they wait in the outbox)').toBe(0);

    await vi.waitFor(async () => expect((await backlog()).map((a) => a.state)).toEqual(['firing']), { timeout: 40_000, interval: 250 });
    // The relay's own gauge must see the backlog too: the dashboard draws it beside the table's.
    expect(
      Number((await prometheus.query('max(auction_outbox_pending{job="bid-worker"})'))[0]?.value[1]),
      "bid-worker's auction_outbox_pending while events wait",
    ).toBeGreaterThanOrEqual(5);

    proxy.refuse(false);
    await vi.waitFor(
      async () => {
        expect(await backlog(), 'OutboxBacklog after the broker came back').toEqual([]);
        expect(await prometheus.query('auction_outbox_table_pending > 0'), 'events still waiting after the broker came back').toEqual([]);
      },
      { timeout: 40_000, interval: 250 },
    );
  });
});
