// npm run check -- manifest (rustlings' `dev check`): milestones/manifest.ts is the one list of
// milestones, so the repository must agree with it. Cheap: it reads files and imports the chaos
// modules, and starts no service and no test run. Each problem says what is wrong and what to do.
import { existsSync, type Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Milestone } from '../milestones/manifest.ts';
import { benchmarkOf, resultsBase } from './commands/bench.ts';
import { scenarioOf } from './commands/chaos.ts';
import { readTreeRegions } from './regions.ts';
import { listTreeFiles } from './trees.ts';

export const MANIFEST_RULES = ['count', 'hints', 'regions', 'chaos', 'bench'] as const;
export type ManifestRule = (typeof MANIFEST_RULES)[number];

export interface ManifestProblem {
  rule: ManifestRule;
  /** The file (or folder) the problem is in, relative to the repository. */
  where: string;
  /** What is wrong, and why it matters. */
  problem: string;
  /** What to do about it. */
  fix: string;
}

export interface ManifestInput {
  /** The repository (a fixture's folder in the tests). */
  root: string;
  milestones: readonly Milestone[];
}

export async function checkManifest(input: ManifestInput): Promise<ManifestProblem[]> {
  const found = await Promise.all([countProblems(input), hintProblems(input), regionProblems(input), chaosProblems(input), benchProblems(input)]);
  return found.flat();
}

const MANIFEST = 'milestones/manifest.ts';
const folderOf = (m: Milestone) => `milestones/${m.slug}`;

/**
 * The milestone count comes from the manifest (trees T_k, progress, teeth, the CLI): so the
 * manifest numbers its milestones 1..N in order, each with its folder NN-name (the number is
 * how run-tests and the test kit tell a test file's milestone), every milestone folder is
 * listed, and package.json has the `milestone:N` script the lessons tell learners to run.
 */
async function countProblems({ root, milestones }: ManifestInput): Promise<ManifestProblem[]> {
  const out: ManifestProblem[] = [];
  milestones.forEach((m, i) => {
    if (m.n !== i + 1) {
      out.push({
        rule: 'count',
        where: MANIFEST,
        problem: `milestone ${m.n} (${m.slug}) is entry ${i + 1} of the list: the trees T_k, the checks and the CLI count milestones 1 to N from this list.`,
        fix: `Number the milestones 1, 2, 3, … in the order they are listed.`,
      });
    }
    const prefix = `${String(m.n).padStart(2, '0')}-`;
    if (!m.slug.startsWith(prefix)) {
      out.push({
        rule: 'count',
        where: MANIFEST,
        problem: `milestone ${m.n}'s slug "${m.slug}" does not start with "${prefix}": a test file's milestone is read from its folder's number.`,
        fix: `Name the folder and the slug "${prefix}<name>".`,
      });
    }
    if (!existsSync(join(root, folderOf(m)))) {
      out.push({
        rule: 'count',
        where: MANIFEST,
        problem: `milestone ${m.n} names the folder ${folderOf(m)}/, which does not exist.`,
        fix: `Create ${folderOf(m)}/ (lesson, tests, chaos/), or correct the slug.`,
      });
    }
  });
  const listed = new Set(milestones.map((m) => m.slug));
  for (const dir of await subfolders(join(root, 'milestones'))) {
    if (/^\d+-/.test(dir) && !listed.has(dir)) {
      out.push({
        rule: 'count',
        where: `milestones/${dir}/`,
        problem: `this milestone folder is not in ${MANIFEST}: no command runs its tests or shows its hints.`,
        fix: `Add an entry for it to ${MANIFEST} (n, slug "${dir}", title, ready, summary, hints), or remove the folder.`,
      });
    }
  }
  const scripts = await packageScripts(root);
  if (scripts === undefined)
    out.push({
      rule: 'count',
      where: 'package.json',
      problem: 'it could not be read as JSON with a "scripts" object.',
      fix: 'Restore package.json (git checkout -- package.json).',
    });
  else {
    for (const m of milestones) {
      if (!scripts[`milestone:${m.n}`]) {
        out.push({
          rule: 'count',
          where: 'package.json',
          problem: `there is no "milestone:${m.n}" script, which milestone ${m.n}'s lesson tells the learner to run.`,
          fix: `Add "milestone:${m.n}": "node scripts/with-node.mjs tsx workbook/cli.ts milestone ${m.n}" to its scripts.`,
        });
      }
    }
    for (const name of Object.keys(scripts)) {
      const n = Number(/^milestone:(\d+)$/.exec(name)?.[1]);
      if (n && !milestones.some((m) => m.n === n)) {
        out.push({
          rule: 'count',
          where: 'package.json',
          problem: `the script "${name}" runs milestone ${n}, which ${MANIFEST} does not list.`,
          fix: `Remove the script, or add milestone ${n} to ${MANIFEST}.`,
        });
      }
    }
  }
  return out;
}

