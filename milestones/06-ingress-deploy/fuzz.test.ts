// Milestone 6 · hostile input, generated: requests no client of ours would send, on the
// HTTP/1.1 JSON routes and on the Connect API (JSON and binary). Whatever arrives, the service
// stays up, answers no 5xx while its dependencies are up, names a field or a reason in every
// 4xx, and writes nothing for a request it refused. Connect calls carry a valid bearer token,
// none, or a bad one (expired, tampered, another key, not a token): a write without a valid
// one is never accepted.
//
// A short run here; `npm run fuzz -- --runs 100000` for a long one. The seed is printed: a
// failure replays with `npm run fuzz -- --seed S --runs N`.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import http from 'node:http';
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateItemRequestSchema, CreateItemResponseSchema, PlaceBidRequestSchema, PlaceBidResponseSchema } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import { generateKeyPair, SignJWT } from 'jose';
import { loadWorkbookSettings } from '#runtime/config.ts';
import { DEV_ALGORITHM, issueDevToken } from '#runtime/dev-auth.ts';
import { useTestEnv } from '#testkit/harness.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { startService } from './fixtures.ts';
import { coerceError } from '#runtime/coerce-error.ts';

const env = useTestEnv();
const settings = loadWorkbookSettings().fuzz;
const RUNS = settings.runs ?? 1_500;
const SEED = settings.seed ?? 20_260_523;

let service: ServiceProcess & { apiUrl: string };
let itemId: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let h2: http2.ClientHttp2Session | undefined;
/** The authorization header of each kind of caller; `none` sends no header. */
let authorization: Record<Exclude<Caller, 'none'>, string>;

beforeAll(async () => {
  service = await startService(env);
  const valid = (await issueDevToken(env.config.auth, 'fuzzer')).token;
  const expired = (await issueDevToken(env.config.auth, 'fuzzer', { now: new Date(Date.now() - 7_200_000), ttlSeconds: 60 })).token;
  const [header, payload, signature] = valid.split('.');
  const tampered = [
    header,
    Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: crypto.randomUUID() })).toString('base64url'),
    signature,
  ].join('.');
  const { privateKey } = await generateKeyPair(DEV_ALGORITHM);
  const otherKey = await new SignJWT({})
    .setProtectedHeader({ alg: DEV_ALGORITHM })
    .setSubject(crypto.randomUUID())
    .setIssuer(env.config.auth.issuer)
    .setAudience(env.config.auth.audience)
    .setExpirationTime('10m')
    .sign(privateKey);
  authorization = {
    valid: `Bearer ${valid}`,
    expired: `Bearer ${expired}`,
    tampered: `Bearer ${tampered}`,
    otherKey: `Bearer ${otherKey}`,
    garbage: 'Bearer not.a.jwt',
  };
  const { rows } = await env.db.query<{ id: string }>(
    `INSERT INTO items (title, start_price_cents, end_at) VALUES ('Fuzzed', 100, now() + interval '1 day') RETURNING id`,
  );
  itemId = rows[0]!.id;
});
afterAll(async () => {
  agent.destroy();
  h2?.close();
  await service?.stop('SIGKILL');
});

// ---- what a request is made of ----------------------------------------------------------

/** A JSON number literal JSON.stringify cannot write (9007199254740993 would come out rounded). */
class RawNumber {
  constructor(readonly text: string) {}
}
type Json = null | boolean | number | string | RawNumber | Json[] | { [key: string]: Json };

