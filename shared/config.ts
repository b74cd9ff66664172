// The only module that reads process.env. Everything else receives a Config (or a
// WorkbookSettings) as an argument, so tests can give each file its own names and URLs.

export interface Config {
  serviceName: string;
  /** port: HTTP/1.1 (health, readiness, metrics, the JSON routes); apiPort: the ConnectRPC API over h2c (milestone 6). */
  http: { host: string; port: number; apiPort: number; shutdownGraceMs: number };
  api: {
    /** The largest request message the API reads; a larger one is refused (resource exhausted). */
    readMaxBytes: number;
    /** Updates a WatchItem stream holds for a client that reads slower than they come; older ones are dropped. */
    watchBuffer: number;
    /** The longest deadline a call gets; a client asking for more gets this much (clamped, not refused). */
    maxTimeoutMs: number;
    /** SETTINGS_MAX_CONCURRENT_STREAMS: calls one HTTP/2 connection may have open at once. */
    maxConcurrentStreams: number;
    /** A connection with no open call and no traffic for this long is closed (GOAWAY). */
    sessionIdleTimeoutMs: number;
    /** Open WatchItem streams per process, over all connections; one more is refused with resource_exhausted. */
    maxWatchStreams: number;
    /** Cancelled streams (RST_STREAM) one connection may send in a burst, then per second, before it gets GOAWAY. */
    streamResetBurst: number;
    streamResetRate: number;
  };
  /** Bearer tokens on the API's writes (milestone 6): how they are verified, and dev sign-in. */
  auth: AuthConfig;
  databaseUrl: string;
  amqpUrl: string;
  redisUrl: string;
  /** Per-instance names, so parallel test files never see each other's traffic. */
  amqp: { exchange: string; queuePrefix: string };
  redis: { keyPrefix: string };
  /** How long a readiness probe waits for one dependency before calling it down. */
  healthTimeoutMs: number;
  logLevel: string;
  /** FAILPOINTS=name=action;name=action (see shared/failpoints.ts). */
  failpoints: string;
  outbox: {
    /** Rows claimed and published per transaction. */
    batchSize: number;
    /**
     * Items are spread over this many partitions, each published by one relay loop at a time
     * (per-item order holds). Change it only while no relay runs: an item may change partition.
     */
    partitions: number;
    /** Polling fallback when no NOTIFY arrives (a NOTIFY can be missed while reconnecting). */
    pollMs: number;
    /** A payload larger than this is set aside, not published. */
    maxPayloadBytes: number;
    /** Cap of the jittered exponential backoff while the broker is down. */
    backoffMaxMs: number;
    /**
     * How long PostgreSQL lets a relay's batch transaction sit idle before it ends the session:
     * a relay whose host or network died without a FIN would otherwise hold its partition's
     * leader lock until TCP keepalive gives up (hours). Above the 10 s the relay waits for confirms.
     */
    idleInTransactionTimeoutMs: number;
  };
  /** 'outbox' (milestone 2) or 'dual-write' (the naive version the lesson shows first). */
  bidWriteMode: 'outbox' | 'dual-write';
  bidding: {
    /** A new bid must beat the highest by at least this much (minor units). */
    minIncrementCents: bigint;
    /**
     * The largest bid (and start price) accepted, in cents. Below PostgreSQL's BIGINT maximum
     * by more than any increment, so the next minimum (highest + increment) always exists:
     * an item can be outbid up to this amount, never stuck at a price nobody can beat.
     */
    maxBidCents: bigint;
    /** How long a bid waits for the item's row lock before giving up with Busy. */
    lockTimeoutMs: number;
    /** The longest any statement of a bid transaction may run. */
    statementTimeoutMs: number;
    /** Attempts on deadlock (40P01) or serialization failure (40001), the first included. */
    maxAttempts: number;
    /** Which bids column names the bidder, by the rollout of milestone 5 (bidding/bidder-columns.ts). */
    bidderPhase: BidderPhase;
  };
  backfill: {
    /** Rows filled per transaction: each batch holds its row locks only this long. */
    batchSize: number;
    /** Pause between batches, leaving the database to the bids. */
    pauseMs: number;
    /** How long a batch waits for a row lock before it gives up and is retried. */
    lockTimeoutMs: number;
  };
  migrations: {
    /** How long a DDL statement waits for its table lock; bids queue behind a waiting ALTER. */
    lockTimeoutMs: number;
    /** Runs of a migration that gave up on its lock (55P03), the first included. */
    attempts: number;
  };
  closer: {
    /** Ended auctions settled per transaction. */
    batchSize: number;
    /** How often the closer looks for ended auctions when the last batch was not full. */
    pollMs: number;
  };
  worker: {
    /** What a bid-worker runs (WORKER_ROLES): all four by default; one each lets them scale apart. */
    roles: WorkerRole[];
  };
  retention: {
    /** Published outbox rows older than this are deleted (never an unpublished or set-aside one). */
    outboxMs: number;
    /**
     * Processed message ids older than this are deleted. A duplicate that arrives later than this
     * (a redelivery, a replay from the dead-letter queue) is applied again: keep it above the
     * longest such delay.
     */
    processedMessagesMs: number;
    /** Rows deleted per statement: each batch holds its row locks and WAL only this long. */
    batchSize: number;
    /** How often the bid-worker deletes what has expired. */
    intervalMs: number;
  };
  consumer: {
    /** Unacknowledged messages RabbitMQ hands one consumer at a time. */
    prefetch: number;
    /** Messages the stats consumer applies in one transaction (1: a transaction per message). At most the prefetch. */
    batchSize: number;
    /** Attempts at a message that fails transiently (database down), before it is dead-lettered. */
    maxAttempts: number;
    /** Pause before a failed message is tried again, doubled on each attempt. */
    retryDelayMs: number;
  };
}

