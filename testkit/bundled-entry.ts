// The service processes a test or scenario starts run from a bundle of their entry point,
// built by esbuild (as `npm run build` builds the image) once per content of the tree and of
// runtime/, instead of through tsx. Measured on this two-core machine, a bid-service started
// through tsx used 1.8-2.0 s of CPU before it listened, from a bundle 1.0-1.2 s; npm test starts
// a few hundred of them. The bundle keeps the modules' names (keepNames) and maps stack traces
// back to the .ts files (a linked source map, read only when a stack is: testkit/mapped-stacks.ts),
// so what a learner reads in a failure is unchanged. Code esbuild cannot bundle (a syntax error in the learner's file) runs
// through tsx as before, which reports it.
//
// Unlike the image's bundle, this one also holds the packages (see bundlePackages below), and
// its source map covers only the workbook's own files (ownFilesOnly).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { decode, encode } from '@jridgewell/sourcemap-codec';
import * as esbuild from 'esbuild';
import { APP_BUNDLE_OPTIONS, treeImports } from '../scripts/build.ts';
import { hashFiles, hashTree, repoRoot, workDir } from '../workbook/trees.ts';

const bundlesDir = join(workDir, 'bundles');
const servicePreload = join(repoRoot, 'testkit/service-preload.ts');
/** What the preload is built from. */
const PRELOAD_FILES = ['testkit/service-preload.ts', 'testkit/exit-with-parent.ts', 'testkit/mapped-stacks.ts'];

/** What a bundled start runs: node --import <preload> <entry>. */
export interface BundledEntry {
  entry: string;
  preload: string;
}

/** The content of everything a bundle can contain: the tree's src/, runtime/ (the app imports parts of it) and the preload's files. */
async function contentKey(tree: string, entry: string): Promise<string> {
  const runtimeFiles = (await readdir(join(repoRoot, 'runtime'), { recursive: true }))
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => `runtime/${f}`);
  const parts = [
    // The format's name too: a bundle built the way an earlier version of this file built them is not reused.
    'packages bundled, own map, stacks mapped by the preload, import.meta.url as bundled',
    tree,
    entry,
    await hashTree(tree, ['src']),
    // The preload is bundled beside the entry: its files count too.
    await hashFiles(repoRoot, [...PRELOAD_FILES, ...runtimeFiles]),
  ];
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
}

/**
 * The packages go into the bundle too. A process of the image loads them from node_modules:
 * one file at a time, each resolved, read and compiled, and `redis` alone is some 600 files
 * (every command of @redis/client, and the modules the `redis` package adds). Profiled with
 * --cpu-prof, a bid-service start spent about a third of its CPU resolving and loading them.
 * From one file (and ownFilesOnly's map) its start to 'listening' took 0.88 s of CPU instead
 * of 1.35 s (perf stat task-clock, three starts each, alternated, on the loaded machine). CommonJS packages inside an ES module bundle
 * call `require` for Node's own modules, which an ES module lacks: the banner gives it one.
 */
const bundlePackages = {
  packages: 'bundle',
  banner: { js: "import { createRequire as __workbookCreateRequire } from 'node:module'; const require = __workbookCreateRequire(import.meta.url);" },
} as const satisfies esbuild.BuildOptions;

/**
 * Drops the packages' files from a source map. The whole map is parsed the first time a process
 * formats a stack (testkit/mapped-stacks.ts; under --enable-source-maps, as Node did before it,
 * at every start): with the packages in it the map is twenty times the size, and its parse cost
 * more than the packages' own loading saved. A stack then shows the app's .ts files as written and a
 * package's frames at their place in the bundle, which is what a learner needs of them.
 */
async function ownFilesOnly(mapFile: string): Promise<void> {
  const map = JSON.parse(await readFile(mapFile, 'utf8')) as { sources: string[]; sourcesContent?: unknown; mappings: string; [k: string]: unknown };
  const kept = new Map<number, number>();
  const sources: string[] = [];
  map.sources.forEach((source, i) => {
    if (!source.includes('node_modules/')) kept.set(i, sources.push(source) - 1);
  });
  const mappings = decode(map.mappings).map((line) =>
    line.flatMap((segment) => {
      if (segment.length === 1) return [];
      const to = kept.get(segment[1]!);
      return to === undefined ? [] : [[segment[0], to, ...segment.slice(2)] as typeof segment];
    }),
  );
  await writeFile(mapFile, JSON.stringify({ ...map, sources, mappings: encode(mappings) }));
}

const building = new Map<string, Promise<BundledEntry>>();

/** The bundle of `entry` (a file of the tree's src/), built now if this content has none yet; undefined if esbuild cannot build it. */
export async function bundledEntry(tree: string, entry: string): Promise<BundledEntry | undefined> {
  const key = await contentKey(tree, entry);
  const dir = join(bundlesDir, key);
  const result = { entry: join(dir, `${basename(entry, '.ts')}.mjs`), preload: join(dir, 'preload.mjs') };
  if (existsSync(result.entry) && existsSync(result.preload)) return result;
  if (!building.has(key)) {
    building.set(
      key,
      (async () => {
        // Built next to the final folder, then renamed: parallel test files (and vitest runs) may build the same one.
        const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
        await mkdir(tmp, { recursive: true });
        try {
          await esbuild.build({
            entryPoints: [
              { in: join(tree, 'src', entry), out: basename(entry, '.ts') },
              { in: servicePreload, out: 'preload' },
            ],
            outdir: tmp,
            outExtension: { '.js': '.mjs' },
            ...APP_BUNDLE_OPTIONS,
            ...bundlePackages,
            logLevel: 'silent',
            plugins: [treeImports(tree)],
          });
          for (const file of await readdir(tmp)) if (file.endsWith('.map')) await ownFilesOnly(join(tmp, file));
          await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
            // Another process renamed its identical build there first.
            if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
            await rm(tmp, { recursive: true, force: true });
          });
          return result;
        } catch (err) {
          await rm(tmp, { recursive: true, force: true });
          throw err;
        } finally {
          building.delete(key);
        }
      })(),
    );
  }
  return building.get(key)!.catch(() => undefined);
}
