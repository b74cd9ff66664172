// One isolated instance of the app's world on the shared services, for a test file, a chaos
// scenario or a benchmark alike: a database cloned from the tree's template (or migrated up to
// a given migration), an exchange and queue names, a Redis key prefix, and the config that
// points at them. Everything it hands out (service processes, fault proxies, event collectors,
// scratch databases, anything else given to own()) is released in reverse order when its
// owner releases, whatever failed. The harness and the scenarios each had their own copy of
// this; they drifted, and runs left queues of 80,000 messages behind.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DEV_JWKS_FILE, loadConfig, type Config } from '../runtime/config.ts';
import { startFaultProxy, type FaultProxy, type FaultProxyOptions } from './fault-proxy.ts';
import type pg from 'pg';
import { connectPgClient, type PgClientOptions } from '../runtime/pg-client.ts';
import { createDatabase, createDatabaseAt, databaseUrlFor, dropDatabase } from '../runtime/migrate.ts';
import { deleteExchangeAndQueues } from '../runtime/queues.ts';
import { deleteRedisKeys } from '../runtime/redis.ts';
import { repoRoot } from '../workbook/trees.ts';
import { collectEvents, type EventCollector } from './event-collector.ts';
import { Releasers } from './releasers.ts';
import { ownedDatabasePrefix } from './run-databases.ts';
import { startServiceProcess, type ServiceProcess } from './service-process.ts';

/** Where the services are and which tree is under test. */
export interface InstanceBase {
  databaseUrl: string;
  amqpUrl: string;
  redisUrl: string;
  /** The migrated template database of `tree`. */
  template: string;
  /** The app tree under test (a folder with src/ and migrations/). */
  tree: string;
}

export interface InstanceOptions {
  /** Names start with it: `wb_test_…`, `wb.test.….events`, `wb:test:…:`; a leftover says who left it. */
  kind: 'test' | 'chaos' | 'bench';
  /** Fields of the config that differ from the instance's own. */
  overrides?: Partial<Config>;
  /** An empty database migrated up to and including this migration instead of the template's clone (a rollout starts before it). */
  migrateTo?: string;
  /** The databases' names start with this instead, and release leaves them to the run that drops every database of that prefix together (run-databases.ts). */
  databasesDroppedWith?: string;
}

export interface Instance {
  readonly id: string;
  /** Config for an app instance that sees only this instance's database, names and keys. */
  readonly config: Config;
  readonly database: { name: string; url: string };
  readonly exchange: string;
  readonly tree: string;
  /** Releases what the instance handed out, now rather than when its owner ends (a scenario that plays two runs one after the other). */
  release(): Promise<void>;
  /** Registers the release of `resource` with the instance's and hands it back. */
  own<T>(resource: T, release: (resource: T) => unknown, what?: string): T;
  /** Starts an entry point of the tree (bid-service.ts, bid-worker.ts) with this config or `options.config`; stopped (SIGTERM, then SIGKILL) on release. */
  service(
    entry: string,
    options?: { config?: Config; extraEnv?: Record<string, string>; startTimeoutMs?: number; keepLine?: (line: string) => boolean },
  ): Promise<ServiceProcess>;
  /** A fault proxy in front of `target` (a service URL); closed on release. */
  faultProxy(target: FaultProxyOptions['target']): Promise<FaultProxy>;
  /** Collects the events published on this instance's exchange; closed on release. */
  collectEvents(options?: { bindingKey?: string; amqpUrl?: string }): Promise<EventCollector>;
  /** A connection to `url` (the instance's database by default), ended on release. */
  pgClient(url?: string, options?: PgClientOptions): Promise<pg.Client>;
  /** A fresh database migrated like this one (template clone); dropped on release, or earlier with drop(). */
  scratchDatabase(): Promise<{ url: string; drop: () => Promise<void> }>;
  /** A fresh database migrated only up to and including `migration` (a file name without .sql); dropped on release. */
  databaseAt(migration: string): Promise<{ url: string; drop: () => Promise<void> }>;
}

