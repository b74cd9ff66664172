// npm run demo [-- --bidders N] [-- --mine] [-- --port N]: the whole system on this machine,
// as the browser sees it: migrate a database of its own, start bid-worker and bid-service,
// build the page, start the ingress (Caddy: the page at /, the API at /api, one origin),
// create a few live auctions through the API, optionally run simulated bidders, print the
// https URL and how to trust Caddy's local CA, and stop everything on Ctrl-C.
//
// The pieces are the tests' own: testkit/service-process.ts runs the app's entry points,
// testkit/ingress.ts runs Caddy with deploy/ingress/Caddyfile.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, ConnectError, Code, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { build } from 'vite';
import { AuctionService, BidTooLowDetailSchema } from '../../runtime/gen/auction/api/v1/auction_pb.ts';
import { loadConfig, type Config } from '../../runtime/config.ts';
import { createDatabase, databaseExists, databaseName, databaseUrlFor, MigrationFailed, runMigrations } from '../../runtime/migrate.ts';
import { freePort } from '../../testkit/binary-process.ts';
import { builtWebRoot, startIngress, type Ingress } from '../../testkit/ingress.ts';
import { ServiceDidNotStart, startServiceProcess, type ServiceProcess } from '../../testkit/service-process.ts';
import { LearnerError } from '../prepare.ts';
import { exercisesDir, repoRoot, solutionsDir, workDir } from '../trees.ts';
import { bold, dim, green, red, say, yellow } from '../ui.ts';
import { coerceError } from '../../runtime/coerce-error.ts';

type AuctionClient = Client<typeof AuctionService>;

export interface DemoOptions {
  bidders: number;
  /** The learner's exercises/ instead of the reference. */
  mine: boolean;
  /** The ingress's HTTPS port. */
  port: number;
}

export function parseDemoArgs(argv: string[]): DemoOptions {
  const value = (flag: string, fallback: number, max: number) => {
    const at = argv.indexOf(flag);
    if (at < 0) return fallback;
    const raw = argv[at + 1] ?? '';
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n > max)
      throw new LearnerError(`${flag} needs a whole number up to ${max}, got ${JSON.stringify(raw)}.`, `npm run demo -- ${flag} ${Math.min(3, max)}`);
    return n;
  };
  return { bidders: value('--bidders', 0, 50), mine: argv.includes('--mine'), port: value('--port', 8443, 65535) };
}

// The lots the demo puts up, each ending at its own time so the list and the clocks move.
const LOTS = [
  { title: 'Brass telescope, 1890s', cents: 12_000n, minutes: 12 },
  { title: 'Signed first edition', cents: 4_500n, minutes: 25 },
  { title: 'Mechanical keyboard, 1987', cents: 8_000n, minutes: 45 },
  { title: 'Vintage film camera', cents: 15_000n, minutes: 90 },
  { title: 'Hand-drawn city map', cents: 2_000n, minutes: 180 },
];

