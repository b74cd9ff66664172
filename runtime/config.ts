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
    /** New streams Node may refuse in a row on one connection before it closes the connection. */
    maxSessionRejectedStreams: number;
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
  /** FAILPOINTS=name=action;name=action (see runtime/failpoints.ts). */
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

// ---------------------------------------------------------------------------------------------
// The variables, declared once. loadConfig reads each entry, configToEnv writes each entry back,
// and .env.example's list is rendered from them (npm run generate), so adding a variable is one
// entry below. Two lists kept by hand drifted: a variable missing from configToEnv silently
// reverted to its default in every child process a test started.

/** What a variable accepts, as data: ConfigError says it, the docs print it, the property test draws from it. */
export type Domain =
  | { type: 'int'; min: number; max: number }
  | { type: 'bigint'; min: bigint; max: bigint }
  | { type: 'oneOf'; values: readonly string[] }
  | { type: 'listOf'; values: readonly string[] }
  | { type: 'url'; protocols: readonly string[] }
  | { type: 'text'; empty: boolean }
  | { type: 'bool' };

/** How one variable's text becomes a value and back. */
export interface Kind<T> {
  domain: Domain;
  /** What ConfigError says the variable expects; also its line in .env.example. */
  expected: string;
  /** Empty counts as unset (the default) for every kind but text(), where '' is a value (an empty prefix). */
  emptyIsUnset: boolean;
  /** The value of raw, or a ConfigError naming the variable. */
  parse(raw: string, name: string): T;
  format(value: T): string;
}

function int(range: { min?: number; max?: number }): Kind<number> {
  const { min = -Infinity, max = Infinity } = range;
  const expected = `a whole number from ${min} to ${max}`;
  return {
    domain: { type: 'int', min, max },
    expected,
    emptyIsUnset: true,
    parse(raw, name) {
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(name, raw, expected);
      return value;
    },
    format: String,
  };
}

/** Whole cents, as digits: a JSON-free bigint, exact beyond 2^53. */
function cents(range: { min: bigint; max: bigint }): Kind<bigint> {
  const expected = `a whole number of cents from ${range.min} to ${range.max}`;
  return {
    domain: { type: 'bigint', ...range },
    expected,
    emptyIsUnset: true,
    parse(raw, name) {
      const value = /^[0-9]{1,19}$/.test(raw) ? BigInt(raw) : undefined;
      if (value === undefined || value < range.min || value > range.max) throw new ConfigError(name, raw, expected);
      return value;
    },
    format: (value) => value.toString(),
  };
}

/**
 * BID_MIN_INCREMENT_CENTS: read as a number (as it always was, so its message and bounds stay),
 * kept as bigint. Exact up to 2^53, which is what MAX_BID_CENTS_LIMIT leaves room for.
 */
function centsAsNumber(range: { min: number }): Kind<bigint> {
  const number = int(range);
  return {
    ...number,
    domain: { type: 'bigint', min: BigInt(range.min), max: BigInt(Number.MAX_SAFE_INTEGER) },
    parse: (raw, name) => BigInt(number.parse(raw, name)),
    format: (value) => value.toString(),
  };
}

function bool(): Kind<boolean> {
  return {
    domain: { type: 'bool' },
    expected: 'true or false',
    emptyIsUnset: true,
    parse(raw, name) {
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(name, raw, 'true or false');
    },
    format: String,
  };
}

function oneOf<T extends string>(values: readonly T[]): Kind<T> {
  const expected = `one of ${values.join(', ')}`;
  return {
    domain: { type: 'oneOf', values },
    expected,
    emptyIsUnset: true,
    parse(raw, name) {
      if (!(values as readonly string[]).includes(raw)) throw new ConfigError(name, raw, expected);
      return raw as T;
    },
    format: (value) => value,
  };
}

/** A comma-separated list of some of `values`, each once, at least one. */
function listOf<T extends string>(values: readonly T[]): Kind<T[]> {
  const expected = `a comma-separated list of some of ${values.join(', ')}, each at most once`;
  return {
    domain: { type: 'listOf', values },
    expected,
    emptyIsUnset: true,
    parse(raw, name) {
      const items = raw.split(',').map((v) => v.trim());
      if (items.some((v) => !(values as readonly string[]).includes(v)) || new Set(items).size !== items.length) {
        throw new ConfigError(name, raw, expected);
      }
      return items as T[];
    },
    format: (value) => value.join(','),
  };
}