/** Opens an instance whose every resource is released by `releasers` (the caller releases them when its test file, scenario or benchmark ends). */
export async function openInstance(base: InstanceBase, options: InstanceOptions, owner: Releasers): Promise<Instance> {
  const id = randomBytes(4).toString('hex');
  // A scenario's or benchmark's database carries its process id: one a killed run left is swept (run-databases.ts).
  const name = `${options.databasesDroppedWith ?? (options.kind === 'test' ? 'wb_test_' : ownedDatabasePrefix(options.kind, process.pid))}${id}`;
  // The instance's own stack, released with its owner's (or earlier, by release()).
  const releasers = new Releasers();
  owner.defer(() => releasers.release(), `instance ${id}`);
  const own = <T>(resource: T, release: (resource: T) => unknown, what?: string) => releasers.own(resource, release, what);
  // Each database is owned before anything can use it, so a failure after this line drops it.
  const ownDatabase = (created: { url: string; drop: () => Promise<void> }, what: string) => {
    let dropped: Promise<void> | undefined;
    const drop = () => (dropped ??= created.drop());
    if (options.databasesDroppedWith === undefined) releasers.defer(drop, what);
    return { url: created.url, drop };
  };
  let database: { name: string; url: string };
  if (options.migrateTo === undefined) {
    await createDatabase(base.databaseUrl, name, base.template);
    database = {
      name,
      url: ownDatabase({ url: databaseUrlFor(base.databaseUrl, name), drop: () => dropDatabase(base.databaseUrl, name) }, `database ${name}`).url,
    };
  } else {
    // createDatabaseAt drops what it created when a migration fails.
    database = {
      name,
      url: ownDatabase(await createDatabaseAt({ serverUrl: base.databaseUrl, name, tree: base.tree, to: options.migrateTo }), `database ${name}`).url,
    };
  }
  const exchange = `wb.${options.kind}.${id}.events`;
  // Dev sign-in, with the repo's development key set (generated on first use, shared by every
  // user of the kit): tests, scenarios and benchmarks sign in as named bidders (sign-in.ts).
  const config: Config = {
    ...loadConfig({ AUTH_DEV_SIGN_IN: 'true', AUTH_JWKS_FILE: join(repoRoot, DEV_JWKS_FILE) }),
    databaseUrl: database.url,
    amqpUrl: base.amqpUrl,
    redisUrl: base.redisUrl,
    amqp: { exchange, queuePrefix: `${exchange}.` },
    redis: { keyPrefix: `wb:${options.kind}:${id}:` },
    // A dependency that does not answer within half a second counts as down: scenarios judge readiness flips in seconds.
    healthTimeoutMs: 500,
    ...options.overrides,
  };
  // What the instance's processes leave on the services: its queues (and their messages) and
  // its exchange, its Redis keys. Registered before any process starts, so it runs after all stopped.
  releasers.defer(async () => {
    await deleteExchangeAndQueues(config);
    await deleteRedisKeys(config.redisUrl, config.redis.keyPrefix).catch(() => undefined);
  }, `exchange ${exchange}, its queues and Redis keys`);
  let scratch = 0;
  const scratchName = () => `${name}_${++scratch}`;
  return {
    id,
    config,
    database,
    exchange,
    tree: base.tree,
    release: () => releasers.release(),
    own,
    service: async (entry, o = {}) =>
      own(
        await startServiceProcess({
          tree: base.tree,
          entry,
          config: o.config ?? config,
          extraEnv: o.extraEnv,
          startTimeoutMs: o.startTimeoutMs,
          keepLine: o.keepLine,
        }),
        (p) => p.stop('SIGTERM', 5_000),
        `${entry} process`,
      ),
    faultProxy: async (target) => own(await startFaultProxy({ target }), (p) => p.close(), 'fault proxy'),
    collectEvents: async (o = {}) =>
      own(await collectEvents({ amqpUrl: o.amqpUrl ?? base.amqpUrl, exchange, bindingKey: o.bindingKey }), (c) => c.close(), 'event collector'),
    pgClient: async (url = config.databaseUrl, o = {}) =>
      own(await connectPgClient(url, { applicationName: `wb-${options.kind}-${id}`, ...o }), (c) => c.end().catch(() => undefined), 'PostgreSQL connection'),
    async scratchDatabase() {
      const n = scratchName();
      await createDatabase(base.databaseUrl, n, base.template);
      return ownDatabase({ url: databaseUrlFor(base.databaseUrl, n), drop: () => dropDatabase(base.databaseUrl, n) }, `database ${n}`);
    },
    databaseAt: async (migration) =>
      ownDatabase(await createDatabaseAt({ serverUrl: base.databaseUrl, name: scratchName(), tree: base.tree, to: migration }), `database at ${migration}`),
  };
}
