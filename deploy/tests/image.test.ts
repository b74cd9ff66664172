// Milestone 6 · one image, two entry points. No Docker engine runs here, so this checks what
// can be checked anywhere: the reference's Dockerfile (solutions/deploy/Dockerfile), its runtime stage (non-root, production dependencies
// only), the build context, and the build output itself, laid out as in the image
// (<WORKDIR>/dist next to node_modules) and started the way the image starts it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { configToEnv, loadConfig } from '#runtime/config.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { all, dockerfileProblems, dockerignorePatterns, execForm, pairs, parseDockerfile } from '#testkit/dockerfile.ts';
import { containersOf, deployments, manifestsOf } from '#testkit/k8s-manifests.ts';
import { repoRoot, solutionsDir } from '#workbook/trees.ts';
import { build } from '../../scripts/build.ts';

const env = useTestEnv();

// The reference's Dockerfile (the learner's is milestone 6's deploy.test.ts's to check).
const dockerfile = parseDockerfile(readFileSync(join(solutionsDir, 'deploy/Dockerfile'), 'utf8'));
const runtime = dockerfile.at(-1)!;
const runtimeEnv: Record<string, string> = Object.assign({}, ...all(runtime, 'ENV').map(pairs));
const cmd = execForm(all(runtime, 'CMD').at(-1));
/** CMD, and every other command the image documents in its entrypoints label. */
const entryPoints = [
  ...new Set([
    ...(cmd ?? []),
    ...(Object.assign({}, ...all(runtime, 'LABEL').map(pairs))['org.auction-workbook.entrypoints'] ?? '').split(/\s+/).filter(Boolean),
  ]),
];

describe('the Dockerfile', () => {
  const ignored = dockerignorePatterns(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'));

  it('has a build stage that bundles the tree, and a runtime stage: production dependencies, the bundles, non-root, a health check, node <entry point>', () => {
    // The rules milestone 6's deploy.test.ts holds the learner's Dockerfile to.
    const nodeMajor = readFileSync(join(repoRoot, '.nvmrc'), 'utf8').trim().split('.')[0]!;
    const defaults = loadConfig({}).http;
    expect(dockerfileProblems(dockerfile, { nodeMajor, ports: [defaults.port, defaults.apiPort], ignored, where: 'solutions/deploy/Dockerfile' })).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build, 'npm run build').toContain('scripts/build.ts');
    expect(entryPoints).toEqual(expect.arrayContaining(['dist/bid-service.js', 'dist/bid-worker.js']));
  });

  it('keeps node_modules, .git and local state out of the build context', () => {
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.git', '.workbook', 'dist', '.env']));
  });

  it('the rules refuse a Dockerfile that runs as root and installs the dev dependencies (they can fail)', () => {
    const broken = parseDockerfile(readFileSync(join(solutionsDir, 'deploy/Dockerfile'), 'utf8').replace('USER node', 'USER root').replace('--omit=dev ', ''));
    const problems = dockerfileProblems(broken, { nodeMajor: '24', ports: [3000, 8080], ignored, where: 'broken' }).join('\n');
    expect(problems).toMatch(/runs as root/);
    expect(problems).toMatch(/installs the dev dependencies too/);
  });
});

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

interface Started {
  entry: string;
  port: number;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  child: ChildProcess;
}