/** A URL with one of `protocols`, kept as written; `example` is what the refusal of a non-URL shows. */
function url(protocols: readonly string[], example: string): Kind<string> {
  const expected = `a URL starting with ${protocols.join(' or ')}//`;
  return {
    domain: { type: 'url', protocols },
    expected,
    emptyIsUnset: true,
    parse(raw, name) {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new ConfigError(name, raw, `a URL like ${example}`);
      }
      if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, raw, expected);
      return raw;
    },
    format: (value) => value,
  };
}

/** Any text. `empty: false`: an empty value means unset, so the default applies. */
function text({ empty }: { empty: boolean }): Kind<string> {
  return {
    domain: { type: 'text', empty },
    expected: empty ? 'any text' : 'any text but empty',
    emptyIsUnset: !empty,
    parse: (raw) => raw,
    format: (value) => value,
  };
}

type Leaf = string | number | boolean | bigint | readonly unknown[];
/** Every dotted path to a leaf of T: 'outbox.batchSize', 'auth.devSignIn', ... */
type PathOf<T> = { [K in keyof T & string]: T[K] extends Leaf ? K : `${K}.${PathOf<T[K]>}` }[keyof T & string];
/** The type at a dotted path of T. */
type At<T, P extends string> = P extends `${infer K}.${infer R}` ? (K extends keyof T ? At<T[K], R> : never) : P extends keyof T ? T[P] : never;
export type ConfigPath = PathOf<Config>;

/** One environment variable: its name, where it lives in Config, how it is read, its default, what it is for. */
export interface ConfigVariable {
  name: string;
  path: string;
  kind: Kind<unknown>;
  /** undefined: unset by default (AUTH_JWKS_URL); the field then takes its value from another variable. */
  fallback: unknown;
  doc: string;
  get(config: Config): unknown;
  set(draft: Record<string, unknown>, value: unknown): void;
}

function variable<P extends ConfigPath>(name: string, path: P, kind: Kind<At<Config, P>>, fallback: At<Config, P>, doc: string): ConfigVariable & { path: P } {
  return { name, path, kind: kind as Kind<unknown>, fallback, doc, get: (config) => getPath(config, path), set: (draft, value) => setPath(draft, path, value) };
}

function getPath(object: unknown, path: string): unknown {
  return path.split('.').reduce((at, key) => (at as Record<string, unknown>)[key], object);
}

function setPath(draft: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let at = draft;
  for (const key of keys) at = (at[key] ??= {}) as Record<string, unknown>;
  at[last] = value;
}