function jsonText(value: Json): string {
  if (value instanceof RawNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
/** Text with NUL and other control characters, lone surrogates, right-to-left marks, and very long runs. */
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: anyUnit, maxLength: 20 }),
  fc.constantFrom('', ' ', 'nul \u0000 byte', '\ud800', 'a\udfffb', '\u202eevil', '\u0007\u001b[31m', 'x'.repeat(201), 'y'.repeat(70_000)),
);
const moneyNumber = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 1, 0.5, 1e300, -0, 2 ** 53, 2 ** 63),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => new RawNumber(n.toString())),
  fc.constantFrom('9007199254740993', '9223372036854775807', '9223372036854775808', '18446744073709551615', '1e3', '1.0', '-5').map((t) => new RawNumber(t)),
);
const money = fc.oneof(moneyNumber, fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.constantFrom('', ' 1', '0x10', '١٢٣', '100'), text);
const timestamp = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2030-02-30T00:00:00Z',
    '2030-13-01T00:00:00Z',
    '2030-01-01T24:00:00Z',
    '2030-01-01T10:61:00Z',
    '2030-01-01T10:00:00+25:00',
    '2030-01-01',
    '+275760-09-13T00:00:00Z',
    new Date(Date.now() + 86_400_000).toISOString(),
  ),
  text,
);
const uuidOrNot = fc.oneof(fc.uuid(), text, fc.constant('00000000-0000-0000-0000-000000000000'));
const scalar: fc.Arbitrary<Json> = fc.oneof(fc.constant(null), fc.boolean(), moneyNumber, text);
/** Nesting a few levels deep, or thousands (a parser that recurses runs out of stack). */
const deep = fc.oneof(
  fc.integer({ min: 1, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 5_000 }).map((n) => `${'{"title":'.repeat(n)}1${'}'.repeat(n)}`),
);
const itemBody = fc.record(
  { title: fc.oneof(text, scalar), description: fc.oneof(text, scalar), startPriceCents: money, startAt: timestamp, endAt: timestamp },
  { requiredKeys: [] },
);
const bidBody = fc.record({ userId: uuidOrNot, amountCents: money, requestId: fc.oneof(text, scalar), itemId: uuidOrNot }, { requiredKeys: [] });
/** Names as a client might write them: the API's snake_case too, and keys no message has. */
const renamed = (body: Record<string, Json>) =>
  fc
    .boolean()
    .map((snake) => (snake ? Object.fromEntries(Object.entries(body).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v])) : body));
const jsonBody = fc.oneof(
  itemBody.chain(renamed).map(jsonText),
  bidBody.chain(renamed).map(jsonText),
  fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 4 }).map(jsonText),
  scalar.map(jsonText),
  deep,
);
const bytes = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b));
/** Invalid UTF-8 where a string should be: field 1 of either request, with bytes no encoder writes. */
const badUtf8 = fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe0, 0xa4], [0x61, 0x00, 0x62]).map((b) => Buffer.from([0x0a, b.length, ...b]));
const body = fc.oneof(
  { weight: 5, arbitrary: jsonBody.map((t) => Buffer.from(t)) },
  { weight: 2, arbitrary: bytes },
  { weight: 1, arbitrary: badUtf8 },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
);

