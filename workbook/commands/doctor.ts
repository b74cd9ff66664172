// npm run doctor — Node version, which infrastructure is in use, each service reachable,
// the container engine and its images, each fix spelled out.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import amqp from 'amqplib';
import { createClient } from '@redis/client';
import { composeDefaults, loadWorkbookSettings, manualNodeRoute, MINIMUM_NODE, nodeIsSupported, type WorkbookSettings } from '../../runtime/config.ts';
import { endpoints, resolveInfra, tcpReachable, type Infra } from '../../testkit/infra.ts';
import { bold, dim, green, red, say, yellow } from '../ui.ts';
import { withPgClient } from '../../runtime/pg-client.ts';
import { coerceError } from '../../runtime/coerce-error.ts';

interface ServiceReport {
  name: string;
  url: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

interface EngineReport {
  /** "Podman 4.3.1", "Docker Engine - Community 28.2.2", … when one answers. */
  label?: string;
  endpoint?: string;
  /** Why none can be used, with the fix (ContainersUnavailable's message). */
  problem?: string;
  images: Array<{ service: string; image: string; present?: boolean }>;
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');

/** The engine Testcontainers would use and which of the configured images it has. Never starts anything. */
async function engineReport(settings: WorkbookSettings): Promise<EngineReport> {
  const { findEngine, imagesPresent } = await import('../../testkit/containers.ts');
  try {
    const { engine, client } = await findEngine(settings);
    return { label: engine.label, endpoint: engine.endpoint, images: await imagesPresent(client, settings) };
  } catch (err) {
    return { problem: coerceError(err).message, images: Object.entries(settings.images).map(([service, image]) => ({ service, image })) };
  }
}

export async function doctorCommand(options: { json: boolean }): Promise<number> {
  const settings = loadWorkbookSettings();
  const forced = settings.infra === 'testcontainers';
  const nodeOk = nodeIsSupported(settings.nodeVersion);
  let infra: Infra | undefined;
  let infraProblem: string | undefined;
  try {
    // Never starts containers: the doctor only looks (with WORKBOOK_INFRA=testcontainers, at
    // the containers already running).
    infra = await resolveInfra(settings, { allowContainers: false });
  } catch (err) {
    infra = undefined;
    infraProblem = coerceError(err).message;
  }
  const engine = await engineReport(settings);
  const imagesOk = engine.images.every((i) => i.present !== false);
  // Forced to containers and none running: the services on the compose ports are not the
  // ones a run would use, so they are not checked.
  const urls = infra ?? (forced ? undefined : { ...composeDefaults, ...Object.fromEntries(Object.entries(settings.explicitUrls).filter(([, v]) => v)) });
  const services = urls
    ? await Promise.all(
        endpoints(urls).map(async (e): Promise<ServiceReport> => {
          const started = performance.now();
          try {
            if (!(await tcpReachable(e.host, e.port, 1_000))) throw new Error(`nothing answers on ${e.host}:${e.port}`);
            const version = await serviceVersion(e.name, e.url);
            return { name: e.name, url: redact(e.url), ok: true, detail: `${version}, answered in ${Math.round(performance.now() - started)} ms` };
          } catch (err) {
            return { name: e.name, url: redact(e.url), ok: false, detail: coerceError(err).message, fix: e.startHint };
          }
        }),
      )
    : [];
  const ok = nodeOk && (forced ? Boolean(engine.label) && imagesOk && services.every((s) => s.ok) : services.every((s) => s.ok));
  if (options.json) {
    say(
      JSON.stringify({
        ok,
        node: { version: settings.nodeVersion, ok: nodeOk },
        infrastructure: infra?.source ?? 'none',
        forced,
        images: settings.images,
        engine,
        services,
      }),
    );
    return ok ? 0 : 1;
  }
  say(bold('Workbook doctor'));
  const fetched =
    nodeOk && process.execPath.includes(join('.workbook', 'node'))
      ? " (fetched by the workbook from the npm registry into .workbook/node, because the machine's Node is older)"
      : '';
  say(
    `${nodeOk ? green('✓') : red('✗')} Node ${settings.nodeVersion}${fetched}${nodeOk ? '' : ` — the workbook needs Node ${MINIMUM_NODE} or newer (24 LTS recommended). Fix: run it as \`npm run doctor\`: every npm script fetches Node 24 from the npm registry by itself.`}`,
  );
  // The workbook's commands run on the fetched Node; the learner's shell and editor do not.
  // The same registry package, installed by hand, puts it there too (no nvm, no nodejs.org).
  const route = manualNodeRoute(process.platform, process.arch);
  if ((fetched || !nodeOk) && route) {
    say(
      dim(
        `  ${nodeOk ? 'Your shell and editor still run the older Node. To have' : 'Or put'} Node 24 on PATH ${nodeOk ? 'there too' : 'yourself'}, from the same registry:\n    ${route[0]}\n    ${route[1]}   (add this line to ~/.bashrc or ~/.zshrc to keep it)`,
      ),
    );
  }
  const engineName = engine.label ? `${engine.label} (${engine.endpoint})` : 'no container engine';
  if (forced) {
    say(`${engine.label ? green('✓') : red('✗')} Infrastructure: Testcontainers only (WORKBOOK_INFRA=testcontainers), on ${engineName}`);
  } else {
    const source =
      infra?.source === 'env'
        ? 'the URLs in DATABASE_URL / AMQP_URL / REDIS_URL'
        : infra?.source === 'local'
          ? 'services already running on the docker-compose ports of 127.0.0.1 (docker compose, or local installs)'
          : 'none found';
    say(`${infra ? green('✓') : red('✗')} Infrastructure: ${source}`);
  }
  // With containers forced, the engine is the infrastructure: it comes before the services.
  if (forced) reportEngine(engine, { forced, inUse: true });
  for (const s of services) {
    say(`${s.ok ? green('✓') : red('✗')} ${s.name} at ${s.url}: ${s.detail}`);
    if (s.fix && !forced) say(`    Fix: ${s.fix}`);
  }
  if (forced && !infra && engine.label && infraProblem) say(`${dim('·')} ${infraProblem.replace(/\nFix: /, ' Next: ')}`);
  if (!forced) reportEngine(engine, { forced, inUse: !infra });
  // Not needed before milestone 6, so it never makes the doctor fail.
  const caddy = await caddyVersion();
  say(
    caddy
      ? `${green('✓')} caddy ${caddy} (the ingress the milestone-6 tests run)`
      : `${yellow('·')} caddy not found: milestone 6 runs the real ingress. Fix: apt-get install caddy (Debian, Ubuntu) or brew install caddy (macOS)`,
  );
  say(
    ok
      ? green(`\nAll good. Next: ${forced ? 'npm run test:containers' : 'npm run milestone:1'}`)
      : yellow('\nFix the lines marked ✗, then run `npm run doctor` again.'),
  );
  return ok ? 0 : 1;
}

/** "v2.6.2", or undefined when no caddy is on PATH. */
function caddyVersion(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('caddy', ['version'], { timeout: 5_000 }, (err, stdout) => resolve(err ? undefined : stdout.trim().split(/\s+/)[0]));
  });
}

/** The container engine and the images, marked as problems only where a run would need them. */
function reportEngine(engine: EngineReport, how: { forced: boolean; inUse: boolean }): void {
  const images = engine.images.map((i) => `${i.image}${i.present === true ? ' (here)' : i.present === false ? ' (not here)' : ''}`).join(', ');
  if (!engine.label) {
    const [what = '', fix] = (engine.problem ?? '').split('\nFix: ');
    if (how.inUse) {
      say(`${red('✗')} Container engine: none usable. ${what}`);
      if (fix) say(`    Fix: ${fix}`);
    } else {
      say(`${dim('·')} Container engine: none (needed only for the Testcontainers path, when the services above are missing)`);
    }
    say(`${dim('·')} Images: ${images}`);
    return;
  }
  const missing = engine.images.filter((i) => i.present === false);
  const mark = !how.inUse ? dim('·') : missing.length ? (how.forced ? red('✗') : yellow('!')) : green('✓');
  say(`${mark} Container engine: ${engine.label} at ${engine.endpoint}${how.inUse ? '' : ', not in use while the services above answer'}`);
  say(`${mark} Images: ${images}`);
  if (how.inUse && !how.forced) say(`${yellow('!')} Nothing answers on the docker-compose ports, so the tests will start these images with Testcontainers.`);
  if (missing.length && how.inUse) {
    say(
      /podman/i.test(engine.label)
        ? '    Fix: bash scripts/containers/podman.sh build, then eval "$(bash scripts/containers/podman.sh env)" (or set WORKBOOK_*_IMAGE to images you have)'
        : `    ${how.forced ? 'Fix' : 'Note'}: Testcontainers pulls them on first use; without a registry, set WORKBOOK_*_IMAGE to images you have`,
    );
  }
}

async function serviceVersion(name: string, url: string): Promise<string> {
  if (name === 'PostgreSQL') {
    const u = new URL(url);
    u.pathname = '/postgres';
    return withPgClient(
      u.toString(),
      async (client) => {
        return `PostgreSQL ${(await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v}`;
      },
      { connectionTimeoutMillis: 2_000 },
    );
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