/**
 * Every test file has a hint (the CLI shows the first failure with its file's hint), every hint
 * is for a test file that exists, and every file a hint names exists: a path from the top of the
 * repository (exercises/src/…, exercises/migrations/…, milestones/…), or one like
 * `api/watch-item.ts`, which the lessons write relative to exercises/src/.
 */
async function hintProblems({ root, milestones }: ManifestInput): Promise<ManifestProblem[]> {
  const out: ManifestProblem[] = [];
  const topLevel = new Set(await subfolders(root));
  for (const m of milestones) {
    const folder = folderOf(m);
    const tests = new Set(await testFiles(join(root, folder)));
    for (const test of tests) {
      if (!(test in m.hints)) {
        out.push({
          rule: 'hints',
          where: `${folder}/${test}`,
          problem: `this test file has no hint: a learner whose first failure is here gets none from \`npm run hint -- ${m.n}\`.`,
          fix: `Add '${test}': { concept, approach, code } to milestone ${m.n}'s hints in ${MANIFEST}, in the order of the lesson's steps.`,
        });
      }
    }
    for (const [test, hint] of Object.entries(m.hints)) {
      if (!tests.has(test)) {
        out.push({
          rule: 'hints',
          where: MANIFEST,
          problem: `milestone ${m.n} has a hint for ${folder}/${test}, which is not a test file there.`,
          fix: `Rename the hint to the test file it is for, or remove it if that test is gone.`,
        });
      }
      for (const [level, text] of Object.entries(hint) as Array<[string, string | undefined]>) {
        for (const path of namedPaths(text ?? '', topLevel)) {
          if (!existsSync(join(root, path))) {
            out.push({
              rule: 'hints',
              where: MANIFEST,
              problem: `the ${level} hint of ${folder}/${test} names ${path}, which does not exist: the learner would look for a file that is not there.`,
              fix: `Correct the path in the hint (or restore the file).`,
            });
          }
        }
      }
    }
  }
  return out;
}

/** The repository paths a hint names; a path whose first folder is not one of the repository's is under exercises/src/. */
export function namedPaths(text: string, topLevel: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const match of text.matchAll(/(?<![\w./-])([a-z][\w-]*\/[\w./-]*[\w])/g)) {
    const path = match[1]!;
    const first = path.split('/')[0]!;
    if (topLevel.has(first)) out.add(path);
    else if (/\.(ts|sql)$/.test(path)) out.add(`exercises/src/${path}`);
  }
  return [...out];
}

