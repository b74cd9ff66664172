// Writing exercises/ from solutions/, and the sync check that proves it is up to date.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exercisesDir, listTreeFiles, renderTree, stubsAbove, writeTree } from '../trees.ts';

export async function generateExercises(): Promise<{ written: number; removed: number }> {
  return writeTree(exercisesDir, await renderTree(stubsAbove(0)));
}

/** Files where exercises/ differs from what the generator writes (empty when in sync). */
export async function syncDrift(): Promise<string[]> {
  const expected = await renderTree(stubsAbove(0));
  const drift: string[] = [];
  for (const [file, text] of expected) {
    const path = join(exercisesDir, file);
    if (!existsSync(path)) drift.push(`${file} (missing)`);
    else if ((await readFile(path, 'utf8')) !== text) drift.push(`${file} (differs)`);
  }
  for (const file of await listTreeFiles(exercisesDir)) if (!expected.has(file)) drift.push(`${file} (not in solutions/)`);
  return drift;
}
