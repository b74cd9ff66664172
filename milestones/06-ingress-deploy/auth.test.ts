// Milestone 6 · signed-in bidders: PlaceBid and CreateItem need a bearer token the server
// verifies (api/authenticate.ts, the interceptor you write); the bidder is the token's subject,
// never a field of the request; reads stay public. Every way a token can be wrong is refused
// with `unauthenticated` and a message saying which, never a 500, and nothing is written.
import { Code, ConnectError } from '@connectrpc/connect';
import { readFile } from 'node:fs/promises';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bidderColumn } from '#testkit/bidder-column.ts';
import { devSigningKeyFile, DEV_ALGORITHM } from '#runtime/dev-auth.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { machineSlowdown } from '#testkit/patience.ts';
import { apiClient, rawConnectCall, signIn, startService, tomorrow, type AuctionClient, type SignedIn } from './fixtures.ts';

const env = useTestEnv();
let service: ServiceProcess & { apiUrl: string };
// A service where dev sign-in is off, as in production (the last test); started with the other.
let production: ServiceProcess & { apiUrl: string };
let anonymous: AuctionClient;
let alice: SignedIn;
let itemId: string;
beforeAll(async () => {
  [service, production, alice] = await Promise.all([
    startService(env),
    startService(env, { auth: { ...env.config.auth, devSignIn: false } }),
    signIn(env.config, 'alice'),
  ]);
  anonymous = apiClient(service.apiUrl);
  itemId = (
    await env.db.query<{ id: string }>(`INSERT INTO items (title, start_price_cents, end_at) VALUES ('Lot', 100, now() + interval '1 day') RETURNING id`)
  ).rows[0]!.id;
});
afterAll(() => Promise.all([service?.stop(), production?.stop()]));

const count = async (table: 'items' | 'bids') => (await env.db.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n;

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error('the call succeeded; it should have been refused with unauthenticated');
}

/** The dev key the server trusts (the one SignIn signs with), to forge tokens that differ in one thing only. */
async function devKey(): Promise<{ key: CryptoKey; kid: string }> {
  if (env.config.auth.keySet.kind !== 'file') throw new Error('the tests use the development key set');
  const jwk = JSON.parse(await readFile(devSigningKeyFile(env.config.auth.keySet.path), 'utf8'));
  return { key: (await importJWK(jwk, DEV_ALGORITHM)) as CryptoKey, kid: jwk.kid };
}