export interface AuthConfig {
  /**
   * The public keys tokens are verified with: a JWKS file (AUTH_JWKS_FILE; the development key
   * set, generated on first use, by default) or a JWKS URL (AUTH_JWKS_URL: an identity
   * provider's, fetched and cached, refetched when a token names a key it has not seen).
   */
  keySet: { kind: 'file'; path: string } | { kind: 'url'; url: string };
  /** The `iss` every token must carry. */
  issuer: string;
  /** The `aud` every token must carry: this API, so a token for another service is refused. */
  audience: string;
  /** The signature algorithms accepted; a token signed with any other (or `none`) is refused. */
  algorithms: JwtAlgorithm[];
  /** How far the token's exp and nbf may be off the server's clock (clock skew between hosts). */
  clockToleranceSeconds: number;
  /**
   * The SignIn RPC (and the dev key behind it): on only where every user is a demo user (tests,
   * `npm run demo`, compose's dev setup). Off by default, so production never issues tokens.
   */
  devSignIn: boolean;
  /** How long a dev token is accepted (`npm run token`, SignIn). */
  devTokenTtlSeconds: number;
}

export const jwtAlgorithms = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof jwtAlgorithms)[number];
/** The development key set, relative to the working directory (the repo root for npm scripts); .workbook/ is gitignored. */
export const DEV_JWKS_FILE = '.workbook/auth/jwks.json';

/**
 * Milestone 5's rollout, in order: the old version (user_id only), writing both columns,
 * reading bidder_id, and bidder_id only (the only one that runs once user_id is dropped).
 */
export const bidderPhases = ['user-id', 'dual-write', 'read-bidder-id', 'bidder-id'] as const;
export type BidderPhase = (typeof bidderPhases)[number];

export const composeDefaults = {
  databaseUrl: 'postgres://postgres:postgres@127.0.0.1:5432/auction',
  amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
  redisUrl: 'redis://127.0.0.1:6379',
} as const;

export const workerRoles = ['relay', 'closer', 'consumers', 'retention'] as const;
export type WorkerRole = (typeof workerRoles)[number];

