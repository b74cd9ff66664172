// npm run check -- manifest (workbook/manifest-check.ts): a small repository in a temp
// folder that agrees with its manifest, then each rule shown failing on one thing broken in it.
// And the real repository, which must agree with milestones/manifest.ts.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { milestones as realMilestones, type Milestone } from '../milestones/manifest.ts';
import { checkManifest, namedPaths, type ManifestProblem } from '#workbook/manifest-check.ts';
import { repoRoot } from '#workbook/trees.ts';

const scenarioModule = (name: string, milestone: number) =>
  `export const scenario = { name: '${name}', milestone: ${milestone}, summary: 'breaks something', run: async () => ({ ok: true, line: 'fine', facts: {} }) };\n`;

function fixtureMilestones(): Milestone[] {
  return [
    {
      n: 1,
      slug: '01-first',
      title: 'First',
      ready: true,
      summary: 'the first',
      hints: {
        'a.test.ts': {
          concept: 'File: exercises/src/items/make.ts (step 1).',
          approach: 'Then items/list.ts.',
          code: 'The migration exercises/migrations/1_t.sql.',
        },
      },
    },
    {
      n: 2,
      slug: '02-second',
      title: 'Second',
      ready: true,
      summary: 'the second',
      hints: { 'b.test.ts': { concept: 'See milestones/02-second/README.md.', approach: 'In words.' } },
    },
  ];
}

const files: Record<string, string> = {
  'package.json': JSON.stringify({ scripts: { 'milestone:1': 'x', 'milestone:2': 'x', test: 'x' } }),
  'milestones/01-first/a.test.ts': '',
  'milestones/01-first/chaos/one.ts': scenarioModule('one', 1),
  'milestones/01-first/chaos/lib/helper.ts': 'export const help = 1;\n',
  'milestones/01-first/chaos/lib/data.sql': 'SELECT 1;\n',
  'milestones/02-second/README.md': '# Second\n',
  'milestones/02-second/b.test.ts': '',
  'milestones/02-second/chaos/two.ts': scenarioModule('two', 2),
  'exercises/src/items/make.ts': '',
  'exercises/src/items/list.ts': '',
  'exercises/migrations/1_t.sql': '',
  'solutions/src/items/make.ts': [
    '// #region m1: make an item',
    'make();',
    '// #stub',
    "// throw new Error('todo');",
    '// #endregion',
    '// #region m2: and another',
    'more();',
    '// #stub',
    '// less();',
    '// #endregion',
  ].join('\n'),
};