export async function demoCommand(argv: string[]): Promise<number> {
  const options = parseDemoArgs(argv);
  const tree = options.mine ? exercisesDir : solutionsDir;
  const base = loadConfig();
  // Its own database, exchange, queues and keys: the demo never touches your `auction`
  // database or a bid-service you run by hand. Dev sign-in on: every user here is a demo user.
  const databaseUrl = databaseUrlFor(base.databaseUrl, `${databaseName(base.databaseUrl)}_demo`);
  const config: Config = {
    ...base,
    databaseUrl,
    amqp: { exchange: 'demo.events', queuePrefix: 'demo.' },
    redis: { keyPrefix: 'demo:' },
    auth: { ...base.auth, devSignIn: true, keySet: { kind: 'file', path: join(workDir, 'auth', 'jwks.json') } },
    outbox: { ...base.outbox, pollMs: 200 },
  };

  say(bold(`The auction demo, with ${options.mine ? 'your code (exercises/)' : 'the reference (solutions/); --mine runs your exercises/'}`));
  const name = databaseName(databaseUrl);
  if (!(await databaseExists(base.databaseUrl, name))) await createDatabase(base.databaseUrl, name);
  try {
    const ran = await runMigrations({ databaseUrl, tree, direction: 'up', ...config.migrations });
    say(`  ${green('✓')} database ${name} ${ran.length ? `migrated (${ran.length} migrations)` : 'up to date'}`);
  } catch (err) {
    if (err instanceof MigrationFailed)
      throw new LearnerError(
        `The demo database could not be migrated: ${err.cause.message}.`,
        options.mine ? 'finish the migrations of milestones 1-5 (npm run milestone:N), or run the reference: npm run demo' : (err.next ?? 'npm run doctor'),
      );
    throw err;
  }

  await build({ configFile: join(repoRoot, 'web', 'vite.config.ts'), logLevel: 'warn' });
  say(`  ${green('✓')} the page built into web/dist`);

  const running = new Running();
  // Resolves once Ctrl-C (or SIGTERM) has stopped everything: the command returns only then.
  const stopped = new Promise<void>((resolve) => {
    const stopAll = async (why: string) => {
      say(`\n${why}: stopping the bidders, the ingress, bid-service and bid-worker…`);
      await running.stop();
      say(green('Stopped. Nothing of the demo is left running.'));
      resolve();
    };
    process.once('SIGINT', () => void stopAll('Ctrl-C'));
    process.once('SIGTERM', () => void stopAll('SIGTERM'));
  });

  try {
    // A fixed API port, so a bid-service restarted after you kill it is where the ingress looks.
    const apiPort = await freePort();
    await Promise.all([
      running.supervise('bid-worker', () => startServiceProcess({ tree, entry: 'bid-worker.ts', config })),
      running.supervise('bid-service', () => startServiceProcess({ tree, entry: 'bid-service.ts', config, extraEnv: { API_PORT: String(apiPort) } })),
    ]).catch((err: Error) => {
      if (!(err instanceof ServiceDidNotStart)) throw err;
      throw new LearnerError(
        `The demo could not start ${options.mine ? 'your' : 'the reference'} bid-service and bid-worker: ${err.message}`,
        options.mine ? 'npm run milestone:6 until it passes (the demo needs every milestone), or run the reference: npm run demo' : 'npm run doctor',
      );
    });
    // Caddy's data in .workbook/demo/caddy: the same local CA every run, so you trust it once.
    const ingress = await startIngress({
      upstreams: [`127.0.0.1:${apiPort}`],
      webRoot: builtWebRoot,
      dir: join(workDir, 'demo', 'caddy'),
      port: options.port,
    }).catch((err: Error) => {
      throw new LearnerError(
        `The ingress did not start: ${err.message}`,
        /address already in use/.test(err.message) ? `another port: npm run demo -- --port ${options.port + 1}` : 'npm run doctor',
      );
    });
    running.ingress = ingress;
    say(`  ${green('✓')} bid-worker, bid-service and the ingress are running`);

    const api = createClient(
      AuctionService,
      createConnectTransport({ baseUrl: `${ingress.url}/api`, httpVersion: '2', nodeOptions: { ca: await readFile(ingress.caCertPath) } }),
    );
    const items = await createLots(api).catch((err: unknown) => {
      const error = ConnectError.from(err);
      // A stub of yours answers unimplemented with its TODO: say which, not "a bug in the workbook".
      throw new LearnerError(
        `The demo could not put its auctions up through the API (CreateItem as a signed-in seller): ${error.rawMessage}`,
        error.code === Code.Unimplemented ? 'finish that part (npm run hint -- 6), or run the reference: npm run demo' : 'npm run doctor',
      );
    });
    say(`  ${green('✓')} ${items.length} live auctions created by the demo user "seller"`);
    for (let i = 0; i < options.bidders; i++) running.bidders.push(simulatedBidder(api, `bot-${i + 1}`, running.stopping.signal));
    if (options.bidders > 0) say(`  ${green('✓')} ${options.bidders} simulated bidder${options.bidders === 1 ? '' : 's'} bidding every few seconds (bot-1…)`);

    printInstructions(ingress, running, options);
    await stopped;
    return 0;
  } catch (err) {
    await running.stop();
    throw err;
  }
}

async function createLots(api: AuctionClient): Promise<string[]> {
  const seller = await api.signIn({ userName: 'seller' });
  const headers = { authorization: `Bearer ${seller.token}` };
  const ids: string[] = [];
  for (const lot of LOTS) {
    const { item } = await api.createItem(
      {
        title: lot.title,
        description: 'Put up by npm run demo.',
        startPriceCents: lot.cents,
        endAt: timestampFromDate(new Date(Date.now() + lot.minutes * 60_000)),
      },
      { headers },
    );
    ids.push(item!.id);
  }
  return ids;
}

