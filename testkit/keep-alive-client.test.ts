import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KeepAliveClient, KeepAliveClientError } from './keep-alive-client.ts';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** A server on a free port of 127.0.0.1; closed after the test. */
async function listen<T extends Server | net.Server>(server: T): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    (server as Server).closeAllConnections?.();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

describe('KeepAliveClient', () => {
  it('POSTs JSON and reads the status and JSON answer, every request on one connection', async () => {
    const seen: Array<{ method?: string; url?: string; type?: string; body: string }> = [];
    let connections = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
        const text = JSON.stringify({ echo: JSON.parse(body), n: seen.length, note: 'prix dépassé' });
        res.writeHead(seen.length === 1 ? 201 : 409, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
    server.on('connection', () => connections++);
    const client = new KeepAliveClient(await listen(server));
    closers.push(() => client.close());
    const first = await client.postJson('/items/x/bids', JSON.stringify({ amountCents: '1500', who: 'Zoë' }));
    const second = await client.postJson('/items/x/bids', '{"amountCents":"1600"}');
    expect(first).toEqual({ status: 201, json: { echo: { amountCents: '1500', who: 'Zoë' }, n: 1, note: 'prix dépassé' } });
    expect(second).toMatchObject({ status: 409, json: { n: 2 } });
    expect(seen[0]).toEqual({ method: 'POST', url: '/items/x/bids', type: 'application/json', body: '{"amountCents":"1500","who":"Zoë"}' });
    expect(connections, 'connections the two requests opened').toBe(1);
  });

  it('reads an answer that arrives in pieces', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\ncont');
        setTimeout(() => socket.write('ent-length: 10\r\n\r\n{"a":'), 20);
        setTimeout(() => socket.write('"bc"}'), 40);
      });
    });
    const client = new KeepAliveClient(await listen(server));
    closers.push(() => client.close());
    expect(await client.postJson('/', '{}')).toEqual({ status: 409, json: { a: 'bc' } });
  });

  it('fails the request in flight when the server closes the connection, and opens a new one for the next', async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      if (requests === 1) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
    });
    const client = new KeepAliveClient(await listen(server));
    closers.push(() => client.close());
    await expect(client.postJson('/', '{}')).rejects.toBeInstanceOf(Error);
    expect(await client.postJson('/', '{}')).toEqual({ status: 200, json: {} });
  });

  it('refuses an answer without a content-length (chunked), and one that does not come in time', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/slow') return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      res.end('}');
    });
    const url = await listen(server);
    const client = new KeepAliveClient(url, { timeoutMs: 200 });
    closers.push(() => client.close());
    await expect(client.postJson('/', '{}')).rejects.toThrow(/content-length/);
    const started = performance.now();
    await expect(client.postJson('/slow', '{}')).rejects.toThrow(KeepAliveClientError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });
});
