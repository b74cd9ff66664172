// The observability stack of deploy/observability as real binaries for a test: prometheus with
// the shipped prometheus.yml and alerts.yml, its targets pointed at processes the test started
// and its clock shortened; postgres_exporter with the shipped queries; redis_exporter.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../workbook/trees.ts';
import { freePort, startBinary, type BinaryProcess } from './binary-process.ts';

export const observabilityDir = join(repoRoot, 'deploy', 'observability');

/** The Debian packages that provide each binary (.ci/run installs them). */
export const OBSERVABILITY_BINARIES = {
  prometheus: 'prometheus',
  promtool: 'prometheus',
  'prometheus-postgres-exporter': 'prometheus-postgres-exporter',
  'prometheus-redis-exporter': 'prometheus-redis-exporter',
} as const;

/**
 * alerts.yml with every `for:` and every range window shortened, so an alert that waits
 * minutes in production fires within seconds in a test. Only a copy: the shipped file keeps
 * its real durations.
 */
export function acceleratedRules(rules: string, options: { for: string; window: string }): string {
  return rules.replace(/^(\s*for:\s*)\d+[smh]\s*$/gm, `$1${options.for}`).replace(/\[\d+[smh]\]/g, `[${options.window}]`);
}

export interface Prometheus extends BinaryProcess {
  readonly url: string;
  /** An instant query; throws with Prometheus's own error when it refuses the expression. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  alerts(): Promise<Array<{ labels: Record<string, string>; state: 'pending' | 'firing' }>>;
}

export async function startPrometheus(options: { targets: Record<string, string[]>; scrapeInterval: string; rules: string }): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'wb-prometheus-'));
  const config = parse(await readFile(join(observabilityDir, 'prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  };
  const jobs = config.scrape_configs.map((c) => c.job_name);
  const unknown = Object.keys(options.targets).filter((job) => !jobs.includes(job));
  if (unknown.length) throw new Error(`startPrometheus: deploy/observability/prometheus.yml has no job ${unknown.join(', ')} (it has ${jobs.join(', ')})`);
  config.global = { ...config.global, scrape_interval: options.scrapeInterval, evaluation_interval: options.scrapeInterval };
  config.scrape_configs = config.scrape_configs
    .filter((c) => c.job_name in options.targets)
    .map((c) => ({ ...c, static_configs: [{ targets: options.targets[c.job_name]! }] }));
  await writeFile(join(dir, 'alerts.yml'), options.rules);
  await writeFile(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = await startBinary({
    command: 'prometheus',
    args: [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    ready: async () => (await fetch(`${url}/-/ready`)).ok,
    removeOnStop: dir,
  });
  const api = async <T>(path: string): Promise<T> => {
    const body = (await (await fetch(`${url}${path}`)).json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${decodeURIComponent(path)}: ${body.error}`);
    return body.data;
  };
  return {
    ...proc,
    url,
    query: async (expr) =>
      (await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    alerts: async () => (await api<{ alerts: Array<{ labels: Record<string, string>; state: 'pending' | 'firing' }> }>('/api/v1/alerts')).alerts,
  };
}

export interface Exporter extends BinaryProcess {
  /** host:port to scrape. */
  readonly target: string;
}

async function startExporter(command: string, args: (listen: string) => string[], env: Record<string, string> = {}): Promise<Exporter> {
  const port = await freePort();
  const target = `127.0.0.1:${port}`;
  const proc = await startBinary({ command, args: args(target), env, ready: async () => (await fetch(`http://${target}/metrics`)).ok });
  return { ...proc, target };
}

/**
 * postgres_exporter on one database, with deploy/observability's queries. (One per database:
 * given two of the same server, it reports the server's own series twice and answers 500.)
 */
export function startPostgresExporter(databaseUrl: string): Promise<Exporter> {
  const dsn = `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}sslmode=disable`;
  return startExporter(
    'prometheus-postgres-exporter',
    (listen) => [`--web.listen-address=${listen}`, `--extend.query-path=${join(observabilityDir, 'postgres-exporter-queries.yaml')}`],
    { DATA_SOURCE_NAME: dsn },
  );
}

export function startRedisExporter(redisUrl: string): Promise<Exporter> {
  return startExporter('prometheus-redis-exporter', (listen) => [`-web.listen-address=${listen}`, `-redis.addr=${redisUrl}`]);
}

/** The metric names a PromQL expression reads (the workbook's, its exporters', and Prometheus's own up and ALERTS). */
export function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(withoutStrings.match(/\b(?:auction_\w+|pg_\w+|redis_\w+|rabbitmq_\w+|process_\w+|nodejs_\w+|up|ALERTS)\b/g) ?? [])];
}