/** A bidder that, every 2 to 6 s, outbids the leader of a random open auction by the minimum. */
async function simulatedBidder(api: AuctionClient, userName: string, stop: AbortSignal): Promise<void> {
  const pause = (ms: number) =>
    new Promise<void>((resolve) => (stop.aborted ? resolve() : (setTimeout(resolve, ms), stop.addEventListener('abort', () => resolve(), { once: true }))));
  let token: { token: string; expiresAtMs: number } | undefined;
  while (!stop.aborted) {
    await pause(2_000 + Math.random() * 4_000);
    if (stop.aborted) return;
    try {
      if (!token || token.expiresAtMs < Date.now() + 60_000) {
        const answer = await api.signIn({ userName });
        token = { token: answer.token, expiresAtMs: Number(answer.expiresAt?.seconds ?? 0n) * 1000 };
      }
      const { items } = await api.listItems({ limit: 100 });
      const open = items.filter((item) => Number(item.endAt?.seconds ?? 0n) * 1000 > Date.now());
      const item = open[Math.floor(Math.random() * open.length)];
      if (!item) continue;
      const { live } = await api.getItem({ id: item.id });
      // One request id for this bid and its retries; the minimum, learnt from a refusal, is a new bid.
      let amountCents = (live?.priceCents ?? item.startPriceCents - 100n) + 100n;
      let requestId = crypto.randomUUID();
      for (let attempt = 0; attempt < 5 && !stop.aborted; attempt++) {
        try {
          await api.placeBid({ itemId: item.id, amountCents, requestId }, { headers: { authorization: `Bearer ${token.token}` }, timeoutMs: 5_000 });
          break;
        } catch (err) {
          const error = ConnectError.from(err);
          const minimum = error.findDetails(BidTooLowDetailSchema)[0]?.minimumNextBidCents;
          if (minimum !== undefined) [amountCents, requestId] = [minimum, crypto.randomUUID()];
          else if (error.code !== Code.Unavailable && error.code !== Code.Unknown && error.code !== Code.DeadlineExceeded) break;
          else await pause(300 * (attempt + 1));
        }
      }
    } catch {
      // The API is down (you killed bid-service?): try again next round, as a person would.
    }
  }
}

/** The demo's processes; one that exits while the demo runs is started again, as compose or Kubernetes would. */
class Running {
  readonly processes = new Map<string, ServiceProcess>();
  readonly bidders: Promise<void>[] = [];
  readonly stopping = new AbortController();
  ingress: Ingress | undefined;

  async supervise(name: string, start: () => Promise<ServiceProcess>): Promise<void> {
    const child = await start();
    this.processes.set(name, child);
    void child.exited.then(async (ended) => {
      // Ctrl-C reaches the children too (one process group): give the demo's own handler a
      // moment to say it is stopping, so this is not taken for a crash.
      await new Promise((resolve) => setTimeout(resolve, 300));
      if (this.stopping.signal.aborted) return;
      say(
        yellow(
          `\n${name} (pid ${child.pid}) exited (${ended.signal ?? `code ${ended.code}`}); starting it again in 3 s, as a supervisor would. Watch the page.`,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      if (this.stopping.signal.aborted) return;
      try {
        await this.supervise(name, start);
        say(green(`${name} is back (pid ${this.processes.get(name)!.pid}).`));
      } catch (err) {
        say(red(`${name} did not start again: ${coerceError(err).message.split('\n')[0]}. Ctrl-C stops the demo.`));
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.bidders);
    await this.ingress?.stop();
    await Promise.all([...this.processes.values()].map((p) => p.stop('SIGTERM', 12_000)));
  }
}

function printInstructions(ingress: Ingress, running: Running, options: DemoOptions): void {
  const pid = (name: string) => running.processes.get(name)?.pid;
  say('');
  say(bold(`Open ${ingress.url}/`));
  say(dim('  (two windows, or a normal and a private one, are two bidders: sign in with any name)'));
  say('');
  say(`${bold('Trust the local CA')} (Caddy made it for this demo; it stays in .workbook/demo/caddy, so once is enough):`);
  say(`  the root certificate:  ${ingress.caCertPath}`);
  say(`  curl:                  curl --cacert ${ingress.caCertPath} ${ingress.url}/`);
  say('  Chrome, Chromium:      Settings › Privacy and security › Security › Manage certificates › Authorities › Import');
  say('  Firefox:               Settings › Privacy & Security › Certificates › View Certificates › Authorities › Import');
  say('  or click through the browser’s warning: it is your own machine, and this CA signs nothing else.');
  say('');
  say(bold('What to try:'));
  say(`  kill the worker:       kill ${pid('bid-worker')}     bids are still taken, but the page stops moving: no events are relayed.`);
  say('                         The demo starts it again after 3 s; the outbox still has every event, and the page catches up.');
  say(`  kill the API:          kill ${pid('bid-service')}     the page's banner says it is reconnecting; it comes back and re-reads the item.`);
  say('  bid too low, bid twice: the page says the minimum; a retried click reuses its request id and counts once.');
  say(
    `  sign out and bid:      the form asks you to sign in; the API answers unauthenticated (${options.bidders ? `${options.bidders} bots are bidding meanwhile` : 'npm run demo -- --bidders 3 adds bots'}).`,
  );
  say('');
  say(dim('Ctrl-C stops everything.'));
}
