// The test kit releases what a scenario acquired, in reverse order, however the scenario ends.
// The defect this pins: in 02-outbox/chaos/broker-down.ts, a bid-service that failed to start
// left the fault proxy, the event collector and the bid-worker started before it running, and
// the scenario's database, exchange and queues on the services (its `finally` began after it).
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, inject, it } from 'vitest';
import { scenario as brokerDown } from '../milestones/02-outbox/chaos/broker-down.ts';
import { databaseExists, databaseName } from '../runtime/migrate.ts';
import { openInstance } from './instance.ts';
import { processRunning } from './process-running.ts';
import { Releasers, withReleasers } from './releasers.ts';
import { runScenario } from '../workbook/commands/chaos.ts';
import { solutionsDir } from '../workbook/trees.ts';

/** A tree whose bid-worker starts (and writes down the config it was given) and whose bid-service cannot start. */
async function treeWithBrokenService(): Promise<{ tree: string; probe: string }> {
  const tree = await mkdtemp(join(tmpdir(), 'wb-kit-'));
  const probe = join(tree, 'probe.json');
  await cp(join(solutionsDir, 'migrations'), join(tree, 'migrations'), { recursive: true });
  await mkdir(join(tree, 'src'));
  await writeFile(
    join(tree, 'src/bid-worker.ts'),
    `import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
writeFileSync(${JSON.stringify(probe)}, JSON.stringify({ pid: process.pid, databaseUrl: process.env.DATABASE_URL, amqpUrl: process.env.AMQP_URL, exchange: process.env.AMQP_EXCHANGE }));
const server = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ level: 30, event: 'listening', msg: 'bid-worker listening', port: (server.address() as { port: number }).port }));
});
`,
  );
  await writeFile(join(tree, 'src/bid-service.ts'), `throw new Error('bid-service cannot start (a fixture of testkit/instance.test.ts)');\n`);
  return { tree, probe };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true))).once('error', () => resolve(false));
  });

describe('the kit releases what a scenario acquired', () => {
  it('when bid-service fails to start in broker-down, the worker, proxy, database and exchange acquired before it are gone', async () => {
    const workbook = inject('workbook');
    const { tree, probe } = await treeWithBrokenService();
    try {
      await expect(runScenario(brokerDown, tree, () => undefined)).rejects.toThrow(/bid-service/);
      const seen = JSON.parse(await readFile(probe, 'utf8')) as { pid: number; databaseUrl: string; amqpUrl: string; exchange: string };
      const proxyPort = Number(new URL(seen.amqpUrl).port);
      const leaks = {
        workerRunning: processRunning(seen.pid),
        proxyListening: await listening(proxyPort),
        databaseLeft: await databaseExists(workbook.databaseUrl, databaseName(seen.databaseUrl)),
        exchangeLeft: await exchangeExists(workbook.amqpUrl, seen.exchange),
      };
      expect(leaks).toEqual({ workerRunning: false, proxyListening: false, databaseLeft: false, exchangeLeft: false });
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  });
});

async function exchangeExists(amqpUrl: string, exchange: string): Promise<boolean> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await channel.checkExchange(exchange).then(
      () => true,
      () => false,
    );
  } finally {
    await connection.close().catch(() => undefined);
  }
}

describe('a wait of the kit that expires', () => {
  it('says what it waited for: the event collector names the events, the exchange and the binding', async () => {
    const workbook = inject('workbook');
    await withReleasers(async (releasers) => {
      const instance = await openInstance({ ...workbook }, { kind: 'test' }, releasers);
      const collector = await instance.collectEvents();
      await expect(collector.waitFor(1, 200)).rejects.toThrow(
        new RegExp(`expected 1 event on exchange ${instance.exchange.replace(/\./g, '\\.')} \\(binding [^)]+\\) within \\d+ ms, received 0`),
      );
    });
  });
});

describe('Releasers', () => {
  it('releases in reverse order, runs every release when one fails, and throws the first failure', async () => {
    const order: string[] = [];
    const releasers = new Releasers();
    releasers.defer(() => void order.push('database'), 'database');
    releasers.defer(() => {
      order.push('proxy');
      throw new Error('proxy would not close');
    }, 'proxy');
    releasers.own('worker', (w) => void order.push(w), 'worker');
    await expect(releasers.release()).rejects.toThrow(/releasing proxy failed: proxy would not close/);
    expect(order).toEqual(['worker', 'proxy', 'database']);
    await releasers.release(); // a second call does nothing
    expect(order).toHaveLength(3);
  });

  it('withReleasers releases when fn throws, and the error of fn is the one thrown', async () => {
    const order: string[] = [];
    await expect(
      withReleasers(async (r) => {
        r.defer(() => void order.push('first'));
        r.defer(() => void order.push('second'));
        throw new Error('the third acquisition failed');
      }),
    ).rejects.toThrow('the third acquisition failed');
    expect(order).toEqual(['second', 'first']);
  });

  it('releases at once what is acquired after the end, and says so', async () => {
    const releasers = new Releasers();
    await releasers.release();
    let released = false;
    expect(() => releasers.own('late process', () => (released = true), 'late process')).toThrow(/acquired after its owner was released/);
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(true);
  });
});
