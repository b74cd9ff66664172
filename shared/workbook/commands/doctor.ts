// npm run doctor — Node version, which infrastructure is in use, each service reachable,
// each fix spelled out.
import amqp from 'amqplib';
import pg from 'pg';
import { createClient } from 'redis';
import { composeDefaults, loadWorkbookSettings } from '../../config.ts';
import { endpoints, resolveInfra, tcpReachable, type Infra } from '../../test/infra.ts';
import { bold, green, red, say, yellow } from '../ui.ts';

interface ServiceReport {
  name: string;
  url: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');

export async function doctorCommand(options: { json: boolean }): Promise<number> {
  const settings = loadWorkbookSettings();
  const [major = 0, minor = 0] = settings.nodeVersion.split('.').map(Number);
  const nodeOk = major > 22 || (major === 22 && minor >= 22);
  let infra: Infra | undefined;
  try {
    // Never starts containers: the doctor only looks.
    infra = await resolveInfra(settings, { allowContainers: false });
  } catch {
    infra = undefined;
  }
  const urls = infra ?? { ...composeDefaults, ...Object.fromEntries(Object.entries(settings.explicitUrls).filter(([, v]) => v)) };
  const services = await Promise.all(endpoints(urls).map(async (e): Promise<ServiceReport> => {
    const started = performance.now();
    try {
      if (!(await tcpReachable(e.host, e.port, 1_000))) throw new Error(`nothing answers on ${e.host}:${e.port}`);
      const version = await serviceVersion(e.name, e.url);
      return { name: e.name, url: redact(e.url), ok: true, detail: `${version}, answered in ${Math.round(performance.now() - started)} ms` };
    } catch (err) {
      return { name: e.name, url: redact(e.url), ok: false, detail: (err as Error).message, fix: e.startHint };
    }
  }));
  const ok = nodeOk && services.every((s) => s.ok);
  if (options.json) {
    say(JSON.stringify({ ok, node: { version: settings.nodeVersion, ok: nodeOk }, infrastructure: infra?.source ?? 'none', images: settings.images, services }));
    return ok ? 0 : 1;
  }
  say(bold('Workbook doctor'));
  say(`${nodeOk ? green('✓') : red('✗')} Node ${settings.nodeVersion}${nodeOk ? '' : ` — the workbook needs Node 22.22 or newer (24 LTS recommended). Fix: \`nvm install\` (reads .nvmrc), or install Node 24 from nodejs.org.`}`);
  const source = infra?.source === 'env' ? 'the URLs in DATABASE_URL / AMQP_URL / REDIS_URL'
    : infra?.source === 'local' ? 'services already running on the docker-compose ports of 127.0.0.1 (docker compose, or local installs)'
    : infra?.source === 'testcontainers' ? `Testcontainers (${settings.dockerHost ?? 'default Docker socket'}), images ${Object.values(settings.images).join(', ')}`
    : 'none found';
  say(`${infra ? green('✓') : red('✗')} Infrastructure: ${source}`);
  for (const s of services) {
    say(`${s.ok ? green('✓') : red('✗')} ${s.name} at ${s.url}: ${s.detail}`);
    if (s.fix) say(`    Fix: ${s.fix}`);
  }
  if (!infra) {
    const { dockerReachable } = await import('../../test/containers.ts');
    say(await dockerReachable()
      ? `${yellow('!')} A Docker engine answers: tests will start ${Object.values(settings.images).join(', ')} with Testcontainers.`
      : `${red('✗')} No Docker engine answers either, so Testcontainers cannot stand in.`);
  }
  say(ok ? green('\nAll good. Next: npm run milestone:1') : yellow('\nFix the lines marked ✗, then run `npm run doctor` again.'));
  return ok ? 0 : 1;
}

async function serviceVersion(name: string, url: string): Promise<string> {
  if (name === 'PostgreSQL') {
    const u = new URL(url);
    u.pathname = '/postgres';
    const client = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 2_000 });
    await client.connect();
    try {
      return `PostgreSQL ${(await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v}`;
    } finally {
      await client.end();
    }
  }
  if (name === 'RabbitMQ') {
    const conn = await amqp.connect(url, { timeout: 2_000 });
    try {
      return `RabbitMQ ${String(conn.connection.serverProperties.version)}`;
    } finally {
      await conn.close();
    }
  }
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 2_000 } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const info = await client.info('server');
    return `Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'}`;
  } finally {
    await client.quit();
  }
}
