import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '#testkit/fault-proxy.ts';

// Most behaviours are shown against a tiny echo server started here, which also records
// what reached it, so a test can tell "swallowed on the way in" from "on the way out".
interface Echo {
  port: number;
  received: () => string;
  openSockets: () => number;
  close: () => Promise<void>;
}

async function startEcho(): Promise<Echo> {
  let received = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => {
      received += chunk.toString();
      socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => received,
    openSockets: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// A client that keeps everything it has read and can wait for a text or for the close.
interface Client {
  socket: net.Socket;
  text: () => string;
  waitFor: (text: string) => Promise<void>;
  /** Resolves when the connection is gone, with the error code the client saw, if any. */
  closed: Promise<string | undefined>;
}

function connect(port: number): Client {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  let error: string | undefined;
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk) => {
    text += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code));
  const closed = new Promise<string | undefined>((resolve) => socket.on('close', () => resolve(error)));
  const waitFor = async (wanted: string): Promise<void> => {
    while (!text.includes(wanted)) {
      if (socket.destroyed) throw new Error(`connection closed before ${JSON.stringify(wanted)} arrived (got ${JSON.stringify(text)})`);
      await new Promise<void>((wake) => {
        waiters.push(wake);
        socket.once('close', wake);
      });
    }
  };
  return { socket, text: () => text, waitFor, closed };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until a condition holds; counts and socket states settle a tick or two after the event. */
async function eventually(check: () => boolean): Promise<void> {
  while (!check()) await pause(5);
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ echo: Echo; proxy: FaultProxy; client: () => Client }> {
  const echo = await startEcho();
  cleanups.push(echo.close);
  const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: echo.port } });
  cleanups.push(() => proxy.close());
  const client = () => {
    const c = connect(proxy.port);
    cleanups.push(() => void c.socket.destroy());
    return c;
  };
  return { echo, proxy, client };
}

describe('fault proxy: forwarding', () => {
  it('forwards bytes both ways, one upstream connection per client', async () => {
    const { echo, proxy, client } = await setup();
    const a = client();
    const b = client();
    a.socket.write('hello from a');
    b.socket.write('hello from b');
    await a.waitFor('hello from a');
    await b.waitFor('hello from b');
    expect(a.text()).toBe('hello from a');
    expect(b.text()).toBe('hello from b');
    expect(proxy.connections).toBe(2);
    expect(echo.openSockets()).toBe(2);
  });

  it('counts a connection until the client closes it, and closes the upstream side too', async () => {
    const { echo, proxy, client } = await setup();
    const a = client();
    a.socket.write('x');
    await a.waitFor('x');
    expect(proxy.connections).toBe(1);
    a.socket.end();
    await a.closed;
    await eventually(() => proxy.connections === 0 && echo.openSockets() === 0);
  });

  it('works end to end with a real Redis through url(): raw RESP PING -> +PONG', async () => {
    // No port in the target URL: the proxy takes the protocol's default, 6379.
    const redisUrl = 'redis://127.0.0.1';
    const proxy = await startFaultProxy({ target: redisUrl });
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(proxy.url(redisUrl));
    expect(viaProxy.port).toBe(String(proxy.port));
    const redis = connect(Number(viaProxy.port));
    cleanups.push(() => void redis.socket.destroy());
    redis.socket.write('PING\r\n');
    await redis.waitFor('\r\n');
    expect(redis.text()).toBe('+PONG\r\n');
  });

  it('closes the client when the target cannot be reached, instead of leaving it hanging', async () => {
    const gone = net.createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const deadPort = (gone.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));

    const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: deadPort } });
    cleanups.push(() => proxy.close());
    const c = connect(proxy.port);
    await c.closed;
    expect(c.text()).toBe('');
    await eventually(() => proxy.connections === 0);
  });
});

describe('fault proxy: cutAll()', () => {
  it('destroys every open connection on both sides at once', async () => {
    const { echo, proxy, client } = await setup();
    const a = client();
    const b = client();
    a.socket.write('a');
    b.socket.write('b');
    await a.waitFor('a');
    await b.waitFor('b');

    proxy.cutAll();

    expect(proxy.connections).toBe(0);
    await Promise.all([a.closed, b.closed]);
    await eventually(() => echo.openSockets() === 0);
  });

  it('leaves the proxy listening: a new client gets through', async () => {
    const { proxy, client } = await setup();
    const before = client();
    before.socket.write('1');
    await before.waitFor('1');
    proxy.cutAll();
    await before.closed;

    const after = client();
    after.socket.write('2');
    await after.waitFor('2');
    expect(proxy.connections).toBe(1);
  });
});

describe('fault proxy: refuse()', () => {
  it('while on, resets new connections at once; existing ones keep working', async () => {
    const { echo, proxy, client } = await setup();
    const existing = client();
    existing.socket.write('before');
    await existing.waitFor('before');

    proxy.refuse(true);
    const refused = client();
    refused.socket.write('knock');
    expect(await refused.closed).toBe('ECONNRESET');
    expect(refused.text()).toBe('');

    existing.socket.write(' still here');
    await existing.waitFor('before still here');
    expect(proxy.connections).toBe(1);
    expect(echo.received()).not.toContain('knock');
  });

  it('refuse(false) lets new connections through again, without restarting the proxy', async () => {
    const { proxy, client } = await setup();
    const port = proxy.port;
    proxy.refuse(true);
    await client().closed;

    proxy.refuse(false);
    const c = client();
    c.socket.write('back');
    await c.waitFor('back');
    expect(proxy.port).toBe(port);
  });
});

