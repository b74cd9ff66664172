import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildConfig, ConfigError, configToEnv, configVariables, loadConfig, MAX_BID_CENTS_DEFAULT, type ConfigVariable, type Domain } from './config.ts';
import { envExampleFile, renderEnvExample } from '../workbook/env-example.ts';

describe('WORKER_ROLES', () => {
  it('runs the relay, the closer, the consumers and the retention job unless told otherwise', () => {
    expect(loadConfig({}).worker.roles).toEqual(['relay', 'closer', 'consumers', 'retention']);
  });

  it('takes a comma-separated subset, and survives the trip through the environment', () => {
    const config = loadConfig({ WORKER_ROLES: 'consumers, relay' });
    expect(config.worker.roles).toEqual(['consumers', 'relay']);
    expect(loadConfig(configToEnv(config)).worker.roles).toEqual(['consumers', 'relay']);
  });

  it.each(['relay,bogus', 'relay,relay', ','])('refuses %j with a ConfigError naming the variable and what it takes', (value) => {
    const err = (() => {
      try {
        loadConfig({ WORKER_ROLES: value });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('WORKER_ROLES');
    expect((err as ConfigError).message).toMatch(/relay, closer, consumers, retention/);
  });
});

describe('auth (milestone 6)', () => {
  it('is production-safe by default: dev sign-in off, the dev key set file, ES256 only, a small clock tolerance', () => {
    expect(loadConfig({}).auth).toMatchObject({
      devSignIn: false,
      keySet: { kind: 'file', path: '.workbook/auth/jwks.json' },
      algorithms: ['ES256'],
      clockToleranceSeconds: 5,
    });
  });

  it('survives configToEnv for a JWKS file and for a JWKS URL', () => {
    for (const env of [
      { AUTH_DEV_SIGN_IN: 'true', AUTH_JWKS_FILE: '/tmp/k/jwks.json', AUTH_DEV_TOKEN_TTL_S: '60' },
      { AUTH_JWKS_URL: 'https://id.example.com/jwks.json', AUTH_ISSUER: 'https://id.example.com/', AUTH_AUDIENCE: 'bids', AUTH_ALGORITHMS: 'RS256,ES256' },
    ]) {
      const config = loadConfig(env);
      expect(loadConfig(configToEnv(config)).auth).toEqual(config.auth);
    }
  });

  it.each([
    [{ AUTH_JWKS_URL: 'https://id.example.com/jwks.json', AUTH_JWKS_FILE: 'jwks.json' }, 'AUTH_JWKS_URL'],
    [{ AUTH_JWKS_URL: 'https://id.example.com/jwks.json', AUTH_DEV_SIGN_IN: 'true' }, 'AUTH_DEV_SIGN_IN'],
    [{ AUTH_ALGORITHMS: 'none' }, 'AUTH_ALGORITHMS'],
    [{ AUTH_DEV_SIGN_IN: 'yes please' }, 'AUTH_DEV_SIGN_IN'],
  ])('refuses %j with a ConfigError naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (e) {
      expect((e as ConfigError).variable).toBe(variable);
    }
  });
});

/** Values of one variable's domain, as the table declares it (kept to what a double holds exactly). */
function valuesOf(domain: Domain): fc.Arbitrary<unknown> {
  switch (domain.type) {
    case 'int': {
      const min = BigInt(Math.max(domain.min, Number.MIN_SAFE_INTEGER));
      const max = BigInt(Math.min(domain.max, Number.MAX_SAFE_INTEGER));
      return fc.bigInt({ min, max }).map(Number);
    }
    case 'bigint':
      return fc.bigInt({ min: domain.min, max: domain.max });
    case 'oneOf':
      return fc.constantFrom(...domain.values);
    case 'listOf':
      return fc.shuffledSubarray([...domain.values], { minLength: 1 });
    case 'url':
      return fc
        .tuple(fc.constantFrom(...domain.protocols), fc.domain(), fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }), fc.webSegment())
        .map(([protocol, host, port, path]) => `${protocol}//${host}${port === undefined ? '' : `:${port}`}/${path}`);
    case 'text':
      return fc.string({ minLength: domain.empty ? 0 : 1 });
    case 'bool':
      return fc.boolean();
  }
}

/** A variable's values; one whose default is unset (AUTH_JWKS_URL) is unset half the time. */
const valueFor = (v: ConfigVariable) => (v.fallback === undefined ? fc.option(valuesOf(v.kind.domain), { nil: undefined }) : valuesOf(v.kind.domain));

