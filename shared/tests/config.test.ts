import { describe, expect, it } from 'vitest';
import { ConfigError, configToEnv, loadConfig } from '../config.ts';

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
    expect(loadConfig({}).auth).toMatchObject({ devSignIn: false, keySet: { kind: 'file', path: '.workbook/auth/jwks.json' }, algorithms: ['ES256'], clockToleranceSeconds: 5 });
  });

  it('survives configToEnv for a JWKS file and for a JWKS URL', () => {
    for (const env of [{ AUTH_DEV_SIGN_IN: 'true', AUTH_JWKS_FILE: '/tmp/k/jwks.json', AUTH_DEV_TOKEN_TTL_S: '60' }, { AUTH_JWKS_URL: 'https://id.example.com/jwks.json', AUTH_ISSUER: 'https://id.example.com/', AUTH_AUDIENCE: 'bids', AUTH_ALGORITHMS: 'RS256,ES256' }]) {
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