/** 10^18 cents: far above 2^53 (money stays exact beyond a double), far below BIGINT's 9223372036854775807. */
export const MAX_BID_CENTS_DEFAULT = 1_000_000_000_000_000_000n;
/** BIGINT's maximum less room for any increment BID_MIN_INCREMENT_CENTS allows (at most 2^53). */
export const MAX_BID_CENTS_LIMIT = 9_000_000_000_000_000_000n;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly expected: string,
  ) {
    super(`${variable}=${JSON.stringify(value)} is not valid: expected ${expected}.`);
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const config: Config = {
    serviceName: env.SERVICE_NAME ?? 'bid-service',
    http: {
      host: env.HTTP_HOST ?? '127.0.0.1',
      port: intVar(env, 'PORT', 3000, { min: 0, max: 65535 }),
      apiPort: intVar(env, 'API_PORT', 8080, { min: 0, max: 65535 }),
      shutdownGraceMs: intVar(env, 'SHUTDOWN_GRACE_MS', 10_000, { min: 0 }),
    },
    auth: authConfig(env),
    databaseUrl: urlVar(env, 'DATABASE_URL', composeDefaults.databaseUrl, ['postgres:', 'postgresql:']),
    amqpUrl: urlVar(env, 'AMQP_URL', composeDefaults.amqpUrl, ['amqp:', 'amqps:']),
    redisUrl: urlVar(env, 'REDIS_URL', composeDefaults.redisUrl, ['redis:', 'rediss:']),
    amqp: {
      exchange: env.AMQP_EXCHANGE ?? 'auction.events',
      queuePrefix: env.AMQP_QUEUE_PREFIX ?? 'auction.',
    },
    redis: { keyPrefix: env.REDIS_KEY_PREFIX ?? 'auction:' },
    healthTimeoutMs: intVar(env, 'HEALTH_TIMEOUT_MS', 1_000, { min: 1 }),
    logLevel: env.LOG_LEVEL ?? 'info',
    failpoints: env.FAILPOINTS ?? '',
    outbox: {
      batchSize: intVar(env, 'OUTBOX_BATCH_SIZE', 500, { min: 1, max: 10_000 }),
      partitions: intVar(env, 'OUTBOX_PARTITIONS', 4, { min: 1, max: 64 }),
      pollMs: intVar(env, 'OUTBOX_POLL_MS', 1_000, { min: 10 }),
      maxPayloadBytes: intVar(env, 'OUTBOX_MAX_PAYLOAD_BYTES', 256 * 1024, { min: 1 }),
      backoffMaxMs: intVar(env, 'OUTBOX_BACKOFF_MAX_MS', 5_000, { min: 1 }),
      idleInTransactionTimeoutMs: intVar(env, 'OUTBOX_IDLE_IN_TRANSACTION_TIMEOUT_MS', 30_000, { min: 1 }),
    },
    api: {
      readMaxBytes: intVar(env, 'API_READ_MAX_BYTES', 64 * 1024, { min: 1 }),
      watchBuffer: intVar(env, 'API_WATCH_BUFFER', 64, { min: 1, max: 10_000 }),
      maxTimeoutMs: intVar(env, 'API_MAX_TIMEOUT_MS', 30_000, { min: 1 }),
      maxConcurrentStreams: intVar(env, 'API_MAX_CONCURRENT_STREAMS', 100, { min: 1, max: 2 ** 31 - 1 }),
      sessionIdleTimeoutMs: intVar(env, 'API_SESSION_IDLE_TIMEOUT_MS', 180_000, { min: 1 }),
      maxWatchStreams: intVar(env, 'API_MAX_WATCH_STREAMS', 1_000, { min: 1 }),
      streamResetBurst: intVar(env, 'API_STREAM_RESET_BURST', 10_000, { min: 1 }),
      streamResetRate: intVar(env, 'API_STREAM_RESET_RATE', 1_000, { min: 1 }),
    },
    bidWriteMode: oneOf(env, 'BID_WRITE_MODE', ['outbox', 'dual-write'] as const, 'outbox'),
    bidding: {
      minIncrementCents: BigInt(intVar(env, 'BID_MIN_INCREMENT_CENTS', 100, { min: 1 })),
      maxBidCents: bigintVar(env, 'BID_MAX_CENTS', MAX_BID_CENTS_DEFAULT, { min: 1n, max: MAX_BID_CENTS_LIMIT }),
      lockTimeoutMs: intVar(env, 'BID_LOCK_TIMEOUT_MS', 2_000, { min: 1 }),
      statementTimeoutMs: intVar(env, 'BID_STATEMENT_TIMEOUT_MS', 5_000, { min: 1 }),
      maxAttempts: intVar(env, 'BID_MAX_ATTEMPTS', 5, { min: 1, max: 100 }),
      bidderPhase: oneOf(env, 'BIDDER_PHASE', bidderPhases, 'bidder-id'),
    },
    backfill: {
      batchSize: intVar(env, 'BACKFILL_BATCH_SIZE', 5_000, { min: 1, max: 100_000 }),
      pauseMs: intVar(env, 'BACKFILL_PAUSE_MS', 20, { min: 0 }),
      lockTimeoutMs: intVar(env, 'BACKFILL_LOCK_TIMEOUT_MS', 1_000, { min: 1 }),
    },
    migrations: {
      lockTimeoutMs: intVar(env, 'MIGRATION_LOCK_TIMEOUT_MS', 2_000, { min: 1 }),
      attempts: intVar(env, 'MIGRATION_ATTEMPTS', 5, { min: 1, max: 100 }),
    },
    closer: {
      batchSize: intVar(env, 'CLOSER_BATCH_SIZE', 100, { min: 1, max: 10_000 }),
      pollMs: intVar(env, 'CLOSER_POLL_MS', 1_000, { min: 10 }),
    },
    worker: { roles: listOf(env, 'WORKER_ROLES', workerRoles, [...workerRoles]) },
    retention: {
      outboxMs: intVar(env, 'RETENTION_OUTBOX_MS', 24 * 3_600_000, { min: 0 }),
      processedMessagesMs: intVar(env, 'RETENTION_PROCESSED_MESSAGES_MS', 7 * 24 * 3_600_000, { min: 0 }),
      batchSize: intVar(env, 'RETENTION_BATCH_SIZE', 1_000, { min: 1, max: 100_000 }),
      intervalMs: intVar(env, 'RETENTION_INTERVAL_MS', 60_000, { min: 10 }),
    },
    consumer: {
      prefetch: intVar(env, 'CONSUMER_PREFETCH', 20, { min: 1, max: 1_000 }),
      batchSize: intVar(env, 'CONSUMER_BATCH_SIZE', 20, { min: 1, max: 1_000 }),
      maxAttempts: intVar(env, 'CONSUMER_MAX_ATTEMPTS', 5, { min: 1, max: 100 }),
      retryDelayMs: intVar(env, 'CONSUMER_RETRY_DELAY_MS', 200, { min: 0 }),
    },
  };
  return { ...config, ...overrides };
}

