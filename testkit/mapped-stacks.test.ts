import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledEntry } from './bundled-entry.ts';

// A tree of two files: the entry calls a function of another module that throws. Its service
// runs from a bundle, and what it prints must still point at the .ts lines a learner wrote.
let tree: string;
beforeAll(async () => {
  tree = await mkdtemp(join(tmpdir(), 'wb-stacks-'));
  await mkdir(join(tree, 'src'), { recursive: true });
  await writeFile(
    join(tree, 'src', 'price.ts'),
    [
      'export function priceOf(cents: bigint): string {',
      '  if (cents < 0n) throw new RangeError(`a price below zero: ${cents}`);',
      '  return String(cents);',
      '}',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(tree, 'src', 'entry.ts'),
    [
      'import { priceOf } from "./price.ts";',
      '',
      'function main() {',
      '  console.log(priceOf(-5n));',
      '}',
      'if (process.argv[2] === "caught") {',
      '  try { main(); } catch (err) { console.log((err as Error).stack); }',
      '} else main();',
      '',
    ].join('\n'),
  );
});
afterAll(() => rm(tree, { recursive: true, force: true }));

const run = async (mode: string) => {
  const bundle = await bundledEntry(tree, 'entry.ts');
  if (!bundle) throw new Error('esbuild could not bundle the test tree');
  return spawnSync(process.execPath, ['--import', pathToFileURL(bundle.preload).href, bundle.entry, mode], { encoding: 'utf8' });
};

describe('a bundled service’s stack traces', () => {
  it('name the .ts file, line and column of each frame of the app, for a stack the code reads', async () => {
    const { stdout } = await run('caught');
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('RangeError: a price below zero: -5');
    expect(lines[1]).toMatch(new RegExp(`^    at priceOf \\(${join(tree, 'src', 'price.ts')}:2:\\d+\\)$`));
    expect(lines[2]).toMatch(new RegExp(`^    at main \\(${join(tree, 'src', 'entry.ts')}:4:\\d+\\)$`));
  });

  it('and for an error nobody caught, which Node prints as the process dies', async () => {
    const { stderr, status } = await run('uncaught');
    expect(status).toBe(1);
    expect(stderr).toContain(`at priceOf (${join(tree, 'src', 'price.ts')}:2:`);
    // Node first prints the line that threw as it stands in the bundle; every frame after it is mapped.
    expect(stderr.split('\n').filter((l) => l.startsWith('    at ') && l.includes('entry.mjs'))).toEqual([]);
  });
});
