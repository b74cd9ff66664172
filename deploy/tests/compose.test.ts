// The compose files against the Compose specification's JSON schema (compose-spec.json, as the
// docker-compose package vendors it), and the properties the deployment relies on: the local
// stack publishes on 127.0.0.1 only; the VPS stack (docker-compose.yml + deploy/vps/compose.yml,
// merged as `docker compose -f … -f …` merges them; the app services come from the reference's
// solutions/deploy/compose.app.yml, between the two) publishes only the ingress's 80 and 443,
// refuses to start without its secrets, waits for its migrations, and gives every service a
// restart policy, a memory limit, rotated logs and a health check.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { appServiceProblems, load, merge, validateCompose, type Yaml } from '../../testkit/compose-files.ts';
import { loadConfig } from '../../runtime/config.ts';
import { repoRoot } from '../../workbook/trees.ts';

const validate = validateCompose;

/** The local stack with the reference's app services: docker compose -f docker-compose.yml -f solutions/deploy/compose.app.yml. */
const local = merge(load('docker-compose.yml'), load('solutions/deploy/compose.app.yml'));
const vpsOverride = load('deploy/vps/compose.yml');
const vps = merge(local, vpsOverride);
const services = (c: Yaml) => Object.entries(c.services as Record<string, Yaml>);
/** Ports as "host-ip:host-port->container-port/protocol". */
const published = (svc: Yaml): string[] =>
  (svc.ports ?? []).map((p: string) => {
    const [spec, proto = 'tcp'] = String(p).split('/');
    const parts = spec!.split(':');
    const ip = parts.length === 3 ? parts[0] : '0.0.0.0';
    return `${ip}:${parts.at(-2) ?? parts.at(-1)}->${parts.at(-1)}/${proto}`;
  });
const ONE_SHOTS = ['preflight', 'migrate'];
const SECRETS = ['POSTGRES_PASSWORD', 'RABBITMQ_DEFAULT_PASS', 'REDIS_PASSWORD', 'GRAFANA_ADMIN_PASSWORD'];