/** The config of one entry point: SERVICE_NAME when set, else the entry point's own name. */
export function serviceConfig(service: 'bid-service' | 'bid-worker', env: Env = process.env): Config {
  return loadConfig({ SERVICE_NAME: service, ...stripEmpty(env) });
}

function stripEmpty(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
}

/** Turns a Config back into the environment a child process reads it from. */
export function configToEnv(config: Config): Record<string, string> {
  return {
    SERVICE_NAME: config.serviceName,
    HTTP_HOST: config.http.host,
    PORT: String(config.http.port),
    API_PORT: String(config.http.apiPort),
    API_READ_MAX_BYTES: String(config.api.readMaxBytes),
    API_WATCH_BUFFER: String(config.api.watchBuffer),
    API_MAX_TIMEOUT_MS: String(config.api.maxTimeoutMs),
    API_MAX_CONCURRENT_STREAMS: String(config.api.maxConcurrentStreams),
    API_SESSION_IDLE_TIMEOUT_MS: String(config.api.sessionIdleTimeoutMs),
    API_MAX_WATCH_STREAMS: String(config.api.maxWatchStreams),
    API_STREAM_RESET_BURST: String(config.api.streamResetBurst),
    API_STREAM_RESET_RATE: String(config.api.streamResetRate),
    SHUTDOWN_GRACE_MS: String(config.http.shutdownGraceMs),
    // Both, one of them empty (unset): a child process must not inherit the other from its parent's environment.
    AUTH_JWKS_FILE: config.auth.keySet.kind === 'file' ? config.auth.keySet.path : '',
    AUTH_JWKS_URL: config.auth.keySet.kind === 'url' ? config.auth.keySet.url : '',
    AUTH_ISSUER: config.auth.issuer,
    AUTH_AUDIENCE: config.auth.audience,
    AUTH_ALGORITHMS: config.auth.algorithms.join(','),
    AUTH_CLOCK_TOLERANCE_S: String(config.auth.clockToleranceSeconds),
    AUTH_DEV_SIGN_IN: String(config.auth.devSignIn),
    AUTH_DEV_TOKEN_TTL_S: String(config.auth.devTokenTtlSeconds),
    DATABASE_URL: config.databaseUrl,
    AMQP_URL: config.amqpUrl,
    REDIS_URL: config.redisUrl,
    AMQP_EXCHANGE: config.amqp.exchange,
    AMQP_QUEUE_PREFIX: config.amqp.queuePrefix,
    REDIS_KEY_PREFIX: config.redis.keyPrefix,
    HEALTH_TIMEOUT_MS: String(config.healthTimeoutMs),
    LOG_LEVEL: config.logLevel,
    FAILPOINTS: config.failpoints,
    OUTBOX_BATCH_SIZE: String(config.outbox.batchSize),
    OUTBOX_PARTITIONS: String(config.outbox.partitions),
    OUTBOX_POLL_MS: String(config.outbox.pollMs),
    OUTBOX_MAX_PAYLOAD_BYTES: String(config.outbox.maxPayloadBytes),
    OUTBOX_BACKOFF_MAX_MS: String(config.outbox.backoffMaxMs),
    OUTBOX_IDLE_IN_TRANSACTION_TIMEOUT_MS: String(config.outbox.idleInTransactionTimeoutMs),
    BID_WRITE_MODE: config.bidWriteMode,
    BID_MIN_INCREMENT_CENTS: config.bidding.minIncrementCents.toString(),
    BID_MAX_CENTS: config.bidding.maxBidCents.toString(),
    BID_LOCK_TIMEOUT_MS: String(config.bidding.lockTimeoutMs),
    BID_STATEMENT_TIMEOUT_MS: String(config.bidding.statementTimeoutMs),
    BID_MAX_ATTEMPTS: String(config.bidding.maxAttempts),
    BIDDER_PHASE: config.bidding.bidderPhase,
    BACKFILL_BATCH_SIZE: String(config.backfill.batchSize),
    BACKFILL_PAUSE_MS: String(config.backfill.pauseMs),
    BACKFILL_LOCK_TIMEOUT_MS: String(config.backfill.lockTimeoutMs),
    MIGRATION_LOCK_TIMEOUT_MS: String(config.migrations.lockTimeoutMs),
    MIGRATION_ATTEMPTS: String(config.migrations.attempts),
    CLOSER_BATCH_SIZE: String(config.closer.batchSize),
    CLOSER_POLL_MS: String(config.closer.pollMs),
    WORKER_ROLES: config.worker.roles.join(','),
    RETENTION_OUTBOX_MS: String(config.retention.outboxMs),
    RETENTION_PROCESSED_MESSAGES_MS: String(config.retention.processedMessagesMs),
    RETENTION_BATCH_SIZE: String(config.retention.batchSize),
    RETENTION_INTERVAL_MS: String(config.retention.intervalMs),
    CONSUMER_PREFETCH: String(config.consumer.prefetch),
    CONSUMER_BATCH_SIZE: String(config.consumer.batchSize),
    CONSUMER_MAX_ATTEMPTS: String(config.consumer.maxAttempts),
    CONSUMER_RETRY_DELAY_MS: String(config.consumer.retryDelayMs),
  };
}

