// Remembers the last result of each milestone per tree, keyed by the tree's content hash,
// so a prerequisite that still passes on unchanged code is not run again.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MilestoneState } from './ui.ts';
import { milestones } from '../milestones/manifest.ts';
import { workDir } from './trees.ts';

type Store = Record<string, Record<string, { hash: string; passed: number; failed: number }>>;
const file = join(workDir, 'progress.json');

/** Everything remembered: per tree label, per milestone, the last result. */
export const loadStore = (): Promise<Store> => load();

async function load(): Promise<Store> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Store;
  } catch {
    return {};
  }
}

export async function remember(treeLabel: string, milestone: number, hash: string, result: { passed: number; failed: number }): Promise<void> {
  const store = await load();
  store[treeLabel] = { ...store[treeLabel], [milestone]: { hash, ...result } };
  await mkdir(workDir, { recursive: true });
  await writeFile(file, JSON.stringify(store, null, 2));
}

/** The remembered result of a milestone, if it was run on exactly this tree content. */
export async function recall(treeLabel: string, milestone: number, hash: string): Promise<{ passed: number; failed: number } | undefined> {
  const entry = (await load())[treeLabel]?.[milestone];
  return entry && entry.hash === hash ? entry : undefined;
}

/** Each milestone's state, judged on the part of the tree its tests depend on (hashFor: trees.ts hashTreeFor). */
export async function states(treeLabel: string, hashFor: (n: number) => Promise<string>): Promise<Map<number, MilestoneState>> {
  const out = new Map<number, MilestoneState>();
  for (const m of milestones) {
    if (!m.ready) {
      out.set(m.n, { state: 'not written' });
      continue;
    }
    const r = await recall(treeLabel, m.n, await hashFor(m.n));
    out.set(m.n, !r ? { state: 'not run' } : r.failed === 0 ? { state: 'passed' } : { state: 'failing', failed: r.failed });
  }
  return out;
}
