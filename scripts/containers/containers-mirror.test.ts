// The podman path's images (scripts/containers/podman.sh) take their Debian mirror from the
// machine's own apt sources, in either of apt's formats, and deb.debian.org when the machine names
// no Debian mirror. Each case gives apt-config a sources.list and a sources.list.d of its own
// (APT_CONFIG) and reads the sources.list the base image would get (`podman.sh sources`): the
// recipe text itself, without building anything.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../workbook/trees.ts';

const script = join(repoRoot, 'scripts/containers/podman.sh');
let dir: string;
let n = 0;

/** The base image's sources.list for a machine whose apt has these source files (name → text). */
async function sourcesFor(files: Record<string, string>, env: Record<string, string> = {}): Promise<string> {
  const root = join(dir, `case-${++n}`);
  await mkdir(join(root, 'sources.list.d'), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(root, name), text);
  const conf = join(root, 'apt.conf');
  await writeFile(conf, `Dir::Etc::sourcelist "${join(root, 'sources.list')}";\nDir::Etc::sourceparts "${join(root, 'sources.list.d')}";\n`);
  const { stdout } = await promisify(execFile)('bash', [script, 'sources'], { env: { PATH: process.env.PATH!, APT_CONFIG: conf, ...env } });
  return stdout;
}

const imageSources = (mirror: string, security: string) =>
  `deb ${mirror} bookworm main\ndeb ${mirror} bookworm-updates main\ndeb ${security} bookworm-security main\n`;

// apt-config reads APT_CONFIG; without apt (not Debian) the script reads /etc/apt, which a test cannot replace.
describe.skipIf(!existsSync('/usr/bin/apt-config'))("the podman images' Debian mirror", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wb-apt-mirror-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("comes from the machine's deb822 sources, skipping source packages, disabled entries and key blocks", async () => {
    const sources = [
      'Types: deb-src',
      'URIs: http://src.example/debian',
      'Suites: bookworm',
      'Components: main',
      '',
      '# a mirror that is switched off',
      'Types: deb',
      'URIs: http://off.example/debian',
      'Suites: bookworm',
      'Enabled: no',
      '',
      'Types: deb deb-src',
      'URIs: http://mirror.example/debian/',
      'Suites: trixie trixie-updates',
      'Components: main',
      'Signed-By:',
      ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
      ' URIs: http://inside-a-key.example/debian',
      ' .',
      ' -----END PGP PUBLIC KEY BLOCK-----',
      '',
      'Types: deb',
      'URIs: http://security.example/debian-security',
      'Suites: trixie-security',
      'Components: main',
      '',
    ].join('\n');
    // A mirror of another Debian release serves bookworm too.
    expect(await sourcesFor({ 'sources.list.d/debian.sources': sources })).toBe(
      imageSources('http://mirror.example/debian', 'http://security.example/debian-security'),
    );
  });

  it("comes from the machine's one-line sources.list, options and comments and all", async () => {
    const list = [
      '# deb http://commented.example/debian bookworm main',
      'deb-src http://src.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.example.org/debian bookworm main contrib',
      'deb http://ftp.example.org/debian-security bookworm-security main # security',
      '',
    ].join('\n');
    expect(await sourcesFor({ 'sources.list': list })).toBe(imageSources('http://ftp.example.org/debian', 'http://ftp.example.org/debian-security'));
  });

  it('puts the security archive beside a mirror that has none listed', async () => {
    expect(await sourcesFor({ 'sources.list.d/local.list': 'deb http://cache.example:3142/debian bookworm main\n' })).toBe(
      imageSources('http://cache.example:3142/debian', 'http://cache.example:3142/debian-security'),
    );
  });

  it('is deb.debian.org when the machine names no Debian mirror: none at all, or only Ubuntu or local files', async () => {
    const fallback = imageSources('http://deb.debian.org/debian', 'http://deb.debian.org/debian-security');
    expect(await sourcesFor({})).toBe(fallback);
    expect(await sourcesFor({ 'sources.list': 'deb http://archive.ubuntu.com/ubuntu noble main\ndeb file:/srv/debian bookworm main\n' })).toBe(fallback);
  });

  it('is WORKBOOK_DEBIAN_MIRROR when set, whatever the machine has', async () => {
    const machine = { 'sources.list': 'deb http://ftp.example.org/debian bookworm main\ndeb http://ftp.example.org/debian-security bookworm-security main\n' };
    expect(await sourcesFor(machine, { WORKBOOK_DEBIAN_MIRROR: 'http://chosen.example/debian' })).toBe(
      imageSources('http://chosen.example/debian', 'http://chosen.example/debian-security'),
    );
    expect(await sourcesFor(machine, { WORKBOOK_DEBIAN_SECURITY_MIRROR: 'http://sec.example/debian-security' })).toBe(
      imageSources('http://ftp.example.org/debian', 'http://sec.example/debian-security'),
    );
  });
});