/** The app's variables, in the order .env.example lists them. */
const table = [
  variable(
    'SERVICE_NAME',
    'serviceName',
    text({ empty: true }),
    'bid-service',
    'The name in logs and metrics; each entry point sets its own (bid-service, bid-worker).',
  ),
  variable('HTTP_HOST', 'http.host', text({ empty: true }), '127.0.0.1', 'The address the HTTP and API servers listen on (0.0.0.0 in a container).'),
  variable('PORT', 'http.port', int({ min: 0, max: 65535 }), 3000, 'HTTP/1.1: health, readiness, metrics and the JSON routes (0: any free port).'),
  variable('API_PORT', 'http.apiPort', int({ min: 0, max: 65535 }), 8080, 'The ConnectRPC API over h2c, milestone 6 (0: any free port).'),
  variable('SHUTDOWN_GRACE_MS', 'http.shutdownGraceMs', int({ min: 0 }), 10_000, 'How long a shutdown waits for requests in flight before it closes them.'),
  variable(
    'API_READ_MAX_BYTES',
    'api.readMaxBytes',
    int({ min: 1 }),
    64 * 1024,
    'The largest request message the API reads; a larger one is refused (resource exhausted).',
  ),
  variable(
    'API_WATCH_BUFFER',
    'api.watchBuffer',
    int({ min: 1, max: 10_000 }),
    64,
    'Updates a WatchItem stream holds for a slow reader; older ones are dropped.',
  ),
  variable('API_MAX_TIMEOUT_MS', 'api.maxTimeoutMs', int({ min: 1 }), 30_000, 'The longest deadline a call gets; a client asking for more gets this much.'),
  variable(
    'API_MAX_CONCURRENT_STREAMS',
    'api.maxConcurrentStreams',
    int({ min: 1, max: 2 ** 31 - 1 }),
    100,
    'Calls one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).',
  ),
  variable(
    'API_SESSION_IDLE_TIMEOUT_MS',
    'api.sessionIdleTimeoutMs',
    int({ min: 1 }),
    180_000,
    'A connection with no open call and no traffic for this long is closed (GOAWAY).',
  ),
  variable(
    'API_MAX_WATCH_STREAMS',
    'api.maxWatchStreams',
    int({ min: 1 }),
    1_000,
    'Open WatchItem streams per process; one more is refused with resource_exhausted.',
  ),
  variable(
    'API_STREAM_RESET_BURST',
    'api.streamResetBurst',
    int({ min: 1 }),
    10_000,
    'Cancelled streams (RST_STREAM) one connection may send in a burst before it gets GOAWAY.',
  ),
  variable('API_STREAM_RESET_RATE', 'api.streamResetRate', int({ min: 1 }), 1_000, 'Cancelled streams per second one connection may send after the burst.'),
  variable(
    'API_MAX_SESSION_REJECTED_STREAMS',
    'api.maxSessionRejectedStreams',
    int({ min: 1 }),
    10_000,
    'New streams Node may refuse in a row on one connection (ENHANCE_YOUR_CALM) before it closes the connection and every call on it.',
  ),
  // The key set is one field spelled by two variables: a URL when AUTH_JWKS_URL is set, else a
  // file. configToEnv writes both, one of them empty (unset), so a child process never inherits
  // the other from its parent's environment.
  {
    name: 'AUTH_JWKS_FILE',
    path: 'auth.keySet' as const,
    kind: text({ empty: false }) as Kind<unknown>,
    fallback: undefined,
    doc: `The JWKS file tokens are verified with (unset: the development key set, ${DEV_JWKS_FILE}, made on first use).`,
    get: (config) => (config.auth.keySet.kind === 'file' ? config.auth.keySet.path : undefined),
    set: (draft, value) => {
      if ((getPath(draft, 'auth') as AuthConfig | undefined)?.keySet?.kind !== 'url')
        setPath(draft, 'auth.keySet', { kind: 'file', path: value ?? DEV_JWKS_FILE });
    },
  } satisfies ConfigVariable,
  {
    name: 'AUTH_JWKS_URL',
    path: 'auth.keySet' as const,
    kind: url(['https:', 'http:'], 'https://id.example.com/.well-known/jwks.json') as Kind<unknown>,
    fallback: undefined,
    doc: "An identity provider's JWKS URL, fetched and cached, instead of AUTH_JWKS_FILE (never both).",
    get: (config) => (config.auth.keySet.kind === 'url' ? config.auth.keySet.url : undefined),
    set: (draft, value) => {
      if (value !== undefined) setPath(draft, 'auth.keySet', { kind: 'url', url: value });
    },
  } satisfies ConfigVariable,
  variable('AUTH_ISSUER', 'auth.issuer', text({ empty: false }), 'auction-workbook-dev', 'The `iss` every token must carry.'),
  variable(
    'AUTH_AUDIENCE',
    'auth.audience',
    text({ empty: false }),
    'auction-api',
    'The `aud` every token must carry: this API, so a token for another service is refused.',
  ),
  variable(
    'AUTH_ALGORITHMS',
    'auth.algorithms',
    listOf(jwtAlgorithms),
    ['ES256'],
    'The signature algorithms accepted; a token signed with any other (or none) is refused.',
  ),
  variable(
    'AUTH_CLOCK_TOLERANCE_S',
    'auth.clockToleranceSeconds',
    int({ min: 0, max: 300 }),
    5,
    "How far a token's exp and nbf may be off the server's clock.",
  ),
  variable(
    'AUTH_DEV_SIGN_IN',
    'auth.devSignIn',
    bool(),
    false,
    'The SignIn RPC and its dev key: only where every user is a demo user; never with AUTH_JWKS_URL.',
  ),
  variable('AUTH_DEV_TOKEN_TTL_S', 'auth.devTokenTtlSeconds', int({ min: 1, max: 86_400 }), 3_600, 'How long a dev token (npm run token, SignIn) is accepted.'),
  variable('DATABASE_URL', 'databaseUrl', url(['postgres:', 'postgresql:'], composeDefaults.databaseUrl), composeDefaults.databaseUrl, 'PostgreSQL.'),
  variable('AMQP_URL', 'amqpUrl', url(['amqp:', 'amqps:'], composeDefaults.amqpUrl), composeDefaults.amqpUrl, 'RabbitMQ.'),
  variable('REDIS_URL', 'redisUrl', url(['redis:', 'rediss:'], composeDefaults.redisUrl), composeDefaults.redisUrl, 'Redis.'),
  variable('AMQP_EXCHANGE', 'amqp.exchange', text({ empty: true }), 'auction.events', 'The exchange the relay publishes events to.'),
  variable('AMQP_QUEUE_PREFIX', 'amqp.queuePrefix', text({ empty: true }), 'auction.', "The prefix of every queue's name (tests give each file its own)."),
  variable('REDIS_KEY_PREFIX', 'redis.keyPrefix', text({ empty: true }), 'auction:', 'The prefix of every Redis key (tests give each file its own).'),
  variable('HEALTH_TIMEOUT_MS', 'healthTimeoutMs', int({ min: 1 }), 1_000, 'How long a readiness probe waits for one dependency before calling it down.'),
  variable('LOG_LEVEL', 'logLevel', text({ empty: true }), 'info', "pino's level: trace, debug, info, warn, error, fatal or silent."),
  variable('FAILPOINTS', 'failpoints', text({ empty: true }), '', 'name=action;name=action: faults injected on purpose (runtime/failpoints.ts).'),
  variable('OUTBOX_BATCH_SIZE', 'outbox.batchSize', int({ min: 1, max: 10_000 }), 500, 'Outbox rows claimed and published per transaction.'),
  variable(
    'OUTBOX_PARTITIONS',
    'outbox.partitions',
    int({ min: 1, max: 64 }),
    4,
    'Partitions of the outbox, each published by one relay loop; change only while no relay runs.',
  ),
  variable(
    'OUTBOX_POLL_MS',
    'outbox.pollMs',
    int({ min: 10 }),
    1_000,
    'How often the relay polls when no NOTIFY arrives (one can be missed while reconnecting).',
  ),
  variable('OUTBOX_MAX_PAYLOAD_BYTES', 'outbox.maxPayloadBytes', int({ min: 1 }), 256 * 1024, 'A payload larger than this is set aside, not published.'),
  variable('OUTBOX_BACKOFF_MAX_MS', 'outbox.backoffMaxMs', int({ min: 1 }), 5_000, "Cap of the relay's jittered backoff while the broker is down."),
  variable(
    'OUTBOX_IDLE_IN_TRANSACTION_TIMEOUT_MS',
    'outbox.idleInTransactionTimeoutMs',
    int({ min: 1 }),
    30_000,
    "How long PostgreSQL lets a relay's batch sit idle before it ends the session (frees a dead relay's lock).",
  ),
  variable(
    'BID_WRITE_MODE',
    'bidWriteMode',
    oneOf(['outbox', 'dual-write'] as const),
    'outbox',
    'outbox (milestone 2), or dual-write: the naive version the lesson shows first.',
  ),
  variable('BID_MIN_INCREMENT_CENTS', 'bidding.minIncrementCents', centsAsNumber({ min: 1 }), 100n, 'A new bid must beat the highest by at least this much.'),
  variable(
    'BID_MAX_CENTS',
    'bidding.maxBidCents',
    cents({ min: 1n, max: MAX_BID_CENTS_LIMIT }),
    MAX_BID_CENTS_DEFAULT,
    'The largest bid (and start price) accepted.',
  ),
  variable('BID_LOCK_TIMEOUT_MS', 'bidding.lockTimeoutMs', int({ min: 1 }), 2_000, "How long a bid waits for the item's row lock before giving up with Busy."),
  variable('BID_STATEMENT_TIMEOUT_MS', 'bidding.statementTimeoutMs', int({ min: 1 }), 5_000, 'The longest any statement of a bid transaction may run.'),
  variable(
    'BID_MAX_ATTEMPTS',
    'bidding.maxAttempts',
    int({ min: 1, max: 100 }),
    5,
    'Attempts on deadlock (40P01) or serialization failure (40001), the first included.',
  ),
  variable('BIDDER_PHASE', 'bidding.bidderPhase', oneOf(bidderPhases), 'bidder-id', "Which bids column names the bidder, by milestone 5's rollout."),
  variable('BACKFILL_BATCH_SIZE', 'backfill.batchSize', int({ min: 1, max: 100_000 }), 5_000, 'Rows the backfill fills per transaction.'),
  variable('BACKFILL_PAUSE_MS', 'backfill.pauseMs', int({ min: 0 }), 20, 'Pause between backfill batches, leaving the database to the bids.'),
  variable(
    'BACKFILL_LOCK_TIMEOUT_MS',
    'backfill.lockTimeoutMs',
    int({ min: 1 }),
    1_000,
    'How long a backfill batch waits for a row lock before it is retried.',
  ),
  variable(
    'MIGRATION_LOCK_TIMEOUT_MS',
    'migrations.lockTimeoutMs',
    int({ min: 1 }),
    2_000,
    'How long a DDL statement waits for its table lock; bids queue behind a waiting ALTER.',
  ),
  variable(
    'MIGRATION_ATTEMPTS',
    'migrations.attempts',
    int({ min: 1, max: 100 }),
    5,
    'Runs of a migration that gave up on its lock (55P03), the first included.',
  ),
  variable('CLOSER_BATCH_SIZE', 'closer.batchSize', int({ min: 1, max: 10_000 }), 100, 'Ended auctions settled per transaction.'),
  variable('CLOSER_POLL_MS', 'closer.pollMs', int({ min: 10 }), 1_000, 'How often the closer looks for ended auctions when the last batch was not full.'),
  variable('WORKER_ROLES', 'worker.roles', listOf(workerRoles), [...workerRoles], 'What a bid-worker runs; one role each lets them scale apart.'),
  variable(
    'RETENTION_OUTBOX_MS',
    'retention.outboxMs',
    int({ min: 0 }),
    24 * 3_600_000,
    'Published outbox rows older than this are deleted (never unpublished or set-aside ones).',
  ),
  variable(
    'RETENTION_PROCESSED_MESSAGES_MS',
    'retention.processedMessagesMs',
    int({ min: 0 }),
    7 * 24 * 3_600_000,
    'Processed message ids older than this are deleted; keep it above the longest redelivery delay.',
  ),
  variable('RETENTION_BATCH_SIZE', 'retention.batchSize', int({ min: 1, max: 100_000 }), 1_000, 'Rows the retention job deletes per statement.'),
  variable('RETENTION_INTERVAL_MS', 'retention.intervalMs', int({ min: 10 }), 60_000, 'How often the bid-worker deletes what has expired.'),
  variable('CONSUMER_PREFETCH', 'consumer.prefetch', int({ min: 1, max: 1_000 }), 20, 'Unacknowledged messages RabbitMQ hands one consumer at a time.'),
  variable(
    'CONSUMER_BATCH_SIZE',
    'consumer.batchSize',
    int({ min: 1, max: 1_000 }),
    10,
    'Messages the stats consumer applies per transaction (1: one each); half the prefetch lets one batch fill while the one before commits.',
  ),
  variable(
    'CONSUMER_MAX_ATTEMPTS',
    'consumer.maxAttempts',
    int({ min: 1, max: 100 }),
    5,
    'Attempts at a message that fails transiently before it is dead-lettered.',
  ),
  variable('CONSUMER_RETRY_DELAY_MS', 'consumer.retryDelayMs', int({ min: 0 }), 200, 'Pause before a failed message is tried again, doubled on each attempt.'),
] as const;
export const configVariables: readonly ConfigVariable[] = table;