/** The workbook needs Node 22.22 or newer (testcontainers 12); 24 LTS is the target. One answer, shared with the launcher every npm script runs through. */
export { manualNodeRoute, MINIMUM as MINIMUM_NODE, nodeIsSupported } from '../scripts/node-version.mjs';

/** Settings of the workbook tooling (CLI, test harness), never of the app. */
export interface WorkbookSettings {
  /** Which services the environment names explicitly (design §4, step 1). */
  explicitUrls: { databaseUrl?: string; amqpUrl?: string; redisUrl?: string };
  /** The tree under test: a folder holding src/ and migrations/. */
  tree: string | undefined;
  /** Images for the Testcontainers path; the same ones docker-compose.yml uses. */
  images: { postgres: string; rabbitmq: string; redis: string };
  dockerHost: string | undefined;
  /**
   * WORKBOOK_INFRA=testcontainers (npm run test:containers) skips steps 1 and 2 of design §4:
   * the services must come from Testcontainers, or the run fails saying why. Never a silent
   * fallback to the services on this machine.
   */
  infra: 'auto' | 'testcontainers';
  ci: boolean;
  noColor: boolean;
  /** Where shared/workbook/vitest-reporter.ts writes its results. */
  resultsFile: string | undefined;
  nodeVersion: string;
  /**
   * The fuzz test of milestone 6 (npm run fuzz -- --runs N --seed S sets them): generated
   * requests per run, and the seed that replays a run. Unset: a short run with a fixed seed.
   */
  fuzz: { runs: number | undefined; seed: number | undefined };
}

