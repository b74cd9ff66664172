// Where the services come from: the probe that tells "running" from "not running" must not
// say "not running" because this process was too busy to look.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpReachable } from './infra.ts';

let server: Server;
let port = 0;
beforeAll(async () => {
  server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Keeps this process's event loop busy for `ms`, as loading and compiling modules does at start on a loaded machine. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('tcpReachable', () => {
  it('says a listening port is reachable even when this process was busy past the timeout', async () => {
    // The kernel accepted the connection long before the timeout; only the event loop, busy,
    // had not looked. Node runs expired timers before it reads I/O, so a probe that trusts its
    // timer alone said "not reachable" for all three services of a running machine.
    const probe = tcpReachable('127.0.0.1', port, 50);
    busyFor(200);
    expect(await probe, `tcpReachable(127.0.0.1:${port}, 50 ms) after 200 ms with the event loop busy`).toBe(true);
  });

  it('says a port nobody listens on is not reachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await tcpReachable('127.0.0.1', freePort, 500)).toBe(false);
  });
});