/** Does not compile while a field of Config has no variable in the table: tsc names the field's path. */
type Uncovered = Exclude<ConfigPath, (typeof table)[number]['path'] | `auth.keySet.${string}`>;
const everyFieldHasAVariable: [Uncovered] extends [never] ? true : Uncovered = true;
void everyFieldHasAVariable;

/** One variable's value from the environment: its default when unset (or empty, for all but text), else parsed. */
function readVariable(env: Env, variable: ConfigVariable): unknown {
  const raw = env[variable.name];
  if (raw === undefined || (raw === '' && variable.kind.emptyIsUnset)) return variable.fallback;
  return variable.kind.parse(raw, variable.name);
}

/**
 * The Config the table's values make (by variable name; a missing one takes its default),
 * refusing settings that are each valid but together ambiguous.
 */
export function buildConfig(values: ReadonlyMap<string, unknown>): Config {
  const draft: Record<string, unknown> = {};
  // A copy of each value: a Config never shares a default's array with the table, or with another Config.
  for (const v of configVariables) v.set(draft, structuredClone(values.has(v.name) ? values.get(v.name) : v.fallback));
  const config = draft as unknown as Config;
  // SignIn signs with the dev key and writes its public half into the key-set file: with a
  // URL the server would issue tokens it then refuses.
  if (config.auth.devSignIn && config.auth.keySet.kind === 'url') {
    throw new ConfigError(
      'AUTH_DEV_SIGN_IN',
      'true',
      `false while AUTH_JWKS_URL is set: dev sign-in needs the development key set (AUTH_JWKS_FILE, ${DEV_JWKS_FILE} by default)`,
    );
  }
  return config;
}