export function loadWorkbookSettings(env: Env = process.env): WorkbookSettings {
  return {
    explicitUrls: {
      databaseUrl: env.DATABASE_URL || undefined,
      amqpUrl: env.AMQP_URL || undefined,
      redisUrl: env.REDIS_URL || undefined,
    },
    tree: env.WORKBOOK_TREE || undefined,
    images: {
      postgres: env.WORKBOOK_POSTGRES_IMAGE ?? 'postgres:15',
      rabbitmq: env.WORKBOOK_RABBITMQ_IMAGE ?? 'rabbitmq:3-management',
      redis: env.WORKBOOK_REDIS_IMAGE ?? 'redis:7',
    },
    dockerHost: env.DOCKER_HOST || undefined,
    infra: infraVar(env),
    ci: env.CI === 'true' || env.CI === '1',
    noColor: env.NO_COLOR !== undefined || env.FORCE_COLOR === '0',
    resultsFile: env.WORKBOOK_RESULTS || undefined,
    nodeVersion: process.versions.node,
    fuzz: {
      runs: env.WORKBOOK_FUZZ_RUNS ? intVar(env, 'WORKBOOK_FUZZ_RUNS', 0, { min: 1, max: 10_000_000 }) : undefined,
      seed: env.WORKBOOK_FUZZ_SEED ? intVar(env, 'WORKBOOK_FUZZ_SEED', 0, { min: -(2 ** 31), max: 2 ** 31 - 1 }) : undefined,
    },
  };
}

function authConfig(env: Env): AuthConfig {
  const file = env.AUTH_JWKS_FILE || undefined;
  const url = env.AUTH_JWKS_URL ? urlVar(env, 'AUTH_JWKS_URL', 'https://id.example.com/.well-known/jwks.json', ['https:', 'http:']) : undefined;
  if (file && url) throw new ConfigError('AUTH_JWKS_URL', url, `either AUTH_JWKS_URL or AUTH_JWKS_FILE, not both (AUTH_JWKS_FILE=${file}): unset one`);
  const devSignIn = boolVar(env, 'AUTH_DEV_SIGN_IN', false);
  // SignIn signs with the dev key and writes its public half into the key-set file: with a
  // URL the server would issue tokens it then refuses.
  if (devSignIn && url) throw new ConfigError('AUTH_DEV_SIGN_IN', 'true', `false while AUTH_JWKS_URL is set: dev sign-in needs the development key set (AUTH_JWKS_FILE, ${DEV_JWKS_FILE} by default)`);
  return {
    keySet: url ? { kind: 'url', url } : { kind: 'file', path: file ?? DEV_JWKS_FILE },
    issuer: env.AUTH_ISSUER || 'auction-workbook-dev',
    audience: env.AUTH_AUDIENCE || 'auction-api',
    algorithms: listOf(env, 'AUTH_ALGORITHMS', jwtAlgorithms, ['ES256']),
    clockToleranceSeconds: intVar(env, 'AUTH_CLOCK_TOLERANCE_S', 5, { min: 0, max: 300 }),
    devSignIn,
    devTokenTtlSeconds: intVar(env, 'AUTH_DEV_TOKEN_TTL_S', 3_600, { min: 1, max: 86_400 }),
  };
}

function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, raw, 'true or false');
}

function infraVar(env: Env): WorkbookSettings['infra'] {
  const raw = env.WORKBOOK_INFRA;
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if (raw === 'testcontainers') return 'testcontainers';
  throw new ConfigError('WORKBOOK_INFRA', raw, '"testcontainers" (or unset, to look for the services in the usual order)');
}

function intVar(env: Env, name: string, fallback: number, range: { min?: number; max?: number }): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  const { min = -Infinity, max = Infinity } = range;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, raw, `a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Whole cents, as digits: a JSON-free bigint, exact beyond 2^53. */
function bigintVar(env: Env, name: string, fallback: bigint, range: { min: bigint; max: bigint }): bigint {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^[0-9]{1,19}$/.test(raw) ? BigInt(raw) : undefined;
  if (value === undefined || value < range.min || value > range.max) {
    throw new ConfigError(name, raw, `a whole number of cents from ${range.min} to ${range.max}`);
  }
  return value;
}

/** A comma-separated list of some of `values`, each once, at least one. */
function listOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T[]): T[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const items = raw.split(',').map((v) => v.trim());
  if (items.some((v) => !(values as readonly string[]).includes(v)) || new Set(items).size !== items.length) {
    throw new ConfigError(name, raw, `a comma-separated list of some of ${values.join(', ')}, each at most once`);
  }
  return items as T[];
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(name, raw, `one of ${values.join(', ')}`);
  return raw as T;
}

function urlVar(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, raw, `a URL like ${fallback}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, raw, `a URL starting with ${protocols.join(' or ')}//`);
  }
  return raw;
}