describe('the compose files against the Compose specification schema', () => {
  it.each(['docker-compose.yml', 'solutions/deploy/compose.app.yml', 'deploy/vps/compose.yml'])('%s is valid', (file) => {
    const ok = validate(load(file, { plain: true }));
    expect(validate.errors ?? [], file).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the merged VPS configuration is valid too', () => {
    expect(validate(JSON.parse(JSON.stringify(vps))) ? [] : validate.errors).toEqual([]);
  });

  it('the schema refuses a misspelt key (it can fail)', () => {
    const broken = structuredClone(load('docker-compose.yml', { plain: true }));
    broken.services.postgres.healtcheck = broken.services.postgres.healthcheck;
    expect(validate(broken)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain('healtcheck');
  });
});

describe('the local stack', () => {
  it('binds every published port to 127.0.0.1', () => {
    const open = services(local).flatMap(([name, svc]) =>
      published(svc)
        .filter((p) => !p.startsWith('127.0.0.1:'))
        .map((p) => `${name} ${p}`),
    );
    expect(open).toEqual([]);
  });
});

describe("the app services (the rules milestone 6's deploy.test.ts holds the learner's to)", () => {
  it('the reference passes them', () => {
    expect(appServiceProblems(local, 'solutions/deploy/compose.app.yml', (env) => loadConfig(env))).toEqual([]);
  });

  it.each<[string, (stack: Yaml) => void, RegExp]>([
    [
      'the .env URL, 127.0.0.1, inside a container',
      (c) => void (c.services['bid-service'].environment.DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/auction'),
      /connects to 127.0.0.1:5432 for postgres/,
    ],
    [
      'a health check on liveness',
      (c) => void (c.services['bid-worker'].healthcheck.test = ['CMD', 'node', '-e', "fetch('http://127.0.0.1:3000/healthz')"]),
      /bid-worker: its healthcheck does not ask \/readyz/,
    ],
    [
      'no time to drain',
      (c) => void (c.services['bid-service'].stop_grace_period = '10s'),
      /stop_grace_period 10s is not longer than SHUTDOWN_GRACE_MS 10000 ms/,
    ],
    [
      'started before its database is healthy',
      (c) => void (c.services['bid-worker'].depends_on.postgres.condition = 'service_started'),
      /depends_on postgres service_started/,
    ],
  ])('refuse %s', (_, change, expected) => {
    const broken = structuredClone(local);
    change(broken);
    expect(appServiceProblems(broken, 'broken', (env) => loadConfig(env)).join('\n')).toMatch(expected);
  });
});

describe('the VPS stack (docker-compose.yml + the app services + deploy/vps/compose.yml)', () => {
  it('publishes only the ingress, on 80 and 443; everything else stays on the compose network or 127.0.0.1', () => {
    const open = services(vps).flatMap(([name, svc]) =>
      published(svc)
        .filter((p) => !p.startsWith('127.0.0.1:'))
        .map((p) => `${name} ${p}`),
    );
    expect(open.sort()).toEqual(['ingress 0.0.0.0:443->443/tcp', 'ingress 0.0.0.0:443->443/udp', 'ingress 0.0.0.0:80->80/tcp']);
    for (const name of ['postgres', 'rabbitmq', 'redis']) expect(vps.services[name].ports, name).toEqual([]);
  });

  it('gives every long-running service a restart policy, a memory limit, rotated logs and a health check', () => {
    const problems = services(vps).flatMap(([name, svc]) => [
      ...(svc.logging?.options?.['max-size'] ? [] : [`${name}: no log rotation`]),
      ...(svc.mem_limit ? [] : [`${name}: no mem_limit`]),
      ...(ONE_SHOTS.includes(name)
        ? svc.restart === 'no'
          ? []
          : [`${name} is a one-shot and must not restart`]
        : [
            ...(['unless-stopped', 'always'].includes(svc.restart) ? [] : [`${name}: restart ${svc.restart}`]),
            ...(svc.healthcheck?.test ? [] : [`${name}: no healthcheck`]),
          ]),
    ]);
    // preflight runs a shell script for a moment: no memory limit to speak of.
    expect(problems.filter((p) => p !== 'preflight: no mem_limit')).toEqual([]);
  });

  it('starts nothing before preflight passed, and no app process before the expand migrations ran', () => {
    const dependsOn = (name: string): Record<string, { condition: string }> => vps.services[name].depends_on ?? {};
    const reaches = (name: string, target: string, seen = new Set<string>()): boolean =>
      Object.keys(dependsOn(name)).some((d) => d === target || (!seen.has(d) && (seen.add(d), reaches(d, target, seen))));
    const notGated = services(vps)
      .map(([name]) => name)
      .filter((name) => name !== 'preflight' && !reaches(name, 'preflight'));
    expect(notGated).toEqual([]);
    expect(dependsOn('preflight')).toEqual({});
    for (const app of ['bid-service', 'bid-worker']) expect(dependsOn(app).migrate, app).toEqual({ condition: 'service_completed_successfully' });
    expect(vps.services.migrate.command).toEqual(['dist/migrate.js', 'expand']);
  });

  it('requires every secret (${NAME:?…}), so compose stops before starting anything without one', () => {
    const text = readFileSync(join(repoRoot, 'deploy/vps/compose.yml'), 'utf8');
    for (const name of [...SECRETS, 'POSTGRES_USER', 'RABBITMQ_DEFAULT_USER', 'DOMAIN']) expect(text, name).toContain(`\${${name}:?`);
    // And the app services are given the secrets, not the local defaults.
    expect(JSON.stringify(vps.services['bid-service'].environment)).not.toMatch(/:-postgres|:-guest/);
  });

  it('gives the app an environment runtime/config.ts accepts', () => {
    const filled = (value: string) =>
      value.replace(/\$\{(\w+)(?::[-?][^}]*)?\}/g, (_, name: string) => (name === 'POSTGRES_DB' ? 'auction' : `${name.toLowerCase()}0123456789abcdef`));
    const environment = Object.fromEntries(
      Object.entries(vps.services['bid-worker'].environment as Record<string, string>).map(([k, v]) => [k, filled(String(v))]),
    );
    const config = loadConfig(environment);
    expect(new URL(config.databaseUrl).host).toBe('postgres:5432');
    expect(new URL(config.redisUrl).password).toBe('redis_password0123456789abcdef');
  });

  it('turns dev sign-in off on the public server, which the local stack turns on', () => {
    const env = (stack: typeof vps) =>
      loadConfig(Object.fromEntries(Object.entries(stack.services['bid-service'].environment as Record<string, string>).filter(([k]) => k.startsWith('AUTH_'))))
        .auth;
    expect(env(local).devSignIn, 'docker-compose.yml').toBe(true);
    expect(env(vps).devSignIn, 'with deploy/vps/compose.yml').toBe(false);
  });

  it('mounts files that exist in the repo', () => {
    const sources = services(vps).flatMap(([name, svc]) =>
      (svc.volumes ?? []).filter((v: unknown) => typeof v === 'string' && v.startsWith('./')).map((v: string) => [name, v.split(':')[0]!]),
    );
    const missing = sources.filter(([, path]) => !existsSync(join(repoRoot, path!)));
    expect(missing).toEqual([]);
    expect(sources.length).toBeGreaterThan(5);
  });
});

describe('deploy/vps/preflight.sh', () => {
  const run = (env: Record<string, string>) =>
    promisify(execFile)('sh', [join(repoRoot, 'deploy/vps/preflight.sh')], { env: { PATH: process.env.PATH!, ...env } }).then(
      ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }),
    );
  const good = {
    POSTGRES_USER: 'auction',
    RABBITMQ_DEFAULT_USER: 'auction',
    DOMAIN: 'bids.example.org',
    ...Object.fromEntries(SECRETS.map((s, i) => [s, `${i}f3a9c2e71b04d5e6a8c9`])),
  };

  it('lets a stack with its own secrets start', async () => {
    expect(await run(good)).toEqual({ code: 0, output: 'preflight: secrets are set and none is a published default.\n' });
  });

  it('refuses the values of deploy/vps/.env.example, naming each one to replace', async () => {
    const example = Object.fromEntries(
      readFileSync(join(repoRoot, 'deploy/vps/.env.example'), 'utf8')
        .split('\n')
        .filter((l) => /^\w+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const result = await run(example);
    expect(result.code).toBe(1);
    for (const name of SECRETS) expect(result.output).toContain(`${name} is still the published default "replace-me"`);
    expect(result.output).toContain('DOMAIN is "auction.example.com"');
  });

  it.each([
    ['unset', { POSTGRES_PASSWORD: '' }, 'POSTGRES_PASSWORD is not set'],
    ['the local default', { RABBITMQ_DEFAULT_PASS: 'guest' }, 'RABBITMQ_DEFAULT_PASS is still the published default "guest"'],
    ['short', { REDIS_PASSWORD: 'abc123' }, 'REDIS_PASSWORD is 6 characters long'],
    ['not URL-safe', { POSTGRES_PASSWORD: 'p@ss/word:0123456789' }, 'POSTGRES_PASSWORD has characters other than'],
    ['the guest user', { RABBITMQ_DEFAULT_USER: 'guest' }, 'RABBITMQ_DEFAULT_USER is guest'],
  ])('refuses a secret that is %s', async (_, change, message) => {
    const result = await run({ ...good, ...change });
    expect(result.code).toBe(1);
    expect(result.output).toContain(message);
    expect(result.output).toContain('refusing to start the stack');
  });
});