let root: string;
let list: Milestone[];
const write = async (path: string, text: string) => {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), text);
};
const problems = () => checkManifest({ root, milestones: list });
const only = (found: ManifestProblem[]) => found.map((p) => ({ rule: p.rule, where: p.where }));

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'wb-manifest-'));
  list = fixtureMilestones();
  for (const [path, text] of Object.entries(files)) await write(path, text);
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('the manifest check', () => {
  it('finds nothing wrong in a repository that agrees with its manifest', async () => {
    expect(await problems()).toEqual([]);
  });

  describe('count: the milestones come from the manifest', () => {
    it('refuses milestones not numbered 1..N in order', async () => {
      list[1]!.n = 3;
      const found = await problems();
      expect(
        found.some((p) => p.rule === 'count' && /milestone 3 \(02-second\) is entry 2/.test(p.problem) && /Number the milestones 1, 2, 3/.test(p.fix)),
      ).toBe(true);
    });

    it('refuses a milestone folder the manifest does not list, and a listed folder that is missing', async () => {
      await write('milestones/03-third/c.test.ts', '');
      await rename(join(root, 'milestones/02-second'), join(root, 'milestones/02-renamed'));
      const found = only((await problems()).filter((p) => p.rule === 'count'));
      expect(found).toContainEqual({ rule: 'count', where: 'milestones/03-third/' });
      expect(found).toContainEqual({ rule: 'count', where: 'milestones/02-renamed/' });
      expect((await problems()).find((p) => p.rule === 'count' && p.where === 'milestones/manifest.ts')?.problem).toMatch(
        /milestones\/02-second\/, which does not exist/,
      );
    });

    it('refuses a missing milestone:N script, and one for a milestone that is not listed', async () => {
      await write('package.json', JSON.stringify({ scripts: { 'milestone:1': 'x', 'milestone:7': 'x' } }));
      const found = (await problems()).filter((p) => p.rule === 'count');
      expect(found.map((p) => p.problem)).toEqual([
        expect.stringMatching(/no "milestone:2" script/),
        expect.stringMatching(/"milestone:7" runs milestone 7, which milestones\/manifest.ts does not list/),
      ]);
      expect(found[0]!.fix).toMatch(/Add "milestone:2": "node scripts\/with-node.mjs tsx workbook\/cli.ts milestone 2"/);
    });
  });

  describe('hints', () => {
    it('refuses a test file without a hint', async () => {
      await write('milestones/02-second/nested/c.test.ts', '');
      const [p, ...rest] = await problems();
      expect(rest).toEqual([]);
      expect(p).toMatchObject({ rule: 'hints', where: 'milestones/02-second/nested/c.test.ts' });
      expect(p!.problem).toMatch(/has no hint/);
      expect(p!.fix).toMatch(/Add 'nested\/c.test.ts': \{ concept, approach, code \} to milestone 2's hints/);
    });

    it('refuses a hint for a test file that does not exist', async () => {
      list[0]!.hints['gone.test.ts'] = { concept: 'c', approach: 'a' };
      const found = await problems();
      expect(only(found)).toEqual([{ rule: 'hints', where: 'milestones/manifest.ts' }]);
      expect(found[0]!.problem).toMatch(/a hint for milestones\/01-first\/gone.test.ts, which is not a test file there/);
    });

    it('refuses a hint that names a file that does not exist, from the top or under exercises/src', async () => {
      list[0]!.hints['a.test.ts']!.approach = 'Then items/lists.ts.';
      list[0]!.hints['a.test.ts']!.code = 'The migration exercises/migrations/2_t.sql.';
      const found = await problems();
      expect(found.map((p) => p.problem)).toEqual([
        expect.stringMatching(/the approach hint of milestones\/01-first\/a.test.ts names exercises\/src\/items\/lists.ts, which does not exist/),
        expect.stringMatching(/the code hint of milestones\/01-first\/a.test.ts names exercises\/migrations\/2_t.sql, which does not exist/),
      ]);
    });

    it('reads the paths a hint names: from a folder of the repository, else under exercises/src', () => {
      const top = new Set(['exercises', 'milestones', 'deploy']);
      expect(namedPaths('Files: exercises/src/a/b.ts, then read-model/c.ts and deploy/ingress/Caddyfile (step 4). See https://example.com/x.ts.', top)).toEqual(
        ['exercises/src/a/b.ts', 'exercises/src/read-model/c.ts', 'deploy/ingress/Caddyfile'],
      );
    });
  });

  describe('regions', () => {
    it('refuses a region of a milestone the manifest does not list, and one of a milestone not ready', async () => {
      await write('solutions/migrations/2_x.sql', ['-- #region m7: far ahead', 'SELECT 1;', '-- #stub', '-- SELECT 2;', '-- #endregion'].join('\n'));
      list[1]!.ready = false;
      const found = await problems();
      expect(only(found)).toEqual([
        { rule: 'regions', where: 'solutions/migrations/2_x.sql:1' },
        { rule: 'regions', where: 'solutions/src/items/make.ts:6' },
      ]);
      expect(found[0]!.problem).toMatch(/"m7: far ahead" names milestone 7, which milestones\/manifest.ts does not list/);
      expect(found[1]!.problem).toMatch(/"m2: and another" belongs to milestone 2, which is not ready/);
      expect(found[1]!.fix).toMatch(/Set ready: true for milestone 2/);
    });

    it('reports markers that do not parse with the file', async () => {
      await write('solutions/src/broken.ts', '// #region m1: never closed\n// #stub\n');
      const found = await problems();
      expect(only(found)).toEqual([{ rule: 'regions', where: 'solutions/src/broken.ts' }]);
      expect(found[0]!.problem).toMatch(/do not parse: solutions\/src\/broken.ts:1/);
    });
  });

  describe('chaos/ holds only scenarios', () => {
    it('refuses a helper module, a data file and a folder other than lib/ in chaos/', async () => {
      await write('milestones/01-first/chaos/shared-bits.ts', 'export const bits = 1;\n');
      await write('milestones/01-first/chaos/naive.sql', 'SELECT 1;\n');
      await write('milestones/02-second/chaos/helpers/x.ts', 'export const x = 1;\n');
      const found = await problems();
      expect(only(found)).toEqual([
        { rule: 'chaos', where: 'milestones/01-first/chaos/naive.sql' },
        { rule: 'chaos', where: 'milestones/01-first/chaos/shared-bits.ts' },
        { rule: 'chaos', where: 'milestones/02-second/chaos/helpers/' },
      ]);
      expect(found[1]!.problem).toMatch(/exports no scenario/);
      expect(found[1]!.fix).toMatch(/A helper: move it to milestones\/01-first\/chaos\/lib\/ and update what imports it/);
    });

    it('refuses a scenario of another milestone, and two scenarios with one name', async () => {
      await write('milestones/02-second/chaos/again.ts', scenarioModule('two', 2));
      await write('milestones/02-second/chaos/stray.ts', scenarioModule('stray', 1));
      const found = await problems();
      expect(found.map((p) => `${p.where}: ${p.problem}`)).toEqual([
        expect.stringMatching(/chaos\/stray.ts: its scenario "stray" says it belongs to milestone 1, but it sits in milestone 2's chaos/),
        expect.stringMatching(/chaos\/two.ts: its scenario is named "two", like the one of milestones\/02-second\/chaos\/again.ts/),
      ]);
    });

    it('reports a module that cannot be loaded', async () => {
      await write('milestones/02-second/chaos/crash.ts', "throw new Error('boom at load');\n");
      const found = await problems();
      expect(only(found)).toEqual([{ rule: 'chaos', where: 'milestones/02-second/chaos/crash.ts' }]);
      expect(found[0]!.problem).toMatch(/cannot be loaded: boom at load/);
    });
  });

  describe('bench', () => {
    const benchModule = (name: string) =>
      `export const benchmark = { name: '${name}', milestone: 2, summary: 'measures', run: async () => ({ ok: true, table: [] }) };\n`;
    const run = (fields: Record<string, unknown>) =>
      JSON.stringify({ benchmark: 'speed', tree: 'solutions', ranAt: '2026-12-06T00:00:00Z', ok: true, table: [], ...fields });
    beforeEach(async () => {
      await write('milestones/02-second/bench/speed.ts', benchModule('speed'));
      await write('milestones/02-second/bench/lib-runner.ts', 'export const runner = 1;\n');
    });

    it('accepts a benchmark with its reference run committed and its chart linked from the lesson', async () => {
      await write('milestones/02-second/bench/results/speed.json', run({}));
      await write('milestones/02-second/bench/results/speed.svg', '<svg/>');
      await write('milestones/02-second/answers.md', 'Chart: [bench/results/speed.svg](bench/results/speed.svg)\n');
      expect(await problems()).toEqual([]);
    });

    it('refuses a benchmark with no run committed, and one whose lesson never links its chart', async () => {
      const found = await problems();
      expect(only(found)).toEqual([
        { rule: 'bench', where: 'milestones/02-second/README.md' },
        { rule: 'bench', where: 'milestones/02-second/bench/results/speed.json' },
      ]);
      expect(found[0]!.fix).toMatch(/\[bench\/results\/speed.svg\]/);
      expect(found[1]!.problem).toMatch(/has no reference run committed/);
      expect(found[1]!.fix).toMatch(/npm run bench -- speed --solution/);
    });

    it('refuses a committed run that missed a target, measured exercises/, or has no chart', async () => {
      await write('milestones/02-second/README.md', '[chart](bench/results/speed.svg)\n');
      await write('milestones/02-second/bench/results/speed.json', run({ ok: false, tree: 'exercises' }));
      const found = await problems();
      expect(only(found)).toEqual([
        { rule: 'bench', where: 'milestones/02-second/bench/results/speed.svg' },
        { rule: 'bench', where: 'milestones/02-second/bench/results/speed.json' },
      ]);
      expect(found[1]!.problem).toMatch(/tree "exercises", every target met: false \(expected "speed", "solutions", true\)/);
    });
  });
});

describe('this repository', () => {
  it('agrees with milestones/manifest.ts', async () => {
    const found = await checkManifest({ root: repoRoot, milestones: realMilestones });
    expect(found.map((p) => `${p.where}: ${p.problem} Fix: ${p.fix}`)).toEqual([]);
  });
});
