// `podman.sh stop` (and `up`, which restarts an API that stopped answering) stops podman's
// Docker API by the PID it wrote when it started it. The PID file outlives the process when a
// machine's processes are stopped without a reboot (a sandbox recycled: /run survives), and
// the number can then belong to anything. In CI it belonged to a process of the CI run itself:
// `up` killed it with SIGTERM, the shell printed "Terminated", and CI failed with every test
// passed. So the script stops the process only while it is still the API it started.
//
// Each case runs `podman.sh stop` with its run directory in a temporary folder and a stand-in
// `podman` first on PATH: the real CLI would remove the workbook's containers, which the
// Testcontainers run reuses. The stand-in lists no containers, and `podman system service`
// makes it wait a minute, so it can play the API's process.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../workbook/trees.ts';

const script = join(repoRoot, 'scripts/containers/podman.sh');
let dir: string;
const children: ChildProcess[] = [];

async function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** `podman.sh stop` with the PID file holding `pid`; what it printed on stderr. */
async function stopWithPidFile(pid: number): Promise<string> {
  await writeFile(join(dir, 'run', 'workbook-service.pid'), `${pid}\n`);
  const { stderr } = await promisify(execFile)('bash', [script, 'stop'], {
    env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, WORKBOOK_PODMAN_RUN_DIR: join(dir, 'run') },
  });
  return stderr;
}

describe.skipIf(process.platform !== 'linux' || process.getuid?.() !== 0)("podman.sh stop, with the API's PID file", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wb-podman-service-'));
    await promisify(execFile)('mkdir', ['-p', join(dir, 'bin'), join(dir, 'run')]);
    const fake = join(dir, 'bin', 'podman');
    // Node, not a shell script that execs sleep: the process keeps the arguments it was given.
    await writeFile(fake, `#!${process.execPath}\nif (process.argv.slice(2, 4).join(' ') === 'system service') setTimeout(() => {}, 60_000);\n`);
    await chmod(fake, 0o755);
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves alone a process that took the PID of an API that is gone', async () => {
    const bystander = start('sleep', ['60']);
    const stderr = await stopWithPidFile(bystander.pid!);
    expect(await exited(bystander, 500), `a bystander (sleep 60) holding the stale PID was killed; podman.sh said:\n${stderr}`).toBe(false);
    expect(stderr).not.toContain('stopped podman');
  });

  it('stops the API it started', async () => {
    const api = start(join(dir, 'bin', 'podman'), ['system', 'service', '--time=0', `unix://${join(dir, 'run', 'podman.sock')}`]);
    await new Promise((r) => setTimeout(r, 200));
    const stderr = await stopWithPidFile(api.pid!);
    expect(await exited(api, 5000), `the API's process (pid ${api.pid}) still runs after podman.sh stop; it said:\n${stderr}`).toBe(true);
    expect(stderr).toContain(`stopped podman's Docker API (pid ${api.pid})`);
  });
});
