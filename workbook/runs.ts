// What the learner has run: each milestone's test files and chaos scenarios, so an answer to a
// failure-inquiry question unlocks only once the learner has seen what answers it.
// Kept beside progress.json (which records results per tree content, not what was seen).
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { workDir } from './trees.ts';

export interface Seen {
  tests: string[];
  scenarios: string[];
}
type Store = Record<string, Seen>;

export const runsFile = (dir = workDir) => join(dir, 'runs.json');

export async function loadRuns(file = runsFile()): Promise<Store> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Store;
  } catch {
    return {};
  }
}

/** Records that these test files (base names) or this scenario of a milestone ran, whatever the outcome. */
export async function recordRun(slug: string, what: Partial<Seen>, file = runsFile()): Promise<void> {
  const store = await loadRuns(file);
  const seen = store[slug] ?? { tests: [], scenarios: [] };
  store[slug] = {
    tests: [...new Set([...seen.tests, ...(what.tests ?? [])])].sort(),
    scenarios: [...new Set([...seen.scenarios, ...(what.scenarios ?? [])])].sort(),
  };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(store, null, 2));
}

export async function seenIn(slug: string, file = runsFile()): Promise<Seen> {
  return (await loadRuns(file))[slug] ?? { tests: [], scenarios: [] };
}