describe('fault proxy: latency()', () => {
  it('delays every chunk in both directions by at least the latency', async () => {
    const { client, proxy } = await setup();
    const c = client();
    c.socket.write('warm');
    await c.waitFor('warm'); // connected and upstream ready: only the latency is timed below

    proxy.latency(100);
    const start = performance.now();
    c.socket.write('slow');
    await c.waitFor('slow');
    // 100 ms on the way in plus 100 ms on the way out. Lower bound only: machines are noisy.
    // (1 ms slack per hop: the proxy's clock has 1 ms resolution.)
    expect(performance.now() - start).toBeGreaterThanOrEqual(198);
  });

  it('keeps byte order, even when the latency drops while chunks are still in flight', async () => {
    const { echo, client, proxy } = await setup();
    const c = client();
    c.socket.write('<');
    await c.waitFor('<');

    proxy.latency(150);
    c.socket.write('a');
    await pause(20);
    c.socket.write('b');
    await pause(20);
    proxy.latency(0); // 'c' is not delayed itself, but must not overtake 'a' and 'b'
    c.socket.write('c');
    await c.waitFor('abc');
    expect(echo.received()).toBe('<abc');
    expect(c.text()).toBe('<abc');
  });

  it('latency(0) turns the delay off again', async () => {
    const { client, proxy } = await setup();
    proxy.latency(50);
    proxy.latency(0);
    const c = client();
    c.socket.write('quick');
    await c.waitFor('quick');
    expect(c.text()).toBe('quick');
  });
});

describe('fault proxy: blackhole()', () => {
  it('swallows bytes both ways while keeping connections open, then forwards new bytes again', async () => {
    const { echo, proxy, client } = await setup();
    const c = client();
    c.socket.write('seen ');
    await c.waitFor('seen ');

    proxy.blackhole(true);
    c.socket.write('lost ');
    await pause(100); // enough for 'lost ' to make the round trip, were it forwarded
    expect(echo.received()).toBe('seen ');
    expect(c.text()).toBe('seen ');
    expect(c.socket.destroyed).toBe(false);
    expect(proxy.connections).toBe(1);

    proxy.blackhole(false);
    c.socket.write('found');
    await c.waitFor('found');
    // The swallowed bytes are gone for good; only the new ones arrive.
    expect(echo.received()).toBe('seen found');
    expect(c.text()).toBe('seen found');
  });

  it('also swallows bytes already in flight: a reply held up by latency never arrives', async () => {
    const { echo, proxy, client } = await setup();
    const c = client();
    proxy.latency(100);
    c.socket.write('ping');
    await eventually(() => echo.received() === 'ping'); // the echo has replied at once...
    proxy.blackhole(true); // ...and the reply is still on its 100 ms way back when the path dies
    await pause(250);
    expect(c.text()).toBe('');
    expect(c.socket.destroyed).toBe(false);
  });
});

describe('fault proxy: url()', () => {
  it.each([
    ['postgres://app:s3cret@db.internal:5432/auction?sslmode=disable', 'postgres://app:s3cret@127.0.0.1:PORT/auction?sslmode=disable'],
    ['postgresql://app:p%40ss@10.0.0.5/auction', 'postgresql://app:p%40ss@127.0.0.1:PORT/auction'],
    ['amqp://guest:guest@rabbit:5672/%2F?heartbeat=5', 'amqp://guest:guest@127.0.0.1:PORT/%2F?heartbeat=5'],
    ['amqp://guest:guest@127.0.0.1:5672', 'amqp://guest:guest@127.0.0.1:PORT'],
    ['redis://:hunter2@cache:6379/2', 'redis://:hunter2@127.0.0.1:PORT/2'],
    ['redis://cache', 'redis://127.0.0.1:PORT'],
  ])('%s goes through the proxy', async (serviceUrl, expected) => {
    const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: 1 } });
    cleanups.push(() => proxy.close());
    expect(proxy.url(serviceUrl)).toBe(expected.replace('PORT', String(proxy.port)));
  });

  it('refuses a target URL without a port whose protocol has no default', async () => {
    await expect(startFaultProxy({ target: 'mysql://db/auction' })).rejects.toThrow(
      'fault proxy: no port in "mysql://db/auction" and no default port for mysql:',
    );
  });
});

describe('fault proxy: close()', () => {
  it('destroys open connections and stops listening', async () => {
    const { echo, proxy, client } = await setup();
    const c = client();
    c.socket.write('x');
    await c.waitFor('x');

    await proxy.close();

    await c.closed;
    expect(proxy.connections).toBe(0);
    await eventually(() => echo.openSockets() === 0);
    expect(await connect(proxy.port).closed).toBe('ECONNREFUSED');
  });
});