export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const values = new Map(configVariables.map((v) => [v.name, readVariable(env, v)] as const));
  // Checked on the environment, not the Config: a Config holds one key set, so it cannot say both were given.
  const file = values.get('AUTH_JWKS_FILE');
  const jwksUrl = values.get('AUTH_JWKS_URL');
  if (file !== undefined && jwksUrl !== undefined) {
    throw new ConfigError('AUTH_JWKS_URL', String(jwksUrl), `either AUTH_JWKS_URL or AUTH_JWKS_FILE, not both (AUTH_JWKS_FILE=${String(file)}): unset one`);
  }
  return { ...buildConfig(values), ...overrides };
}

/** The config of one entry point: SERVICE_NAME when set, else the entry point's own name. */
export function serviceConfig(service: 'bid-service' | 'bid-worker', env: Env = process.env): Config {
  return loadConfig({ SERVICE_NAME: service, ...stripEmpty(env) });
}

function stripEmpty(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
}

/** Turns a Config back into the environment a child process reads it from: every variable, an unset one as ''. */
export function configToEnv(config: Config): Record<string, string> {
  return Object.fromEntries(
    configVariables.map((v) => {
      const value = v.get(config);
      return [v.name, value === undefined ? '' : v.kind.format(value)];
    }),
  );
}

/** The workbook needs Node 22.22 or newer (testcontainers 12); 24 LTS is the target. One answer, shared with the launcher every npm script runs through. */
export { manualNodeRoute, MINIMUM as MINIMUM_NODE, nodeIsSupported } from '../scripts/node-version.mjs';

/** Settings of the workbook tooling (CLI, test harness), never of the app. */
export interface WorkbookSettings {
  /** Which services the environment names explicitly (design §4, step 1). */
  explicitUrls: { databaseUrl?: string; amqpUrl?: string; redisUrl?: string };
  /** The tree under test: a folder holding src/, migrations/ and deploy/. */
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
  /** Where workbook/vitest-reporter.ts writes its results. */
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

function infraVar(env: Env): WorkbookSettings['infra'] {
  const raw = env.WORKBOOK_INFRA;
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if (raw === 'testcontainers') return 'testcontainers';
  throw new ConfigError('WORKBOOK_INFRA', raw, '"testcontainers" (or unset, to look for the services in the usual order)');
}

/** A workbook setting (not the app's, so not in the table): the same rule as the app's whole numbers. */
function intVar(env: Env, name: string, fallback: number, range: { min?: number; max?: number }): number {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : int(range).parse(raw, name);
}
