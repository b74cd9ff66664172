// The live auction page in a real browser (Debian's Chromium), through the real ingress (the
// page at /, the API at /api, one origin), against a running bid-service and bid-worker. Two
// browser contexts are two signed-in bidders on one item. The steps build on each other, in
// order; each one's screenshot is written to .workbook/artifacts/web/ (npm run test:web).
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, ConnectError } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import type { Browser, Page } from 'playwright-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BidTooLowDetailSchema, AuctionService } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import { openItems } from '#testkit/scenario-data.ts';
import type { Config } from '#runtime/config.ts';
import { freePort } from '#testkit/binary-process.ts';
import { launchBrowser } from '#testkit/browser.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { builtWebRoot, startIngress, type Ingress } from '#testkit/ingress.ts';
import { patient } from '#testkit/patience.ts';
import { startServiceProcess, type ServiceProcess } from '#testkit/service-process.ts';
import { signIn } from '#testkit/sign-in.ts';
import { workDir } from '#workbook/trees.ts';
import { formatCents } from '../src/money.ts';

const env = useTestEnv();
const artifacts = join(workDir, 'artifacts', 'web');

let config: Config;
let apiPort: number;
let service: ServiceProcess;
let worker: ServiceProcess;
let ingress: Ingress;
let browser: Browser;
let itemId: string;
const pages: Record<'alice' | 'bob', Page> = {} as never;
/** What each page logged to its console: the first thing to read when a step fails. */
const consoleLines: string[] = [];

const startApi = () => startServiceProcess({ tree: env.tree, entry: 'bid-service.ts', config, extraEnv: { API_PORT: String(apiPort) } });

beforeAll(async () => {
  if (!existsSync(join(builtWebRoot, 'index.html')))
    throw new Error('The page is not built (web/dist/index.html is missing): npm run test:web builds it first; by hand, npm run build:web.');
  await mkdir(artifacts, { recursive: true });
  // Events relayed every 100 ms instead of every second: the 1 s between two pages is the
  // whole path (outbox, relay, RabbitMQ, WatchItem, the ingress, the page), not a poll.
  config = { ...env.config, outbox: { ...env.config.outbox, pollMs: 100 } };
  // A fixed API port, so the restarted bid-service is where the ingress's upstream list says.
  apiPort = await freePort();
  [worker, service] = await Promise.all([startServiceProcess({ tree: env.tree, entry: 'bid-worker.ts', config }), startApi()]);
  ingress = await startIngress({ upstreams: [`127.0.0.1:${apiPort}`], webRoot: builtWebRoot });
  [itemId] = (await openItems(config.databaseUrl, 1)) as [string];
  browser = await launchBrowser();
  for (const name of ['alice', 'bob'] as const) pages[name] = await openSignedIn(name);
});

afterAll(async () => {
  await browser?.close();
  await ingress?.stop();
  await Promise.all([service?.stop(), worker?.stop()]);
});

/** A browser context of its own (its own session storage: its own bidder), on the item, signed in. */
async function openSignedIn(name: string): Promise<Page> {
  // The ingress's certificate is from Caddy's local CA, which this browser profile does not
  // know; the TLS itself is tested in deploy/tests/ingress.test.ts.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  page.on('console', (m) => consoleLines.push(`[${name}] ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[${name}] page error: ${e.message}`));
  try {
    await page.goto(`${ingress.url}/?item=${itemId}`);
    await page.getByTestId('user-name').fill(name);
    await page.getByTestId('sign-in-button').click();
    await page
      .getByTestId('who')
      .filter({ hasText: name })
      .waitFor({ timeout: patient(10_000) });
    // Live: the stream's first message (the item's state) is on the page.
    await page.locator('[data-testid=item][data-version]').waitFor({ timeout: patient(15_000) });
  } catch (err) {
    await shot(page, `failed-to-open-${name}.png`).catch(() => undefined);
    throw new Error(withConsole(`${name}'s page did not open the item signed in: ${(err as Error).message.split('\n')[0]}`));
  }
  return page;
}

const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).textContent()) ?? '').trim();
const shot = (page: Page, name: string) => page.screenshot({ path: join(artifacts, name), fullPage: true });
const withConsole = (message: string) => `${message}\nWhat the pages logged:\n${consoleLines.slice(-15).join('\n') || '(nothing)'}`;

async function bid(page: Page, dollars: string): Promise<string> {
  await page.getByTestId('bid-amount').fill(dollars);
  await page.getByTestId('bid-button').click();
  // The message once the click has its outcome: the page marks "Placing…" and each retry as
  // pending (the click's submit handler sets it before its first await).
  await page.locator('[data-testid=bid-message]:not(.pending)').waitFor({ timeout: patient(15_000) });
  return text(page, 'bid-message');
}

