// `npm run build`: bundles the app's entry points into <out-dir>/bid-service.js and
// <out-dir>/bid-worker.js for the image (Dockerfile). Packages stay external: the image runs
// them from its own `npm ci --omit=dev`, so every package the bundle imports must be in
// package.json "dependencies"; the build refuses one that is not.
//
//   npm run build                                 exercises/ (your code) into dist/
//   npm run build -- --tree solutions             the reference
//   npm run build -- --tree <dir> --out-dir <dir> any tree (a folder with src/) anywhere
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { coerceError } from '../runtime/coerce-error.ts';

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** The processes the image runs; `node dist/<name>.js` starts one. */
export const ENTRY_POINTS = ['bid-service', 'bid-worker'] as const;

/**
 * One-shot commands the image also runs, from runtime/: `node dist/migrate.js expand|contract`
 * (the rollout's migration steps, deploy/vps/compose.yml and deploy/k8s/migrate-*.yaml). The
 * tree's migrations are copied to <out-dir>/migrations for it.
 */
export const ONE_SHOT_ENTRY_POINTS = { migrate: 'runtime/migrate-main.ts' } as const;

/**
 * How the app is bundled, for the image and for the test kit's service processes
 * (testkit/bundled-entry.ts) alike: packages stay external, names and a linked source map
 * are kept, so stack traces, logs and error names show classes and files as they are written.
 */
export const APP_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  packages: 'external',
  keepNames: true,
  sourcemap: 'linked',
  sourcesContent: false,
  absWorkingDir: repoRoot,
} as const satisfies esbuild.BuildOptions;

export interface BuildResult {
  outDir: string;
  /** Absolute paths of the built entry points. */
  files: string[];
  /** Packages the bundle imports at run time (all in package.json "dependencies"). */
  packages: string[];
}

export async function build(options: { tree?: string; outDir?: string } = {}): Promise<BuildResult> {
  const tree = resolveTree(options.tree ?? 'exercises');
  const outDir = resolve(options.outDir ?? join(repoRoot, 'dist'));
  await removeEarlierBuild(outDir);
  await mkdir(outDir, { recursive: true });

  const result = await esbuild.build({
    entryPoints: [
      ...ENTRY_POINTS.map((name) => ({ in: join(tree, 'src', `${name}.ts`), out: name })),
      ...Object.entries(ONE_SHOT_ENTRY_POINTS).map(([name, path]) => ({ in: join(repoRoot, path), out: name })),
    ],
    outdir: outDir,
    ...APP_BUNDLE_OPTIONS,
    metafile: true,
    logLevel: 'warning',
    plugins: [treeImports(tree), noImportMetaUrl()],
  });

  // dist/ runs as ESM wherever it is copied, whatever package.json sits above it.
  await writeFile(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);

  await mkdir(join(outDir, 'migrations'), { recursive: true });
  for (const file of await readdir(join(tree, 'migrations'))) {
    if (file.endsWith('.sql')) await copyFile(join(tree, 'migrations', file), join(outDir, 'migrations', file));
  }

  const packages = await checkPackagesAreDependencies(result.metafile);
  return { outDir, files: ENTRY_POINTS.map((name) => join(outDir, `${name}.js`)), packages };
}

/** Empties the out dir only if it holds an earlier build (or nothing): `--out-dir .` must not delete the repo. */
async function removeEarlierBuild(outDir: string): Promise<void> {
  const entries: string[] = await readdir(outDir).catch(() => []);
  if (entries.length > 0 && !ENTRY_POINTS.every((name) => entries.includes(`${name}.js`))) {
    throw new Error(`${outDir} is not empty and holds no earlier build; give --out-dir a new or empty folder.`);
  }
  await rm(outDir, { recursive: true, force: true });
}

function resolveTree(tree: string): string {
  if (tree === 'exercises' || tree === 'solutions') return join(repoRoot, tree);
  return resolve(tree);
}

/** #app/* is the chosen tree's src/ (package.json maps it to exercises/ only); #runtime/* is runtime/. */
export function treeImports(tree: string): esbuild.Plugin {
  return {
    name: 'tree-imports',
    setup(b) {
      b.onResolve({ filter: /^#(app|runtime)\// }, (args) => {
        const [, scope, rest] = /^#(app|runtime)\/(.*)$/.exec(args.path)!;
        return { path: scope === 'app' ? join(tree, 'src', rest!) : join(repoRoot, 'runtime', rest!) };
      });
    },
  };
}

/**
 * A bundled module must not find files next to itself with import.meta.url: in the bundle it
 * sits at <out-dir>/<entry>.js, not at its path in the repository, and the image carries
 * dist/ alone. What the app reads at run time is code (the contracts: runtime/gen) or
 * configuration; the migrations are copied to <out-dir>/migrations above.
 */
function noImportMetaUrl(): esbuild.Plugin {
  return {
    name: 'no-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const fromRoot = relative(repoRoot, args.path).split('\\').join('/');
        return {
          errors: [
            {
              text: `${fromRoot} uses import.meta.url: in the bundle it is <out-dir>/<entry>.js, and the image has no files beside it. Generate what it reads into code (as runtime/gen holds the contracts), or read it from configuration.`,
            },
          ],
        };
      });
    },
  };
}

async function checkPackagesAreDependencies(metafile: esbuild.Metafile): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const dependencies = new Set(Object.keys(pkg.dependencies ?? {}));
  const builtins = new Set(builtinModules);
  const packages = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || imported.path.startsWith('node:') || builtins.has(imported.path)) continue;
      const parts = imported.path.split('/');
      packages.add(imported.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  const missing = [...packages].filter((p) => !dependencies.has(p));
  if (missing.length > 0) {
    throw new Error(
      `The app imports ${missing.join(', ')}, which package.json lists only as a devDependency (or not at all); ` +
        `the image installs production dependencies only. Move it with \`npm install ${missing.join(' ')}\`, then run \`npm run build\` again.`,
    );
  }
  return [...packages].sort();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tree: { type: 'string' }, 'out-dir': { type: 'string' } } });
  const started = performance.now();
  const result = await build({ tree: values.tree, outDir: values['out-dir'] });
  const shown = (path: string) => (isAbsolute(path) ? relative(process.cwd(), path) || '.' : path);
  console.log(`built ${result.files.map(shown).join(', ')} in ${Math.round(performance.now() - started)} ms (packages: ${result.packages.join(', ')})`);
  console.log(
    `run one with \`node ${shown(result.files[0]!)}\`, or build the image with \`docker build -f exercises/deploy/Dockerfile -t auction-workbook .\``,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`npm run build failed: ${coerceError(err).message}`);
    process.exit(1);
  });
}