/** Path segments with broken percent-escapes, raw bytes above 0x7f, dot segments, and the real item's id. */
const segment = fc
  .array(
    fc.oneof(
      fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%00', '%C0%AF', '%ED%A0%80', '%FF', '%2F', '%25', '..', '.', ';', '~', '%F0%9F%92%A9'),
      fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`),
      fc.string({ unit: fc.constantFrom(...'abcdef0123456789-'), maxLength: 40 }),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
      fc.constant('ITEM'),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => parts.join(''));

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/proto',
  'application/x-www-form-urlencoded',
  'application/grpc',
  'application/connect+json',
  'multipart/form-data; boundary=x',
  '',
  undefined,
);

const httpRequest = fc.record({
  transport: fc.constant('http' as const),
  method: fc.constantFrom('GET', 'POST', 'POST', 'PUT', 'DELETE'),
  path: fc.oneof(
    segment.map((s) => `/items/${s}`),
    segment.map((s) => `/items/${s}/bids`),
    segment.map((s) => `/items/${s}/live`),
    fc.tuple(segment, segment).map(([limit, after]) => `/items?limit=${limit}&after=${after}`),
    segment.map((s) => `/${s}`),
    fc.constantFrom('/items', '/items/ITEM/bids', '/healthz', '//items', '/items/'),
  ),
  contentType,
  body,
});

const connectMethods = ['CreateItem', 'PlaceBid', 'GetItem', 'ListItems'] as const;
/** A well-formed binary message carrying the generated values, so the app's own checks see them. */
const binaryRequest = fc.oneof(
  fc
    .record({
      title: fc.string({ unit: anyUnit, maxLength: 20 }),
      startPriceCents: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      seconds: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }),
    })
    .map((r) =>
      Buffer.from(
        toBinary(
          CreateItemRequestSchema,
          create(CreateItemRequestSchema, { title: r.title, startPriceCents: r.startPriceCents, endAt: { seconds: r.seconds, nanos: 0 } }),
        ),
      ),
    ),
  fc
    .record({ amountCents: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), requestId: fc.string({ unit: anyUnit, maxLength: 10 }) })
    .map((r) => Buffer.from(toBinary(PlaceBidRequestSchema, create(PlaceBidRequestSchema, { itemId: 'ITEM', ...r })))),
);
/** Who calls: signed in, anonymous, or with a token the server must refuse. */
const callers = ['valid', 'none', 'expired', 'tampered', 'otherKey', 'garbage'] as const;
type Caller = (typeof callers)[number];
const connectRequest = fc.record({
  transport: fc.constant('connect' as const),
  caller: fc.oneof({ weight: 4, arbitrary: fc.constant<Caller>('valid') }, { weight: 3, arbitrary: fc.constantFrom<Caller>(...callers) }),
  method: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...connectMethods) }, { weight: 1, arbitrary: segment }),
  protocolHeader: fc.boolean(),
  contentType,
  body: fc.oneof(body, binaryRequest),
});

/**
 * A CreateItem the service accepts from a signed-in seller, from every kind of caller: random
 * writes are nearly all invalid anyway, so without these a server that let bad tokens through
 * would hardly ever be caught accepting one.
 */
const wellFormedCreate: fc.Arbitrary<ConnectRequest> = fc.record({
  transport: fc.constant('connect' as const),
  method: fc.constant('CreateItem'),
  protocolHeader: fc.constant(true),
  contentType: fc.constant('application/proto' as const),
  caller: fc.constantFrom(...callers),
  body: fc.bigInt({ min: 1n, max: 1_000_000n }).map((startPriceCents) =>
    Buffer.from(
      toBinary(
        CreateItemRequestSchema,
        create(CreateItemRequestSchema, {
          title: 'Well-formed lot',
          startPriceCents,
          endAt: { seconds: BigInt(Math.floor(Date.now() / 1000) + 86_400), nanos: 0 },
        }),
      ),
    ),
  ),
});

type Generated<A> = A extends fc.Arbitrary<infer T> ? T : never;
type HttpRequest = Generated<typeof httpRequest>;
type ConnectRequest = Generated<typeof connectRequest>;
type FuzzRequest = HttpRequest | ConnectRequest;

// ---- sending it, and what an answer may be ------------------------------------------------

interface Answer {
  status: number;
  contentType: string;
  body: Buffer;
  /** gRPC puts its status in trailers, under an HTTP 200. */
  grpc?: { status: number; message: string };
}

/**
 * gRPC codes a server answers for its own failure (unknown, internal, unavailable, data loss):
 * its "5xx". Not unimplemented: gRPC answers it for a unary call that sent no message.
 */
const GRPC_SERVER_FAULTS = new Set([2, 13, 14, 15]);

function sendHttp(req: HttpRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-length': req.body.length };
    if (req.contentType !== undefined) headers['content-type'] = req.contentType;
    const url = new URL(service.url);
    const out = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.path.replaceAll('ITEM', itemId), headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    out.on('error', reject);
    out.end(req.body);
  });
}

function sendConnect(req: ConnectRequest): Promise<Answer> {
  if (!h2 || h2.closed || h2.destroyed) {
    h2 = http2.connect(service.apiUrl);
    h2.on('error', () => {});
  }
  const session = h2;
  return new Promise((resolve, reject) => {
    const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': `/api/auction.api.v1.AuctionService/${req.method}` };
    if (req.contentType !== undefined) headers['content-type'] = req.contentType;
    if (req.protocolHeader) headers['connect-protocol-version'] = '1';
    if (req.caller !== 'none') headers.authorization = authorization[req.caller];
    const stream = session.request(headers);
    const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 5_000);
    let status = 0;
    let type = '';
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      type = String(h['content-type'] ?? '');
    });
    let grpc: Answer['grpc'];
    stream.on('trailers', (t) => {
      if (t['grpc-status'] !== undefined) grpc = { status: Number(t['grpc-status']), message: decodeURIComponent(String(t['grpc-message'] ?? '')) };
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      clearTimeout(timer);
      resolve({ status, contentType: type, body: Buffer.concat(chunks), ...(grpc ? { grpc } : {}) });
    });
    stream.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.end(Buffer.from(req.body.toString('latin1').replaceAll('ITEM', itemId), 'latin1'));
  });
}

/** Why the answer breaks an invariant, or undefined when it is an honest one. */
function problemWith(req: FuzzRequest, answer: Answer): string | undefined {
  const accepted = answer.status >= 200 && answer.status < 300 && (!answer.grpc || answer.grpc.status === 0);
  if (req.transport === 'connect' && accepted && (req.method === 'CreateItem' || req.method === 'PlaceBid') && req.caller !== 'valid')
    return `a ${req.method} with ${req.caller === 'none' ? 'no token' : `a bad token (${req.caller})`} was accepted`;
  if (answer.grpc && answer.grpc.status !== 0) {
    if (GRPC_SERVER_FAULTS.has(answer.grpc.status) && !answer.grpc.message.startsWith('parse binary: '))
      return `gRPC status ${answer.grpc.status} while every dependency is up`;
    return answer.grpc.message === '' ? `gRPC status ${answer.grpc.status} with no reason` : undefined;
  }
  if (answer.status >= 500) {
    // gRPC's status codes (which Connect follows) make "error parsing request proto" INTERNAL,
    // and connect-es answers so before any code of ours runs. It leaks no more than the parser's words.
    if (req.transport === 'connect' && answer.status === 500 && /^\{"code":"internal","message":"parse binary: /.test(answer.body.toString('utf8')))
      return undefined;
    return `a ${answer.status} while every dependency is up`;
  }
  if (answer.status < 400) return undefined;
  if (req.transport === 'connect' && answer.status === 415) {
    // Connect's answer to a content type it does not speak: no body, the status is the reason.
    return undefined;
  }
  const text = answer.body.toString('utf8');
  if (!answer.contentType.startsWith('application/json')) return text.trim() === '' ? `a ${answer.status} with no reason in its body` : undefined;
  type ErrorBody = { code?: unknown; message?: unknown; field?: unknown };
  let parsed: ErrorBody & { error?: ErrorBody };
  try {
    parsed = JSON.parse(text);
  } catch {
    return `a ${answer.status} whose JSON body does not parse`;
  }
  const error = req.transport === 'http' ? parsed.error : parsed;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string' || error.message === '') return `a ${answer.status} that names no code and reason`;
  if (req.transport === 'http' && error.code === 'invalid_argument' && typeof error.field !== 'string') return 'an invalid_argument that names no field';
  return undefined;
}

/**
 * Node's HTTP parser answers a request line with raw bytes above 0x7f with 400 and closes the
 * connection, and a body above the 64 KiB limit is refused before it is read: the client may
 * see the connection reset instead of the answer. Any other reset is a defect.
 */
const mayBeCutOff = (req: FuzzRequest) => (req.transport === 'http' && /[^\x21-\x7e]/.test(req.path)) || req.body.length > 64 * 1024;

/** What a 2xx wrote: the ids of the items and bids it created, so the row counts can be checked. */
function written(req: FuzzRequest, answer: Answer): { items: string[]; bids: string[] } {
  const none = { items: [], bids: [] };
  if (answer.status < 200 || answer.status >= 300 || (answer.grpc && answer.grpc.status !== 0)) return none;
  if (req.transport === 'http') {
    if (req.method !== 'POST') return none;
    const id = (JSON.parse(answer.body.toString('utf8')) as { id: string }).id;
    return /\/bids$/.test(req.path) ? { items: [], bids: [id] } : { items: [id], bids: [] };
  }
  const json = answer.contentType.startsWith('application/json');
  // A gRPC message comes in an envelope: one flag byte, four bytes of length.
  const message = answer.contentType.startsWith('application/grpc') ? answer.body.subarray(5) : answer.body;
  if (req.method === 'CreateItem') {
    const res = json ? (JSON.parse(answer.body.toString('utf8')) as { item: { id: string } }) : fromBinary(CreateItemResponseSchema, message);
    return { items: [res.item!.id], bids: [] };
  }
  if (req.method === 'PlaceBid') {
    const res = json ? (JSON.parse(answer.body.toString('utf8')) as { bid: { id: string } }) : fromBinary(PlaceBidResponseSchema, message);
    return { items: [], bids: [res.bid!.id] };
  }
  return none;
}

const describeRequest = (req: FuzzRequest) =>
  JSON.stringify({
    ...req,
    body: req.body.length > 200 ? `${req.body.length} bytes: ${req.body.subarray(0, 120).toString('latin1')}…` : req.body.toString('latin1'),
  });

const counts = async () => {
  const { rows } = await env.db.query<{ items: bigint; bids: bigint; outbox: bigint }>(
    'SELECT (SELECT count(*) FROM items) AS items, (SELECT count(*) FROM bids) AS bids, (SELECT count(*) FROM outbox) AS outbox',
  );
  return rows[0]!;
};

describe('hostile requests, generated', () => {
  it('never crash the service, never answer 5xx, always name a field or a reason, and write nothing when refused', { timeout: 600_000 }, async () => {
    console.log(`fuzz: ${RUNS} requests, seed ${SEED} (replay: npm run fuzz -- --seed ${SEED} --runs ${RUNS})`);
    const before = await counts();
    const items = new Set<string>();
    const bids = new Set<string>();
    const run = await fc.check(
      fc.asyncProperty(fc.oneof(httpRequest, connectRequest, wellFormedCreate), async (req) => {
        let answer: Answer;
        try {
          answer = req.transport === 'http' ? await sendHttp(req) : await sendConnect(req);
        } catch (err) {
          const exit = await Promise.race([service.exited, new Promise((r) => setTimeout(() => r(undefined), 500))]);
          if (!exit && mayBeCutOff(req)) return;
          throw new Error(
            `${describeRequest(req)}\n  got no answer (${coerceError(err).message}); the service ${exit ? `exited ${JSON.stringify(exit)}` : 'is still running'}; its last output:\n  ${service.otherOutput.slice(-14).join('\n  ')}`,
          );
        }
        const problem = problemWith(req, answer);
        if (problem) throw new Error(`${describeRequest(req)}\n  answered ${answer.status} ${answer.body.subarray(0, 300).toString('utf8')}: ${problem}`);
        let w: ReturnType<typeof written>;
        try {
          w = written(req, answer);
        } catch (err) {
          throw new Error(
            `${describeRequest(req)}\n  answered ${answer.status} ${answer.contentType} ${answer.body.subarray(0, 300).toString('utf8')}, which says nothing of what it wrote (${coerceError(err).message})`,
          );
        }
        for (const id of w.items) items.add(id);
        for (const id of w.bids) bids.add(id);
      }),
      // No shrinking: after a crash every later request fails too, so a shrunk case would lie.
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    // fast-check's own report prints the whole counterexample (70 kB bodies); ours is one request, cut short.
    const failure = run.failed
      ? `request ${run.numRuns} of seed ${run.seed} (path ${run.counterexamplePath}):\n${coerceError(run.errorInstance).message ?? String(run.errorInstance)}`
      : undefined;
    expect(failure, 'the first request that broke an invariant').toBeUndefined();
    const after = await counts();
    expect(
      { items: after.items - before.items, bids: after.bids - before.bids, outbox: after.outbox - before.outbox },
      'rows written: only by the requests that were accepted',
    ).toEqual({ items: BigInt(items.size), bids: BigInt(bids.size), outbox: BigInt(bids.size) });
  });
});
