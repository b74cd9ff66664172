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
