// Run only by npm run test:containers: each way the Testcontainers path can be unusable ends
// in a message that says what is wrong and names the fix, never in a stack trace. Most cases
// run the learner's own command (npm run milestone:1) in a child process with the engine
// settings broken on purpose, because Testcontainers keeps the first engine it finds for the
// life of a process.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkbookSettings } from '#runtime/config.ts';
import { ContainersUnavailable, findEngine } from '#testkit/containers.ts';
import { repoRoot } from '#workbook/trees.ts';
import { coerceError } from '../../runtime/coerce-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'wb-engine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** npm run milestone:1 -- --solution with the services forced to come from containers. */
async function milestoneWith(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(join(repoRoot, 'node_modules/.bin/tsx'), ['workbook/cli.ts', 'milestone', '1', '--solution'], {
    cwd: repoRoot,
    env: { ...process.env, WORKBOOK_INFRA: 'testcontainers', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}

/** What every one of these must look like: the problem, a Fix: line, a Next: line, no stack. */
function expectClearMessage(result: { code: number | null; output: string }, what: RegExp, fix: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.output).toMatch(what);
  expect(result.output).toMatch(/^Fix: .+/m);
  expect(result.output).toMatch(fix);
  expect(result.output).toMatch(/^Next: npm run doctor$/m);
  expect(result.output).not.toMatch(/^\s+at /m);
  expect(result.output).not.toMatch(/probably a bug/);
}

/** A socket file whose server is gone, as a crashed engine leaves it: connecting is refused. */
async function refusingSocket(): Promise<string> {
  const path = join(dir, 'refusing.sock');
  const child = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  await once(child, 'exit');
  expect(existsSync(path)).toBe(true);
  return path;
}

// The sockets Testcontainers finds by itself; with one of them, "no engine" cannot be staged.
const defaultSocket = ['/var/run/docker.sock', join(homedir(), '.docker/run/docker.sock'), join(homedir(), '.docker/desktop/docker.sock')].some((s) =>
  existsSync(s),
);

describe('an unusable Testcontainers path says what is wrong and names the fix', () => {
  it.skipIf(defaultSocket)('no container engine at all', async () => {
    const result = await milestoneWith({ DOCKER_HOST: '' });
    expectClearMessage(result, /No container engine answers: DOCKER_HOST is not set/, /podman\.sh up|start Docker/);
  });

  it('DOCKER_HOST names a socket that does not exist', async () => {
    const path = join(dir, 'no-engine.sock');
    const result = await milestoneWith({ DOCKER_HOST: `unix://${path}` });
    expectClearMessage(result, new RegExp(`DOCKER_HOST=unix://${path} names ${path}, which does not exist`), /start Docker/);
  });

  it('DOCKER_HOST names a socket that refuses connections', async () => {
    const path = await refusingSocket();
    const result = await milestoneWith({ DOCKER_HOST: `unix://${path}` });
    expectClearMessage(result, /is a socket, but nothing accepts connections on it/, /start Docker/);
  });

  it('an image that is not there and cannot be pulled', async () => {
    const result = await milestoneWith({ WORKBOOK_REDIS_IMAGE: 'localhost/workbook-missing:0' });
    expectClearMessage(
      result,
      /The Redis image localhost\/workbook-missing:0 \(WORKBOOK_REDIS_IMAGE\) is not on .+ and could not be pulled/,
      /podman\.sh build|docker pull/,
    );
    expect(result.output).toMatch(/WORKBOOK_REDIS_IMAGE to an image you have/);
  });

  it('something that is not a Docker API answers on the socket', async () => {
    const path = join(dir, 'not-docker.sock');
    const server = createServer((_, res) => res.writeHead(404).end('not here'));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const err = await findEngine({ ...loadWorkbookSettings(), dockerHost: `unix://${path}` }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ContainersUnavailable);
      expect(coerceError(err).message).toMatch(/answers on .*not-docker\.sock \(DOCKER_HOST\), but not as a Docker API \(HTTP 404\)/);
      expect(coerceError(err).message).toMatch(/\nFix: start Docker/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