/** A token like SignIn's, with `change` applied: another key, issuer, audience, or times. */
async function forge(change: { key?: CryptoKey; kid?: string; iss?: string; aud?: string; exp?: number; nbf?: number } = {}): Promise<string> {
  const trusted = await devKey();
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ name: 'mallory' })
    .setProtectedHeader({ alg: DEV_ALGORITHM, kid: change.kid ?? trusted.kid })
    .setSubject(crypto.randomUUID())
    .setIssuer(change.iss ?? env.config.auth.issuer)
    .setAudience(change.aud ?? env.config.auth.audience)
    .setIssuedAt(now - 3_600)
    .setExpirationTime(change.exp ?? now + 600);
  if (change.nbf !== undefined) jwt.setNotBefore(change.nbf);
  return jwt.sign(change.key ?? trusted.key);
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('signed-in bidders', () => {
  it('refuses PlaceBid and CreateItem without a token with unauthenticated, and writes nothing', async () => {
    const [items, bids] = [await count('items'), await count('bids')];
    const bid = await refusal(anonymous.placeBid({ itemId, amountCents: 500n }));
    expect([Code[bid.code], bid.rawMessage], 'PlaceBid without a token').toEqual(['Unauthenticated', expect.stringMatching(/sign in/i)]);
    const create = await refusal(anonymous.createItem({ title: 'Free lunch', startPriceCents: 100n, endAt: tomorrow() }));
    expect(Code[create.code], 'CreateItem without a token').toBe('Unauthenticated');
    expect([await count('items'), await count('bids')], 'rows written by refused calls').toEqual([items, bids]);
  });

  it('keeps the reads public: GetItem, ListItems and WatchItem need no token', async () => {
    expect((await anonymous.getItem({ id: itemId })).item?.id).toBe(itemId);
    expect((await anonymous.listItems({ limit: 100 })).items.map((i) => i.id)).toContain(itemId);
    const done = new AbortController();
    for await (const { live } of anonymous.watchItem({ itemId }, { signal: done.signal })) {
      expect(live?.itemId).toBe(itemId);
      done.abort();
      break;
    }
  });

  it('takes the bidder from the token, never from the request: a user_id in the body is ignored', async () => {
    const someoneElse = crypto.randomUUID();
    const res = await rawConnectCall(
      service.apiUrl,
      'PlaceBid',
      JSON.stringify({ itemId, userId: someoneElse, user_id: someoneElse, amountCents: '700' }),
      alice.headers,
    );
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body).bid.userId, 'the bid’s bidder').toBe(alice.bidderId);
    const column = await bidderColumn(env.db);
    const { rows } = await env.db.query<{ bidder: string }>(`SELECT ${column}::text AS bidder FROM bids WHERE item_id = $1`, [itemId]);
    expect(
      rows.map((r) => r.bidder),
      'the bidder stored',
    ).toEqual([alice.bidderId]);
  });

  it('scopes request ids to the signed-in bidder: the same id from another bidder is another bid', async () => {
    const item = (await apiClient(service.apiUrl, 'connect', alice).createItem({ title: 'Clock', startPriceCents: 100n, endAt: tomorrow() })).item!;
    const bob = await signIn(env.config, 'bob');
    const first = (await anonymous.placeBid({ itemId: item.id, amountCents: 100n, requestId: 'click-1' }, bearer(alice.token))).bid!;
    const again = (await anonymous.placeBid({ itemId: item.id, amountCents: 100n, requestId: 'click-1' }, bearer(alice.token))).bid!;
    expect(again.id, 'alice retries her click: her original bid').toBe(first.id);
    const bobs = (await anonymous.placeBid({ itemId: item.id, amountCents: 200n, requestId: 'click-1' }, bearer(bob.token))).bid!;
    expect([bobs.id === first.id, bobs.userId, bobs.sequence], 'bob’s click-1: his own bid').toEqual([false, bob.bidderId, 2n]);
  });

  it('refuses an expired token, saying it expired', async () => {
    const expired = await forge({ exp: Math.floor(Date.now() / 1000) - 3_600 });
    const err = await refusal(anonymous.placeBid({ itemId, amountCents: 10_000n }, bearer(expired)));
    expect([Code[err.code], err.rawMessage]).toEqual(['Unauthenticated', expect.stringMatching(/expired/)]);
  });

  // The server remembers a verified token until its exp (auth/verify-token.ts): the two tests
  // below use a token right after it was accepted, so that only the cache could let them through.
  it('refuses a token that expired after it was accepted: a verified token is remembered only until its exp', async () => {
    // Already expired, but within the server's clock tolerance for the next `window` seconds: accepted
    // now, refused once exp + tolerance has passed. jose counts whole seconds (exp <= floor(now) -
    // tolerance is expired), so the window is between window - 1 and window seconds long; a busy
    // machine gets a longer one (up to 3 s), for the first call to arrive inside it.
    const tolerance = env.config.auth.clockToleranceSeconds;
    const window = Math.min(tolerance, 3, 1 + Math.ceil(machineSlowdown()));
    const refusedFrom = (Math.floor(Date.now() / 1000) + window) * 1000;
    const expiring = await forge({ exp: refusedFrom / 1000 - tolerance });
    const accepted = await anonymous.placeBid({ itemId, amountCents: 9_000n }, bearer(expiring));
    expect(accepted.bid?.amountCents, 'the bid placed within the clock tolerance').toBe(9_000n);
    // The server shares this machine's clock: from refusedFrom on, jose refuses the token.
    await new Promise((r) => setTimeout(r, Math.max(0, refusedFrom - Date.now()) + 50));
    const err = await refusal(anonymous.placeBid({ itemId, amountCents: 9_500n }, bearer(expiring)));
    expect([Code[err.code], err.rawMessage], 'the same token once past exp and the tolerance').toEqual(['Unauthenticated', expect.stringMatching(/expired/)]);
  });

  it('refuses a tampered token (its payload changed after signing), saying its signature does not match', async () => {
    // The genuine token is accepted (and remembered) first: the altered one must still be checked in full.
    await anonymous.placeBid({ itemId, amountCents: 9_900n }, bearer(alice.token));
    const [header, payload, signature] = alice.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = [header, Buffer.from(JSON.stringify({ ...claims, sub: crypto.randomUUID() })).toString('base64url'), signature].join('.');
    const err = await refusal(anonymous.placeBid({ itemId, amountCents: 10_000n }, bearer(tampered)));
    expect([Code[err.code], err.rawMessage]).toEqual(['Unauthenticated', expect.stringMatching(/signature/)]);
  });

  it('refuses a token signed by another key, under the trusted key’s id or its own', async () => {
    const { privateKey } = await generateKeyPair(DEV_ALGORITHM, { extractable: true });
    const sameKid = await refusal(anonymous.placeBid({ itemId, amountCents: 10_000n }, bearer(await forge({ key: privateKey }))));
    expect([Code[sameKid.code], sameKid.rawMessage], 'another key claiming the trusted kid').toEqual(['Unauthenticated', expect.stringMatching(/signature/)]);
    const ownKid = await refusal(
      anonymous.createItem(
        { title: 'Forged', startPriceCents: 100n, endAt: tomorrow() },
        bearer(await forge({ key: privateKey, kid: `other-${(await exportJWK(privateKey)).x}` })),
      ),
    );
    expect([Code[ownKid.code], ownKid.rawMessage], 'another key under its own kid').toEqual([
      'Unauthenticated',
      expect.stringMatching(/key this server does not trust/),
    ]);
  });

  it('refuses a token from another issuer or for another audience, saying which', async () => {
    const issuer = await refusal(anonymous.placeBid({ itemId, amountCents: 10_000n }, bearer(await forge({ iss: 'https://evil.example' }))));
    expect([Code[issuer.code], issuer.rawMessage]).toEqual(['Unauthenticated', expect.stringMatching(/issued by "https:\/\/evil\.example"/)]);
    const audience = await refusal(anonymous.placeBid({ itemId, amountCents: 10_000n }, bearer(await forge({ aud: 'billing-api' }))));
    expect([Code[audience.code], audience.rawMessage]).toEqual(['Unauthenticated', expect.stringMatching(/meant for "billing-api"/)]);
  });

  it('refuses an authorization header that is not one bearer token, or a token that is not a JWT, never with a 500', async () => {
    const before = await count('bids');
    for (const header of [
      `Basic ${Buffer.from('alice:secret').toString('base64')}`,
      'Bearer',
      `Bearer ${alice.token} extra`,
      'Bearer not-a-jwt',
      'Bearer a.b.c',
    ]) {
      const res = await rawConnectCall(service.apiUrl, 'PlaceBid', JSON.stringify({ itemId, amountCents: '10000' }), { authorization: header });
      expect({ header, status: res.status, code: JSON.parse(res.body).code }).toEqual({ header, status: 401, code: 'unauthenticated' });
    }
    expect(await count('bids'), 'bids written by the refused calls').toBe(before);
  });

  it('signs in a demo user with SignIn: the token places bids as that user, the same user each time', async () => {
    const first = await anonymous.signIn({ userName: 'carol' });
    const again = await anonymous.signIn({ userName: 'carol' });
    expect(again.bidderId, 'carol is one bidder').toBe(first.bidderId);
    const ttl = Number(first.expiresAt!.seconds) - Date.now() / 1000;
    expect(ttl, 'seconds until the token expires').toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(env.config.auth.devTokenTtlSeconds + 5);
    const { item } = await anonymous.createItem({ title: 'Carol’s lamp', startPriceCents: 100n, endAt: tomorrow() }, bearer(first.token));
    const { bid } = await anonymous.placeBid({ itemId: item!.id, amountCents: 100n }, bearer(first.token));
    expect(bid?.userId).toBe(first.bidderId);
    const bad = await refusal(anonymous.signIn({ userName: 'carol; drop table' }));
    expect(Code[bad.code], 'a user name with spaces and punctuation').toBe('InvalidArgument');
  });

  it('answers SignIn with permission_denied where dev sign-in is off, and still verifies tokens there', async () => {
    const client = apiClient(production.apiUrl);
    const err = await refusal(client.signIn({ userName: 'alice' }));
    expect([Code[err.code], err.rawMessage]).toEqual(['PermissionDenied', expect.stringMatching(/turned off/)]);
    const { bid } = await client.placeBid({ itemId, amountCents: 20_000n }, bearer(alice.token));
    expect(bid?.userId, 'a token from the trusted key set still works').toBe(alice.bidderId);
  });
});