/** Any valid Config: a value per variable, drawn from its domain (a combination loadConfig refuses is skipped). */
const anyConfig = fc.record(Object.fromEntries(configVariables.map((v) => [v.name, valueFor(v)]))).map((values) => {
  try {
    return buildConfig(new Map(Object.entries(values)));
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
});

describe('config declared once (runtime/config.ts)', () => {
  it('survives the trip through a child process environment: loadConfig(configToEnv(c)) equals c for any config', () => {
    // A variable configToEnv leaves out comes back as its default in every child process a
    // test starts, and the test then passes for the wrong reason.
    fc.assert(
      fc.property(anyConfig, (config) => {
        fc.pre(config !== undefined);
        expect(loadConfig(configToEnv(config!))).toEqual(config);
      }),
      { numRuns: 300 },
    );
  });

  it('has the defaults the app always had', () => {
    expect(loadConfig({})).toEqual({
      serviceName: 'bid-service',
      http: { host: '127.0.0.1', port: 3000, apiPort: 8080, shutdownGraceMs: 10_000 },
      api: {
        readMaxBytes: 65_536,
        watchBuffer: 64,
        maxTimeoutMs: 30_000,
        maxConcurrentStreams: 100,
        sessionIdleTimeoutMs: 180_000,
        maxWatchStreams: 1_000,
        streamResetBurst: 10_000,
        streamResetRate: 1_000,
        maxSessionRejectedStreams: 10_000,
      },
      auth: {
        keySet: { kind: 'file', path: '.workbook/auth/jwks.json' },
        issuer: 'auction-workbook-dev',
        audience: 'auction-api',
        algorithms: ['ES256'],
        clockToleranceSeconds: 5,
        devSignIn: false,
        devTokenTtlSeconds: 3_600,
      },
      databaseUrl: 'postgres://postgres:postgres@127.0.0.1:5432/auction',
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      redisUrl: 'redis://127.0.0.1:6379',
      amqp: { exchange: 'auction.events', queuePrefix: 'auction.' },
      redis: { keyPrefix: 'auction:' },
      healthTimeoutMs: 1_000,
      logLevel: 'info',
      failpoints: '',
      outbox: { batchSize: 500, partitions: 4, pollMs: 1_000, maxPayloadBytes: 262_144, backoffMaxMs: 5_000, idleInTransactionTimeoutMs: 30_000 },
      bidWriteMode: 'outbox',
      bidding: {
        minIncrementCents: 100n,
        maxBidCents: MAX_BID_CENTS_DEFAULT,
        lockTimeoutMs: 2_000,
        statementTimeoutMs: 5_000,
        maxAttempts: 5,
        bidderPhase: 'bidder-id',
      },
      backfill: { batchSize: 5_000, pauseMs: 20, lockTimeoutMs: 1_000 },
      migrations: { lockTimeoutMs: 2_000, attempts: 5 },
      closer: { batchSize: 100, pollMs: 1_000 },
      worker: { roles: ['relay', 'closer', 'consumers', 'retention'] },
      retention: { outboxMs: 86_400_000, processedMessagesMs: 604_800_000, batchSize: 1_000, intervalMs: 60_000 },
      consumer: { prefetch: 20, batchSize: 10, maxAttempts: 5, retryDelayMs: 200 },
    });
  });

  it.each([
    ['OUTBOX_BATCH_SIZE', '10001', 'a whole number from 1 to 10000'],
    ['PORT', 'http', 'a whole number from 0 to 65535'],
    ['BID_MAX_CENTS', '9000000000000000001', 'a whole number of cents from 1 to 9000000000000000000'],
    ['DATABASE_URL', 'mysql://db/auction', 'a URL starting with postgres: or postgresql://'],
    ['REDIS_URL', 'not a url', 'a URL like redis://127.0.0.1:6379'],
    ['BIDDER_PHASE', 'bidder', 'one of user-id, dual-write, read-bidder-id, bidder-id'],
  ])('refuses %s=%j, saying it expected %s', (name, value, expected) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new ConfigError(name, value, expected));
  });

  it("keeps .env.example's list of variables what `npm run generate` writes from the table", () => {
    const current = readFileSync(envExampleFile, 'utf8');
    expect(current, '.env.example lists other variables than runtime/config.ts reads: run `npm run generate` and commit .env.example').toBe(
      renderEnvExample(current),
    );
  });
});
