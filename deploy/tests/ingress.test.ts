// The ingress (milestone 6): the real caddy binary with deploy/ingress/Caddyfile, the file
// docker-compose mounts, in front of tiny node:http2 cleartext (h2c) servers standing in for
// bid-service's API port. Each upstream answers with what reached it, so a test can tell what
// the ingress forwarded from what it answered itself.
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngress, type Ingress } from '#testkit/ingress.ts';

interface Seen {
  method: string;
  path: string;
  httpVersion: string;
  correlationId: string | null;
  body: string;
  upstream: string;
}

interface Upstream {
  name: string;
  /** host:port, as API_UPSTREAMS takes it. */
  address: string;
  seen: Seen[];
  /** Chunks /api/stream has written so far. */
  chunksWritten: () => number;
  close: () => Promise<void>;
}

const STREAM_CHUNKS = 10;
const STREAM_BODY = Array.from({ length: STREAM_CHUNKS }, (_, i) => `message ${i + 1}\n`).join('');

async function startUpstream(name: string): Promise<Upstream> {
  const seen: Seen[] = [];
  let chunksWritten = 0;
  // createServer, not createSecureServer: HTTP/2 in cleartext with prior knowledge, as
  // bid-service serves its API port.
  const server = http2.createServer(async (req, res) => {
    let body = '';
    // An upload the ingress cuts off (over its request_body limit) ends early; the echo answers what came.
    try {
      for await (const chunk of req) body += String(chunk);
    } catch {
      return;
    }
    const correlationId = (req.headers['x-correlation-id'] as string | undefined) ?? null;
    const record: Seen = { method: req.method, path: req.url, httpVersion: req.httpVersion, correlationId, body, upstream: name };
    seen.push(record);
    if (correlationId) res.setHeader('x-correlation-id', correlationId);
    if (req.url?.startsWith('/api/stream')) {
      // A server stream: one message every 100 ms for a second. Connect sends a stream
      // without a content-length; ?length sends one (the whole stream's), as a response
      // whose size is known in advance would.
      const length = req.url.endsWith('?length') ? { 'content-length': String(STREAM_BODY.length) } : {};
      res.writeHead(200, { 'content-type': 'text/plain', ...length });
      chunksWritten = 0;
      for (let i = 1; i <= STREAM_CHUNKS; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        res.write(`message ${i}\n`);
        chunksWritten = i;
      }
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(record));
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name,
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    seen,
    chunksWritten: () => chunksWritten,
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** host:port where nothing listens: a bid-service that was killed. */
async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body as the 'data' events delivered it. */
  chunks: string[];
}

/** One request over HTTP/2 and TLS, trusting only the ingress's local CA. */
async function h2Request(
  ingress: Ingress,
  request: { path: string; method?: string; headers?: Record<string, string>; body?: string; onFirstChunk?: () => void },
): Promise<Answer> {
  const ca = await readFile(ingress.caCertPath, 'utf8');
  const session = http2.connect(ingress.url, { ca });
  try {
    return await new Promise<Answer>((resolve, reject) => {
      session.once('error', reject);
      const stream = session.request({ ':method': request.method ?? 'POST', ':path': request.path, ...request.headers });
      let status = 0;
      let headers: Answer['headers'] = {};
      const chunks: string[] = [];
      stream.on('response', (h) => {
        status = Number(h[':status']);
        headers = h;
      });
      stream.on('data', (chunk: Buffer) => {
        if (chunks.length === 0) request.onFirstChunk?.();
        chunks.push(chunk.toString());
      });
      stream.on('end', () => resolve({ status, headers, body: chunks.join(''), chunks }));
      stream.on('error', reject);
      stream.end(request.body);
    });
  } finally {
    session.close();
  }
}

/** One request over HTTP/1.1 and TLS (ALPN offers only http/1.1). */
async function http1Request(
  ingress: Ingress,
  request: { path: string; body: string; headers?: Record<string, string> },
): Promise<Answer & { httpVersion: string; alpn: string | false }> {
  const ca = await readFile(ingress.caCertPath, 'utf8');
  // node:https hands ALPNProtocols on to tls.connect; its types leave it out.
  const options: https.RequestOptions & Pick<tls.ConnectionOptions, 'ALPNProtocols'> = {
    method: 'POST',
    ca,
    ALPNProtocols: ['http/1.1'],
    agent: false,
    headers: request.headers,
  };
  return new Promise((resolve, reject) => {
    const req = https.request(`${ingress.url}${request.path}`, options, (res) => {
      const chunks: string[] = [];
      const alpn = (res.socket as tls.TLSSocket).alpnProtocol ?? false;
      res.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: chunks.join(''), chunks, httpVersion: res.httpVersion, alpn }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

/** A stand-in for the built page (web/dist): index.html and one hashed asset. */
async function pageFiles(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wb-web-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>Live auctions</title>');
  await writeFile(join(dir, 'assets', 'index-abc123.js'), 'console.log("page")');
  return dir;
}

describe('the ingress in front of one h2c upstream', () => {
  let upstream: Upstream;
  let ingress: Ingress;
  let webRoot: string;
  beforeAll(async () => {
    upstream = await startUpstream('only');
    webRoot = await pageFiles();
    ingress = await startIngress({ upstreams: [upstream.address], webRoot });
  });
  afterAll(async () => {
    await ingress?.stop();
    await upstream?.close();
    if (webRoot) await rm(webRoot, { recursive: true, force: true });
  });

  it('serves TLS with a certificate for localhost from its local CA', () => {
    expect(ingress.url).toMatch(/^https:\/\/localhost:\d+$/);
    expect(ingress.caCertPath).toMatch(/pki\/authorities\/local\/root\.crt$/);
  });

  it('forwards /api/* over HTTP/2 (h2c) with the path, the body and x-correlation-id unchanged, and the correlation id comes back', async () => {
    const answer = await h2Request(ingress, {
      path: '/api/auction.api.v1.AuctionService/PlaceBid?x=1',
      headers: { 'x-correlation-id': 'corr-123', 'content-type': 'application/json' },
      body: '{"itemId":"42"}',
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      upstream: 'only',
      method: 'POST',
      path: '/api/auction.api.v1.AuctionService/PlaceBid?x=1',
      httpVersion: '2.0',
      correlationId: 'corr-123',
      body: '{"itemId":"42"}',
    });
    expect(answer.headers['x-correlation-id']).toBe('corr-123');
  });

  it('serves the page itself at / (index.html) and its assets, with a policy that lets it call only its own origin; the upstream never sees them', async () => {
    const before = upstream.seen.length;
    const page = await h2Request(ingress, { path: '/', method: 'GET' });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Live auctions</title>');
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.headers['cache-control']).toBe('no-cache');
    const asset = await h2Request(ingress, { path: '/assets/index-abc123.js', method: 'GET' });
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect(upstream.seen.length, 'requests that reached the upstream').toBe(before);
  });

  it('answers anything that is neither the page nor under /api/ itself with 404 and a short explanation, never the page; the upstream never sees it', async () => {
    const before = upstream.seen.length;
    for (const path of ['/other', '/api', '/apix/y', '/auction.api.v1.AuctionService/GetItem', '/assets/missing.js']) {
      const answer = await h2Request(ingress, { path, method: 'GET' });
      expect(answer.status, path).toBe(404);
      expect(answer.body, path).toContain('/api/* only');
    }
    expect(upstream.seen.length, 'requests that reached the upstream').toBe(before);
  });

  it('forwards a client that speaks HTTP/1.1 to the upstream over HTTP/2 all the same', async () => {
    const answer = await http1Request(ingress, { path: '/api/echo', body: 'hello', headers: { 'x-correlation-id': 'corr-h1' } });
    expect(answer.alpn, 'protocol negotiated in the TLS handshake').toBe('http/1.1');
    expect(answer.httpVersion, 'between client and ingress').toBe('1.1');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ path: '/api/echo', httpVersion: '2.0', correlationId: 'corr-h1', body: 'hello' });
    expect(answer.headers['x-correlation-id']).toBe('corr-h1');
  });

  // Caddy passes on at once every response without a length (a stream); flush_interval -1
  // extends that to responses with one, which it would otherwise buffer.
  it.each([
    ['a server stream without a content-length (as Connect sends one)', '/api/stream'],
    ['a response with a content-length, written in pieces', '/api/stream?length'],
  ])('passes on %s message by message, not buffered until it ends', async (_, path) => {
    let writtenWhenFirstArrived = -1;
    const answer = await h2Request(ingress, { path, method: 'GET', onFirstChunk: () => (writtenWhenFirstArrived = upstream.chunksWritten()) });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(STREAM_BODY);
    // The first message reached the client while the upstream was still writing the rest.
    expect(writtenWhenFirstArrived).toBeGreaterThanOrEqual(1);
    expect(writtenWhenFirstArrived).toBeLessThan(STREAM_CHUNKS);
    expect(answer.chunks.length, 'separate deliveries').toBeGreaterThan(STREAM_CHUNKS / 2);
  });
});

describe('the ingress in front of two upstreams, one of them down', () => {
  let live: Upstream;
  let ingress: Ingress;
  beforeAll(async () => {
    live = await startUpstream('live');
    ingress = await startIngress({ upstreams: [await deadAddress(), live.address] });
  });
  afterAll(async () => {
    await ingress?.stop();
    await live?.close();
  });

  it('answers every request from the live one: a refused connection is retried on the other upstream (lb_try_duration)', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h2Request(ingress, { path: `/api/echo/${i}`, headers: { 'x-correlation-id': `corr-${i}` }, body: `bid ${i}` })),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(answers.map((a) => JSON.parse(a.body) as Seen)).toEqual(
      answers.map((_, i) => ({ upstream: 'live', method: 'POST', path: `/api/echo/${i}`, httpVersion: '2.0', correlationId: `corr-${i}`, body: `bid ${i}` })),
    );
    // Each request reached the live upstream exactly once.
    expect(live.seen.map((s) => s.path).sort()).toEqual(answers.map((_, i) => `/api/echo/${i}`).sort());
  });
});

// Its own ingress, so that a refused upload can never affect the tests above (with passive
// health checks, Caddy counted it as a failure of the upstream and answered 503 for a while).
describe('the ingress’s request limits', () => {
  let upstream: Upstream;
  let ingress: Ingress;
  beforeAll(async () => {
    upstream = await startUpstream('limits');
    ingress = await startIngress({ upstreams: [upstream.address] });
  });
  afterAll(async () => {
    await ingress?.stop();
    await upstream?.close();
  });

  it('refuses a request body over 256 KiB (413) and request headers over 32 KiB (431) itself', async () => {
    const small = await http1Request(ingress, { path: '/api/echo', body: 'a'.repeat(200 * 1024) });
    expect(small.status, 'a 200 KiB body').toBe(200);
    const headers = await http1Request(ingress, { path: '/api/echo', body: '', headers: { 'x-padding': 'a'.repeat(40 * 1024) } });
    expect(headers.status, '40 KiB of request headers').toBe(431);
    // And a request after the refused upload is still served: one client's bad request does not take the upstream out.
    const big = await http1Request(ingress, { path: '/api/echo', body: 'a'.repeat(300 * 1024) }).catch((err: Error) => ({ status: `error ${err.message}` }));
    expect(big.status, 'a 300 KiB body').toBe(413);
    const after = await http1Request(ingress, { path: '/api/echo', body: 'after' });
    expect(after.status, 'the next request, after the refused upload').toBe(200);
  });
});
