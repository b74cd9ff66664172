// A TCP proxy that sits between ONE client and a service (PostgreSQL, RabbitMQ, Redis),
// so a test or chaos script can break that client's network without touching the
// service or any other client. It speaks no protocol: it only moves bytes, or doesn't.

import net from 'node:net';

export interface FaultProxy {
  /** The local port clients connect to (on 127.0.0.1). */
  readonly port: number;
  /** Rewrites a service URL (postgres://, amqp://, redis://) so it goes through the proxy (host 127.0.0.1, port = proxy port), keeping user, password, path and query. */
  url(serviceUrl: string): string;
  /** Destroys every open connection (both sides) at once, as if the network dropped. */
  cutAll(): void;
  /** While on, new connections are accepted and immediately destroyed (the client sees ECONNRESET / connection closed); existing ones untouched. */
  refuse(on: boolean): void;
  /** Adds this many ms of delay to every chunk in both directions (0 = none). Byte order is preserved. */
  latency(ms: number): void;
  /** While on, bytes in both directions are swallowed silently (connections stay open, nothing arrives), like a dead network path; this includes bytes still held back by latency. Turning it off resumes forwarding of new bytes (swallowed bytes are gone). */
  blackhole(on: boolean): void;
  /** Number of currently open client connections. */
  readonly connections: number;
  /** Stops listening and destroys all connections. */
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Where to forward: host and port, or a service URL (default port taken from its protocol). */
  target: { host: string; port: number } | string;
  /** Local port to listen on; 0 (the default) picks a free one. */
  listenPort?: number;
}

const defaultPorts: Record<string, number> = {
  'postgres:': 5432,
  'postgresql:': 5432,
  'amqp:': 5672,
  'amqps:': 5671,
  'redis:': 6379,
  'rediss:': 6379,
};

function parseTarget(target: FaultProxyOptions['target']): { host: string; port: number } {
  if (typeof target !== 'string') return target;
  const url = new URL(target);
  const port = url.port ? Number(url.port) : defaultPorts[url.protocol];
  if (port === undefined) {
    throw new Error(`fault proxy: no port in ${JSON.stringify(target)} and no default port for ${url.protocol}`);
  }
  // URL keeps IPv6 hosts in brackets; net.connect wants them bare.
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port };
}

/** Ends a socket abruptly. A reset (RST) makes the peer see ECONNRESET at once, like a dropped link. */
function kill(socket: net.Socket): void {
  // resetAndDestroy() waits for a pending connect before resetting; we want it gone now.
  if (socket.destroyed || socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = parseTarget(options.target);
  let refusing = false;
  let delayMs = 0;
  let blackholed = false;
  /** Each open client connection, with its upstream twin. */
  const open = new Map<net.Socket, net.Socket>();

  /** Forwards bytes from -> to, honouring blackhole and latency, keeping order. */
  function forward(from: net.Socket, to: net.Socket): void {
    // Delayed chunks wait in a FIFO with a due time. One timer serves the head only,
    // so a later chunk never overtakes an earlier one even if latency changes meanwhile.
    const queue: { due: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    let draining = false;

    const write = (chunk: Buffer): void => {
      if (to.destroyed) return;
      // Respect backpressure so a slow reader cannot make us buffer without bound.
      if (!to.write(chunk) && !draining) {
        draining = true;
        from.pause();
        to.once('drain', () => {
          draining = false;
          from.resume();
        });
      }
    };
    const flush = (): void => {
      timer = undefined;
      for (let head = queue[0]; head; head = queue[0]) {
        const wait = head.due - Date.now();
        if (wait > 0) {
          timer = setTimeout(flush, wait);
          return;
        }
        queue.shift();
        // A dead path also eats what was already on its way.
        if (!blackholed) write(head.chunk);
      }
      if (ended && !to.destroyed) to.end();
    };

    from.on('data', (chunk: Buffer) => {
      if (blackholed) return;
      if (delayMs === 0 && queue.length === 0) return write(chunk);
      queue.push({ due: Date.now() + delayMs, chunk });
      if (!timer) flush();
    });
    // Pass a half-close (FIN) on only after the delayed bytes before it have gone out.
    from.on('end', () => {
      ended = true;
      if (!timer) flush();
    });
    from.on('close', () => clearTimeout(timer));
  }

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', () => {}); // resets are expected here; 'close' does the cleanup
    if (refusing) return kill(client);

    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    upstream.on('error', () => {});
    open.set(client, upstream);
    forward(client, upstream);
    forward(upstream, client);
    // A clean close needs nothing more: the FINs were passed on by forward(). But when one
    // side dies of an error (reset, refused connect), the other must die too, or it would
    // hang half-dead.
    client.on('close', (hadError) => {
      open.delete(client);
      if (hadError) kill(upstream);
    });
    upstream.on('close', (hadError) => {
      if (hadError) kill(client);
    });
  });
  server.on('error', () => {}); // e.g. EMFILE on accept; listen errors are reported below

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  const cutAll = (): void => {
    for (const [client, upstream] of open) {
      kill(client);
      kill(upstream);
    }
    open.clear();
  };

  return {
    port,
    get connections() {
      return open.size;
    },
    url(serviceUrl) {
      const url = new URL(serviceUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    cutAll,
    refuse(on) {
      refusing = on;
    },
    latency(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`fault proxy: latency must be >= 0 ms, got ${ms}`);
      delayMs = ms;
    },
    blackhole(on) {
      blackholed = on;
    },
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      cutAll();
      return closed;
    },
  };
}