/** The item as the database has it: what every page must end on. */
async function itemInDatabase(): Promise<{ priceCents: bigint | null; bidCount: number; version: string }> {
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ highest_bid_cents: string | null; bids: string; last_sequence: string }>(
      'SELECT i.highest_bid_cents, i.last_sequence, (SELECT count(*) FROM bids b WHERE b.item_id = i.id) AS bids FROM items i WHERE i.id = $1',
      [itemId],
    );
    const row = rows[0]!;
    return {
      priceCents: row.highest_bid_cents === null ? null : BigInt(row.highest_bid_cents),
      bidCount: Number(row.bids),
      version: String(row.last_sequence),
    };
  } finally {
    await client.end();
  }
}

describe('the live auction page, two signed-in bidders on one item', () => {
  it('a bid placed in one page shows in the other within 1 s', async () => {
    const { alice, bob } = pages;
    expect(await bid(alice, '5.00')).toContain('Your bid of $5.00 is in');
    // From the moment Alice's page has its answer; 1 s on a quiet machine, longer on a busy one.
    await bob
      .getByTestId('price')
      .filter({ hasText: /^\$5\.00$/ })
      .waitFor({ timeout: patient(1_000) })
      .catch(async () => {
        throw new Error(withConsole(`Bob's page did not show Alice's $5.00 within ${patient(1_000)} ms; it shows ${await text(bob, 'price')}`));
      });
    expect(await text(bob, 'bid-count')).toBe('1');
    expect(await text(alice, 'leader'), 'Alice sees herself as the leader').toBe('you');
    expect(await text(bob, 'leader'), 'Bob sees someone else leading').not.toBe('you');
    await shot(alice, '0-alice-placed-a-bid.png');
    await shot(bob, '1-bid-seen-by-the-other-bidder.png');
  });

  it('a too-low bid shows the minimum, and a bid of that minimum is taken', async () => {
    const { alice, bob } = pages;
    const refused = await bid(bob, '2.00');
    const minimum = /Too low\. The price is \$5\.00; the minimum bid is \$(\d+\.\d\d)\./.exec(refused);
    expect(minimum, `Bob's page says: ${refused}`).not.toBeNull();
    await shot(bob, '2-too-low-shows-the-minimum.png');
    expect(await bid(bob, minimum![1]!)).toContain(`Your bid of $${minimum![1]} is in`);
    await alice
      .getByTestId('price')
      .filter({ hasText: `$${minimum![1]}` })
      .waitFor({ timeout: patient(5_000) });
    expect(await text(alice, 'leader')).not.toBe('you');
    expect(await text(bob, 'leader')).toBe('you');
  });

  it('restarting bid-service under the open pages: both say they are reconnecting, then reconnect and show the database’s state', async () => {
    const { alice, bob } = pages;
    const stopping = service.stop('SIGTERM');
    // The honest banner, on both pages, while the stream is down.
    for (const page of [alice, bob]) await page.locator('[data-testid=banner][data-state=reconnecting]').waitFor({ timeout: patient(15_000) });
    expect(await text(alice, 'banner')).toMatch(/Live updates paused: .*Reconnecting in/);
    await shot(alice, '3-reconnecting-banner.png');
    await stopping;
    service = await startApi();

    // A third bidder bids through the ingress right after the restart, while the pages may
    // still be waiting out their backoff: they must end on it, whenever they come back.
    const carol = await signIn(config, 'carol');
    const api = createClient(
      AuctionService,
      createConnectTransport({ baseUrl: `${ingress.url}/api`, httpVersion: '2', nodeOptions: { ca: await readFile(ingress.caCertPath) } }),
    );
    let amountCents = 10_000n;
    for (let attempt = 0; ; attempt++) {
      try {
        await api.placeBid({ itemId, amountCents, requestId: crypto.randomUUID() }, { headers: carol.headers });
        break;
      } catch (err) {
        const minimum = ConnectError.from(err).findDetails(BidTooLowDetailSchema)[0]?.minimumNextBidCents;
        if (!minimum || attempt > 3) throw err;
        amountCents = minimum;
      }
    }

    const db = await itemInDatabase();
    expect(db.priceCents).toBe(amountCents);
    for (const [name, page] of Object.entries(pages)) {
      await page
        .locator(`[data-testid=item][data-version="${db.version}"]`)
        .waitFor({ timeout: patient(30_000) })
        .then(() => page.locator('[data-testid=banner][data-state=live]').waitFor({ state: 'attached', timeout: patient(5_000) }))
        .catch(async () => {
          throw new Error(
            withConsole(
              `${name}'s page did not reconnect to version ${db.version} (the database's); it shows version ${await page.getByTestId('item').getAttribute('data-version')} and the banner "${await text(page, 'banner')}"`,
            ),
          );
        });
      expect(await text(page, 'price'), `${name}'s price`).toBe(formatCents(db.priceCents!));
      expect(await text(page, 'bid-count'), `${name}'s bid count`).toBe(String(db.bidCount));
      expect(await text(page, 'leader'), `${name}'s leader`).not.toBe('you');
    }
    await shot(bob, '4-reconnected-on-the-database-state.png');
  });

  it('a bid whose answer is lost after it was placed is retried by the page with the same request id, and counts once', async () => {
    const { alice, bob } = pages;
    // The next bid commits, then its call fails (an injected error after the commit): the
    // answer is lost, the bid is not. Only a retry with the same request id is safe.
    await service.stop('SIGTERM');
    service = await startServiceProcess({
      tree: env.tree,
      entry: 'bid-service.ts',
      config: { ...config, failpoints: 'bid.after-commit=error@1' },
      extraEnv: { API_PORT: String(apiPort) },
    });
    for (const page of [alice, bob]) await page.locator('[data-testid=banner][data-state=live]').waitFor({ state: 'attached', timeout: patient(30_000) });
    const before = await itemInDatabase();
    const amount = (before.priceCents! + 100n) / 100n;
    const answer = await bid(bob, `${amount}.00`);
    expect(answer, 'what Bob’s page says after the lost answer').toContain(`Your bid of $${amount}.00 is in`);
    const after = await itemInDatabase();
    expect(after.bidCount, 'bids in the database: one click, one bid').toBe(before.bidCount + 1);
    expect(after.priceCents).toBe(amount * 100n);
    await alice
      .getByTestId('price')
      .filter({ hasText: `$${amount}.00` })
      .waitFor({ timeout: patient(5_000) });
    await shot(bob, '5-lost-answer-retried-once.png');
  });

  it('a bid that meets a busy item says it is retrying, then lands', async () => {
    const { alice, bob } = pages;
    // Alice's next bid holds the item's row lock for 3 s before it commits; Bob's bid, right
    // behind it, gives up on the lock after 0.5 s with `unavailable` and a BusyDetail.
    await service.stop('SIGTERM');
    service = await startServiceProcess({
      tree: env.tree,
      entry: 'bid-service.ts',
      config: { ...config, failpoints: 'bid.before-commit=delay(3000)@1', bidding: { ...config.bidding, lockTimeoutMs: 500 } },
      extraEnv: { API_PORT: String(apiPort) },
    });
    for (const page of [alice, bob]) await page.locator('[data-testid=banner][data-state=live]').waitFor({ state: 'attached', timeout: patient(30_000) });
    const before = await itemInDatabase();
    const dollars = before.priceCents! / 100n;
    const alices = bid(alice, `${dollars + 1n}.00`);
    // Bob clicks while Alice's bid holds the lock.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const bobs = bid(bob, `${dollars + 5n}.00`);
    await bob
      .getByTestId('bid-message')
      .filter({ hasText: /^Busy: other bids on this item are being placed; retrying in 0\.5 s/ })
      .waitFor({ timeout: patient(10_000) });
    await shot(bob, '6-busy-retrying.png');
    expect(await alices).toContain('is in');
    expect(await bobs, 'Bob’s bid after its retries').toContain(`Your bid of $${dollars + 5n}.00 is in`);
    expect((await itemInDatabase()).bidCount).toBe(before.bidCount + 2);
  });

  it('a signed-in seller puts an item up, and the page opens it live', async () => {
    const { bob } = pages;
    await bob.getByTestId('new-title').fill('Pocket watch, 1920s');
    await bob.getByTestId('new-start-price').fill('25.00');
    await bob.getByTestId('new-minutes').fill('30');
    await bob.getByTestId('create-button').click();
    await bob
      .getByTestId('item-title')
      .filter({ hasText: 'Pocket watch, 1920s' })
      .waitFor({ timeout: patient(10_000) });
    await bob.locator('[data-testid=banner][data-state=live]').waitFor({ state: 'attached', timeout: patient(15_000) });
    expect(await text(bob, 'price')).toBe('no bids yet (starts at $25.00)');
    expect(await text(bob, 'time-left')).toMatch(/^(29|30) min/);
    expect(await bob.getByTestId('auctions').textContent()).toContain('Pocket watch, 1920s');
    await shot(bob, '7-seller-created-an-item.png');
    // Back to the shared item for the last step.
    await bob.goto(`${ingress.url}/?item=${itemId}`);
  });

  it('a signed-out page cannot bid: the form says to sign in, and the API refuses a bid without a token', async () => {
    const { alice } = pages;
    await alice.getByTestId('sign-out').click();
    await alice.getByTestId('sign-in').waitFor();
    expect(await alice.getByTestId('bid-button').isDisabled()).toBe(true);
    expect(await text(alice, 'bid-message')).toBe('Sign in to bid.');
    expect(await alice.getByTestId('create-item').isHidden(), 'the seller form is for signed-in users').toBe(true);
    const before = await itemInDatabase();
    // What a page (or anyone) gets for a bid without a token, from this page's own origin.
    const answer = await alice.evaluate(async (id) => {
      const response = await fetch('/api/auction.api.v1.AuctionService/PlaceBid', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ itemId: id, amountCents: '100000000', requestId: crypto.randomUUID() }),
      });
      return { status: response.status, body: await response.text() };
    }, itemId);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).code).toBe('unauthenticated');
    expect((await itemInDatabase()).bidCount, 'bids in the database').toBe(before.bidCount);
    await shot(alice, '8-signed-out-cannot-bid.png');
  });
});
