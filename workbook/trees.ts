// The app trees (design §2): solutions/ is hand-written; exercises/ and every T_k are
// generated from it. A tree is a folder with src/, migrations/ and deploy/ (the Dockerfile,
// the compose app services and the worker's Kubernetes manifest, which milestone 6 writes).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { milestones } from '../milestones/manifest.ts';
import { readTreeRegions, renderFile } from './regions.ts';

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));
export const solutionsDir = join(repoRoot, 'solutions');
export const exercisesDir = join(repoRoot, 'exercises');
export const workDir = join(repoRoot, '.workbook');
/** Where the tests of the runtime, the test kit, the CLI and the deployment files live, beside what they test (npm run check -- infra runs them). */
export const INFRA_TEST_DIRS = ['runtime', 'testkit', 'workbook', 'deploy/tests', 'scripts'] as const;
/** The repo path of one of those tests, by its file name (postgres-lessons.test.ts), or undefined. */
export function infraTestPath(name: string): string | undefined {
  for (const dir of INFRA_TEST_DIRS) {
    const found = (readdirSync(join(repoRoot, dir), { recursive: true }) as string[]).find((f) => basename(f) === name);
    if (found !== undefined) return `${dir}/${found.split(sep).join('/')}`;
  }
  return undefined;
}
export const TREE_PARTS = ['src', 'migrations', 'deploy'] as const;
/** Every milestone's number, from milestones/manifest.ts (the one list of milestones). */
export const MILESTONES: readonly number[] = milestones.map((m) => m.n);
/** The last milestone: T_LAST stubs nothing, so it is solutions/ itself. */
export const LAST_MILESTONE = Math.max(...MILESTONES);

/** T_k: the tree of a learner who has finished milestones 1..k. */
export function stubsAbove(k: number): Set<number> {
  return new Set(MILESTONES.filter((m) => m > k));
}

export function generatedTreeDir(k: number): string {
  return join(workDir, 'trees', `t${k}`);
}

export async function listTreeFiles(tree: string): Promise<string[]> {
  const files: string[] = [];
  for (const part of TREE_PARTS) {
    const base = join(tree, part);
    if (!existsSync(base)) continue;
    for (const entry of await readdir(base, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.push(relative(tree, join(entry.parentPath, entry.name)));
    }
  }
  return files.sort();
}

/** Renders solutions/ with the given milestones stubbed. Returns path -> content. */
export async function renderTree(stubbed: ReadonlySet<number>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const file of await listTreeFiles(solutionsDir)) {
    const text = await readFile(join(solutionsDir, file), 'utf8');
    out.set(file, renderFile(join('solutions', file), text, stubbed));
  }
  return out;
}

/** Writes a rendered tree to `dir`, removing files that are no longer generated. */
export async function writeTree(dir: string, files: Map<string, string>): Promise<{ written: number; removed: number }> {
  let written = 0;
  let removed = 0;
  for (const file of await listTreeFiles(dir)) {
    if (!files.has(file)) {
      await rm(join(dir, file));
      removed++;
    }
  }
  for (const [file, text] of files) {
    const target = join(dir, file);
    if (existsSync(target) && (await readFile(target, 'utf8')) === text) continue;
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
    written++;
  }
  return { written, removed };
}

/** Generates T_k under .workbook/trees and returns its folder. */
export async function materializeTree(k: number): Promise<string> {
  if (k >= LAST_MILESTONE) return solutionsDir;
  const dir = generatedTreeDir(k);
  await writeTree(dir, await renderTree(stubsAbove(k)));
  return dir;
}

/** The hash a T_k has when it stubs nothing: the reference as the generator writes it (no stub comments). */
export async function fullTreeHash(): Promise<string> {
  const dir = generatedTreeDir(LAST_MILESTONE);
  await writeTree(dir, await renderTree(stubsAbove(LAST_MILESTONE)));
  return hashTree(dir);
}

/** sha256 over each file's path and bytes (paths relative to `root`, in the order given): what a cache keyed by content compares. */
export async function hashFiles(root: string, files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(await readFile(join(root, file)))
      .update('\0');
  return hash.digest('hex');
}

/** Content hash of a tree (or of one part of it), so identical trees share test results. */
export async function hashTree(tree: string, parts: readonly string[] = TREE_PARTS): Promise<string> {
  const files = (await listTreeFiles(tree)).filter((file) => parts.some((part) => file.startsWith(`${part}/`)));
  return (await hashFiles(tree, files)).slice(0, 12);
}

/**
 * The content hash of what milestone k's tests depend on: the whole tree except the bodies of
 * later milestones' regions. Writing milestone 3 leaves the hash for milestones 1 and 2 as it
 * was, so `npm run milestone:3` re-runs them only when their own code (or provided code) changed.
 */
export async function hashTreeFor(tree: string, k: number): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await listTreeFiles(tree)) {
    const text = await readFile(join(tree, file), 'utf8');
    const lines = text.split('\n');
    // Bottom-up, so earlier line numbers stay valid; a region's marker lines stay.
    for (const r of readTreeRegions(file, text)
      .filter((x) => x.milestone > k)
      .sort((a, b) => b.start - a.start))
      lines.splice(r.start + 1, r.end - r.start - 1);
    hash.update(file).update('\0').update(lines.join('\n')).update('\0');
  }
  return hash.digest('hex').slice(0, 12);
}

export function treeLabel(tree: string): string {
  const rel = relative(repoRoot, tree);
  return rel === 'exercises' || rel === 'solutions' ? rel : rel.replace(/^\.workbook\/trees\//, '');
}