/** `node <entry point>` as the image runs it, from a working directory that is not the image's. */
async function startBuilt(app: string, entry: string, cwd: string): Promise<Started> {
  const [port, apiPort] = [await freePort(), await freePort()];
  const config = { ...env.config, serviceName: basename(entry, '.js'), logLevel: 'info', http: { ...env.config.http, port, apiPort } };
  const child = spawn(process.execPath, ['--import', pathToFileURL(join(repoRoot, 'testkit/exit-with-parent.ts')).href, join(app, entry)], {
    cwd,
    // Only what the image and the Deployment give it: no variable of this test runner leaks in.
    env: { PATH: process.env.PATH, ...runtimeEnv, ...configToEnv(config), WORKBOOK_PARENT_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (l) => output.push(l));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  const EXITED = -1;
  const status = await eventually(
    async () => (done ? EXITED : (await fetch(`http://127.0.0.1:${port}/healthz`)).status),
    (s) => s === 200 || s === EXITED,
    `${entry} answering /healthz with 200 on PORT ${port}`,
    15_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nIts output:\n${output.slice(-15).join('\n')}`);
  });
  if (status === EXITED) throw new Error(`${entry} exited before answering /healthz. Its output:\n${output.slice(-15).join('\n')}`);
  return { entry, port, output, exited, child };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The httpGet probe paths each Deployment of the reference's manifests gives the container that runs `entry`. */
function probePathsOf(entry: string): string[] {
  return deployments(manifestsOf(solutionsDir))
    .flatMap((d) => containersOf(d))
    .filter((c) => c.args?.[0] === entry)
    .flatMap((c) => [c.startupProbe, c.readinessProbe, c.livenessProbe].map((p) => p?.httpGet?.path).filter((p): p is string => !!p));
}

describe('the build output', () => {
  it('has every entry point the Dockerfile names; each starts from another directory, answers its probes, and exits 0 on SIGTERM', {
    timeout: 90_000,
  }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'wb-image-'));
    const started: Started[] = [];
    try {
      // The image's layout: WORKDIR with dist/ (the build output) and node_modules/.
      const app = join(root, all(runtime, 'WORKDIR').at(-1)!);
      await mkdir(app, { recursive: true });
      await symlink(join(repoRoot, 'node_modules'), join(app, 'node_modules'), 'dir');
      await build({ tree: env.tree, outDir: join(app, 'dist') });
      for (const entry of entryPoints) expect(existsSync(join(app, entry)), `${entry} in the build output`).toBe(true);

      for (const entry of entryPoints) started.push(await startBuilt(app, entry, root));
      for (const s of started) {
        const paths = probePathsOf(s.entry);
        expect(paths.length, `probes deploy/k8s gives ${s.entry}`).toBeGreaterThan(0);
        for (const path of paths) expect.soft((await fetch(`http://127.0.0.1:${s.port}${path}`)).status, `${s.entry} ${path}`).toBe(200);
      }

      // The event contracts are compiled into both bundles (runtime/gen): the service encodes the
      // BidPlaced of a bid, and the worker relays and decodes it into the read model.
      const service = started.find((s) => s.entry === cmd![0])!;
      const item = await fetch(`http://127.0.0.1:${service.port}/items`, {
        method: 'POST',
        body: JSON.stringify({ title: 'Image lamp', startPriceCents: '1000', endAt: new Date(Date.now() + 3_600_000).toISOString() }),
      });
      expect(item.status, await item.clone().text()).toBe(201);
      const { id } = (await item.json()) as { id: string };
      const bid = await fetch(`http://127.0.0.1:${service.port}/items/${id}/bids`, {
        method: 'POST',
        body: JSON.stringify({ userId: randomUUID(), amountCents: '1500' }),
      });
      expect(bid.status, await bid.clone().text()).toBe(201);
      await eventually(
        async () => (await (await fetch(`http://127.0.0.1:${service.port}/items/${id}/live`)).json()) as { source: string; bidCount: string },
        (live) => live.source === 'redis' && live.bidCount === '1',
        'the bid in the read model (published by the built worker, decoded by its consumer)',
        15_000,
      );

      for (const s of started) s.child.kill('SIGTERM');
      const graceMs = env.config.http.shutdownGraceMs + 5_000;
      for (const s of started) {
        const ended = await Promise.race([s.exited, new Promise((r) => setTimeout(r, graceMs, 'still running').unref())]);
        expect(ended, `${s.entry} ${graceMs} ms after SIGTERM. Its output:\n${s.output.slice(-10).join('\n')}`).toEqual({ code: 0, signal: null });
      }
    } finally {
      for (const s of started) s.child.kill('SIGKILL');
      await rm(root, { recursive: true, force: true });
    }
  });
});