/** Every `#region mN` of solutions/ names a ready milestone: another one's regions would never be stubbed, or never taught. */
async function regionProblems({ root, milestones }: ManifestInput): Promise<ManifestProblem[]> {
  const out: ManifestProblem[] = [];
  const tree = join(root, 'solutions');
  for (const file of await listTreeFiles(tree)) {
    const where = `solutions/${file}`;
    let regions: ReturnType<typeof readTreeRegions>;
    try {
      regions = readTreeRegions(where, await readFile(join(tree, file), 'utf8'));
    } catch (err) {
      out.push({
        rule: 'regions',
        where,
        problem: `its region markers do not parse: ${messageOf(err)}.`,
        fix: 'Fix the markers as DEVELOPERS.md ("Regions") shows, then run `npm run generate`.',
      });
      continue;
    }
    for (const r of regions) {
      const m = milestones.find((x) => x.n === r.milestone);
      const at = `${where}:${r.start + 1}`;
      if (!m) {
        out.push({
          rule: 'regions',
          where: at,
          problem: `the region "m${r.milestone}: ${r.task}" names milestone ${r.milestone}, which ${MANIFEST} does not list: no tree would ever stub it.`,
          fix: `Give it the number of the milestone whose lesson teaches it (1 to ${milestones.length}).`,
        });
      } else if (!m.ready) {
        out.push({
          rule: 'regions',
          where: at,
          problem: `the region "m${r.milestone}: ${r.task}" belongs to milestone ${r.milestone}, which is not ready: learners would get its stub with no lesson or tests.`,
          fix: `Set ready: true for milestone ${r.milestone} in ${MANIFEST} once its lesson and tests are written, or keep the region out of solutions/ until then.`,
        });
      }
    }
  }
  return out;
}

/**
 * chaos/ holds only scenarios: each file directly in it is a module exporting the `scenario`
 * that `npm run chaos` loads. The runner skips any other module without a word, so a scenario
 * that lost its export would silently stop running; helpers and data go in chaos/lib/.
 */
async function chaosProblems({ root, milestones }: ManifestInput): Promise<ManifestProblem[]> {
  const out: ManifestProblem[] = [];
  for (const m of milestones) {
    const dir = join(root, folderOf(m), 'chaos');
    const entries = (await readdir(dir, { withFileTypes: true }).catch(() => [])) as Dirent[];
    const names = new Map<string, string>();
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const where = `${folderOf(m)}/chaos/${e.name}`;
      const moveIt = `move it to ${folderOf(m)}/chaos/lib/ and update what imports it.`;
      if (e.isDirectory()) {
        if (e.name !== 'lib')
          out.push({
            rule: 'chaos',
            where: `${where}/`,
            problem: 'chaos/ holds scenarios and one folder, lib/, for what they share.',
            fix: `Move what is in it to ${folderOf(m)}/chaos/lib/ and update what imports it.`,
          });
        continue;
      }
      if (!e.name.endsWith('.ts')) {
        out.push({ rule: 'chaos', where, problem: 'this is not a scenario module: chaos/ holds only scenarios.', fix: `Data or a helper: ${moveIt}` });
        continue;
      }
      let module: unknown;
      try {
        module = await import(pathToFileURL(join(dir, e.name)).href);
      } catch (err) {
        out.push({
          rule: 'chaos',
          where,
          problem: `this scenario module cannot be loaded: ${messageOf(err)}.`,
          fix: `Fix it until \`npm run chaos -- ${m.n}\` lists it.`,
        });
        continue;
      }
      const scenario = scenarioOf(module);
      if (!scenario) {
        out.push({
          rule: 'chaos',
          where,
          problem:
            'this module exports no scenario (`export const scenario: ChaosScenario`, with a name, its milestone, a summary and run), so `npm run chaos` skips it without a word.',
          fix: `A scenario: export it. A helper: ${moveIt}`,
        });
        continue;
      }
      if (scenario.milestone !== m.n) {
        out.push({
          rule: 'chaos',
          where,
          problem: `its scenario "${scenario.name}" says it belongs to milestone ${scenario.milestone}, but it sits in milestone ${m.n}'s chaos/.`,
          fix: `Set milestone: ${m.n} in it, or move it to the chaos/ of milestone ${scenario.milestone}.`,
        });
      }
      const earlier = names.get(scenario.name);
      if (earlier)
        out.push({
          rule: 'chaos',
          where,
          problem: `its scenario is named "${scenario.name}", like the one of ${earlier}: \`npm run chaos -- ${m.n} ${scenario.name}\` can run only one of them.`,
          fix: 'Give each scenario a name of its own.',
        });
      else names.set(scenario.name, relative(root, join(dir, e.name)));
    }
  }
  return out;
}

/**
 * Every benchmark has a reference run committed beside it, and its lesson shows it: the run's
 * table and data in bench/results/<name>.json and its chart in <name>.svg, measured on
 * solutions/ with every target met, and the chart linked from the milestone's README.md or
 * answers.md. A benchmark whose only record is a table typed into a lesson cannot be checked
 * against the run it came from, and its chart, the picture a reader would rather look at, does
 * not exist.
 */
async function benchProblems({ root, milestones }: ManifestInput): Promise<ManifestProblem[]> {
  const out: ManifestProblem[] = [];
  for (const m of milestones) {
    const dir = join(root, folderOf(m), 'bench');
    const modules = ((await readdir(dir).catch(() => [])) as string[]).filter((f) => f.endsWith('.ts')).sort();
    if (modules.length === 0) continue;
    const lessons = (await Promise.all(['README.md', 'answers.md'].map((f) => readFile(join(root, folderOf(m), f), 'utf8').catch(() => '')))).join('\n');
    for (const file of modules) {
      const where = `${folderOf(m)}/bench/${file}`;
      let name: string | undefined;
      try {
        name = benchmarkOf(await import(pathToFileURL(join(dir, file)).href))?.name;
      } catch (err) {
        out.push({
          rule: 'bench',
          where,
          problem: `this benchmark module cannot be loaded: ${messageOf(err)}.`,
          fix: 'Fix it until `npm run bench` lists it.',
        });
        continue;
      }
      if (name === undefined) continue; // a helper beside the benchmarks, such as a pgbench runner
      const results = resultsBase(`${folderOf(m)}/bench`, name);
      const rerun = `Run \`npm run bench -- ${name} --solution\` on a quiet machine until it prints "every target met", and commit ${results}.json and .svg.`;
      if (!lessons.includes(`bench/results/${name}.svg`))
        out.push({
          rule: 'bench',
          where: `${folderOf(m)}/README.md`,
          problem: `the lesson never links the chart of benchmark "${name}" (bench/results/${name}.svg), so a reader sees its figures only as text, if at all.`,
          fix: `Link [bench/results/${name}.svg](bench/results/${name}.svg) where README.md or answers.md shows the run's figures.`,
        });
      let run: { benchmark?: unknown; tree?: unknown; ok?: unknown } | undefined;
      try {
        run = JSON.parse(await readFile(join(root, `${results}.json`), 'utf8'));
      } catch {
        out.push({
          rule: 'bench',
          where: `${results}.json`,
          problem: `benchmark "${name}" has no reference run committed (or its JSON does not parse): a lesson's figures cannot be traced to a run, and it has no chart.`,
          fix: rerun,
        });
        continue;
      }
      if (!existsSync(join(root, `${results}.svg`)))
        out.push({ rule: 'bench', where: `${results}.svg`, problem: `benchmark "${name}" has its run's JSON but not its chart.`, fix: rerun });
      if (run?.benchmark !== name || run?.tree !== 'solutions' || run?.ok !== true)
        out.push({
          rule: 'bench',
          where: `${results}.json`,
          problem: `the committed run is not a reference run that met its targets: benchmark ${JSON.stringify(run?.benchmark)}, tree ${JSON.stringify(run?.tree)}, every target met: ${JSON.stringify(run?.ok)} (expected "${name}", "solutions", true).`,
          fix: rerun,
        });
    }
  }
  return out;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/\.$/, '');

async function subfolders(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true }).catch(() => [])) as Dirent[];
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/** A milestone's test files, relative to its folder, as vitest finds them (milestones/**\/*.test.ts). */
async function testFiles(folder: string): Promise<string[]> {
  const entries = (await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => [])) as Dirent[];
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => relative(folder, join(e.parentPath, e.name)))
    .filter((f) => !f.split('/').includes('node_modules'))
    .sort();
}

async function packageScripts(root: string): Promise<Record<string, string> | undefined> {
  try {
    const json = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts?: unknown };
    return json.scripts && typeof json.scripts === 'object' ? (json.scripts as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}
