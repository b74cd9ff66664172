// npm test: what CI runs (design §2, §3): typecheck, lint, sync, manifest, contracts, samples, infra tests, green, progress,
// teeth, and the chaos scenarios against the reference. Each check also runs alone.
import { spawnSync } from 'node:child_process';
import type { Dirent } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { milestoneOfPath, milestones } from '../../milestones/manifest.ts';
import { prepare } from '../prepare.ts';
import { partOfRun, runTests, type TestRecord, type TestRun } from '../run-tests.ts';
import { INFRA_TEST_DIRS, fullTreeHash, hashTree, LAST_MILESTONE, materializeTree, repoRoot, solutionsDir, treeLabel } from '../trees.ts';
import { bold, dim, green as greenText, indent, red, say } from '../ui.ts';
import { loadScenarios, runScenario } from './chaos.ts';
import { syncDrift } from './generate.ts';
import { checkLessonSamples } from '../samples.ts';
import { checkManifest, MANIFEST_RULES } from '../manifest-check.ts';

export const CHECKS = ['typecheck', 'lint', 'sync', 'manifest', 'contracts', 'samples', 'infra', 'green', 'progress', 'teeth', 'chaos'] as const;
export type CheckName = (typeof CHECKS)[number];
/**
 * `check all`, which is npm test: every check but chaos. The scenarios run the real processes
 * under load for minutes; CI runs them right after npm test (`npm run test:chaos`).
 */
const ALL = CHECKS.filter((c) => c !== 'chaos');

export interface CheckResult {
  check: CheckName;
  passed: number;
  failed: number;
  problems: string[];
  /** Tests that failed in the parallel run and passed when run again alone: listed, not counted as failures. */
  flaky?: string[];
  json: Record<string, unknown>;
}

const ready = milestones.filter((m) => m.ready);
const milestonePath = (n: number) => relative(repoRoot, join(repoRoot, 'milestones', milestones.find((m) => m.n === n)!.slug));

// The same tree content gives the same results, so T_k identical to solutions/ runs once.
const runCache = new Map<string, Promise<TestRun>>();
async function testsOn(tree: string, ns: number[]): Promise<TestRun> {
  const key = `${await hashTree(tree)}:${ns.join(',')}`;
  if (!runCache.has(key)) {
    runCache.set(
      key,
      prepare(tree).then(() => oneOfFew(() => runTests({ tree, paths: ns.map(milestonePath) }))),
    );
  }
  return runCache.get(key)!;
}

/**
 * At most four vitest runs at once. One run leaves half of two cores idle: its files wait on
 * services, processes and timers, and its last stretch is one slow file while the other
 * workers have nothing left. On this two-core machine npm test took 424 s with one run at a
 * time, 383 s with two, 347-394 s with three and 311-365 s with four, longest first. Four load
 * the machine past its cores (load average 13-14), so a test waiting on a real service can
 * miss its bound: such a file runs once more, alone, at the end (retriedAlone below), and the
 * test kit's waits scale with the load (testkit/patience.ts).
 */
const RUNS_AT_ONCE = 4;
let running = 0;
const waiting: Array<() => void> = [];
const idleWaiters: Array<() => void> = [];
async function oneOfFew<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= RUNS_AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
    if (running === 0 && waiting.length === 0) for (const resolve of idleWaiters.splice(0)) resolve();
  }
}
/** Resolves once every queued vitest run has finished (at once when none is queued). */
const whenIdle = () => (running === 0 && waiting.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)));

/**
 * A test that fails in the parallel run is run once more, alone, after every other run has
 * finished. On this two-core machine three vitest runs at once load it past its cores, and a
 * test that waits on a real service (a NOTIFY, a relay's publish) can miss a bound it meets on
 * a quiet machine. Such a test passes alone: it is listed as flaky, in the output and the JSON,
 * and not counted as a failure; one that fails again alone is a failure, with the second
 * message. Only checks that expect tests to pass retry: a test that passes against its stub
 * (teeth) is a defect however often it runs.
 */
let retryQueue: Promise<unknown> = Promise.resolve();
async function retriedAlone(tree: string, run: TestRun): Promise<{ run: TestRun; flaky: TestRecord[] }> {
  const failedFiles = [...new Set([...run.tests.filter((t) => t.status === 'failed').map((t) => t.file), ...run.fileErrors.map((e) => e.file)])];
  if (failedFiles.length === 0 || run.otherErrors.length > 0) return { run, flaky: [] };
  await whenIdle();
  // One retry at a time, so each runs as alone as the machine allows.
  const turn = retryQueue.then(() => runTests({ tree, paths: failedFiles }));
  retryQueue = turn.catch(() => undefined);
  const second = await turn;
  const retried = new Set(failedFiles);
  const flaky = run.tests.filter((t) => t.status === 'failed' && second.tests.some((s) => s.file === t.file && s.name === t.name && s.status === 'passed'));
  const tests = [...run.tests.filter((t) => !retried.has(t.file)), ...second.tests];
  const fileErrors = [...run.fileErrors.filter((e) => !retried.has(e.file)), ...second.fileErrors];
  const otherErrors = second.otherErrors;
  const all = [...otherErrors, ...fileErrors.map((e) => `${e.file}: ${e.message}`)];
  return { run: { tests, fileErrors, otherErrors, ...(all.length ? { error: all.join('\n') } : {}), durationMs: run.durationMs + second.durationMs }, flaky };
}
const flakyLines = (label: string, flaky: TestRecord[]) =>
  flaky.map(
    (t) =>
      `${label}: flaky, failed in the parallel run and passed alone: ${t.file} › ${t.name}\n${indent(
        t.message
          .split('\n')
          .filter((l) => l.trim())
          .slice(0, 2)
          .join('\n'),
        '      ',
      )}`,
  );

/**
 * Queues every run infra, green, progress and teeth will read, the longest first (green, then
 * T_5 down to T_3, infra, then the short T_2 down to T_0), so the last minutes are not one long
 * run alone on an otherwise idle machine.
 */
async function startTreeRuns(names: readonly CheckName[]): Promise<void> {
  // A failure is reported by the check that reads the run; until then it is only started here.
  const started = (k: number) =>
    void runOnTree(k).then(
      ({ run }) => run.catch(() => {}),
      () => {},
    );
  // T_1 .. T_(last-1); T_last is solutions/, which green runs.
  const progressTrees = names.includes('progress') ? Array.from({ length: LAST_MILESTONE - 1 }, (_, i) => LAST_MILESTONE - 1 - i) : [];
  const teethTrees = names.includes('teeth') ? ready.map((m) => m.n - 1) : [];
  const trees = [...new Set([...progressTrees, ...teethTrees])].sort((a, b) => b - a);
  if (names.includes('green'))
    void testsOn(
      solutionsDir,
      ready.map((m) => m.n),
    ).catch(() => {});
  for (const k of trees.filter((k) => k >= 3)) started(k);
  if (names.includes('infra')) void runInfra().catch(() => {});
  for (const k of trees.filter((k) => k < 3)) started(k);
}

// NaN outside milestones/: it compares false with every k, so infra files are in no tree's part.
const milestoneOf = (file: string) => milestoneOfPath(file) ?? Number.NaN;

/**
 * One run on T_k serves two checks: progress (milestones 1..k pass) and teeth (milestone k+1
 * fails against T_k). Each judges its own part of it; a check run alone runs only its part.
 */
let checksAsked: ReadonlySet<CheckName> = new Set(CHECKS);
const forTree = (k: number) => ready.filter((m) => (checksAsked.has('progress') && m.n <= k) || (checksAsked.has('teeth') && m.n === k + 1)).map((m) => m.n);
const onTree = (k: number) => materializeTree(k).then((tree) => ({ tree, run: testsOn(tree, forTree(k)) }));
const treeRuns = new Map<number, ReturnType<typeof onTree>>();
const runOnTree = (k: number) => treeRuns.get(k) ?? treeRuns.set(k, onTree(k)).get(k)!;

async function typecheck(): Promise<CheckResult> {
  const tsc = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: repoRoot, encoding: 'utf8' });
  const errors = (tsc.stdout + tsc.stderr).split('\n').filter((l) => /error TS/.test(l));
  const ok = tsc.status === 0;
  return {
    check: 'typecheck',
    passed: ok ? 1 : 0,
    failed: ok ? 0 : 1,
    problems: ok ? [] : errors.length ? errors : [(tsc.stdout + tsc.stderr).trim()],
    json: { errors },
  };
}

/**
 * Biome (biome.jsonc) over every TypeScript file: the formatter's output and the linter's rules,
 * warnings included, in seconds. `npm run lint:fix` writes every fix Biome may make by itself
 * (formatting among them) and regenerates exercises/; what this still lists after it is hand work.
 */
async function lint(): Promise<CheckResult> {
  const biome = join(repoRoot, 'node_modules/@biomejs/biome/bin/biome');
  const run = spawnSync(process.execPath, [biome, 'ci', '--error-on-warnings', '--reporter=github', '--max-diagnostics=none', '.'], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  // The GitHub reporter: one line per diagnostic, `::error title=<rule>,file=<path>,line=…,col=…::<message>`.
  const found = [...run.stdout.matchAll(/^::(?:error|warning) title=([^,]+),file=([^,]+),line=(\d+),endLine=\d+,col=(\d+)[^:]*::(.*)$/gm)].map((m) => ({
    rule: m[1]!,
    file: relative(repoRoot, m[2]!),
    at: `${relative(repoRoot, m[2]!)}:${m[3]}:${m[4]}`,
    message: m[5]!,
  }));
  const unformatted = found.filter((f) => f.rule === 'format').map((f) => f.file);
  const rules = found.filter((f) => f.rule !== 'format');
  const problems = rules.map((f) => `${f.at} ${f.message} [${f.rule}]`);
  if (unformatted.length) problems.push(`not formatted as Biome writes them: ${unformatted.join(', ')}`);
  if (run.status !== 0 && found.length === 0) {
    const why = (run.stdout + run.stderr).trim() || run.error?.message || `exit ${run.status}`;
    problems.push(
      `Biome could not check the code: ${why}\nRun \`npm install\` if @biomejs/biome is missing, fix biome.jsonc if it names the problem, then \`npm run check -- lint\` again.`,
    );
  } else if (found.length) {
    const generated = found.some((f) => f.file.startsWith('exercises/'));
    problems.push(
      'Run `npm run lint:fix` (Biome writes its safe fixes and the formatting, then exercises/ is regenerated), then fix what is still listed by hand; ' +
        'a rule that is wrong for one line gets `// biome-ignore lint/<group>/<rule>: <why>` above it (see DEVELOPERS.md, "Lint and format").' +
        (generated
          ? ' A file of exercises/ still listed after it comes from a stub (a `// #stub` comment in solutions/) that Biome would write otherwise: change the stub there, then `npm run generate`.'
          : ''),
    );
  }
  const ok = run.status === 0 && found.length === 0;
  return { check: 'lint', passed: ok ? 1 : 0, failed: ok ? 0 : Math.max(1, rules.length + (unformatted.length ? 1 : 0)), problems, json: { problems: found } };
}

/**
 * buf lint over proto/ (STANDARD rules: package versioning, naming); buf breaking: the event
 * contracts still read every message the released ones wrote (EVENTS_BASELINE); and the
 * contracts' generated TypeScript (runtime/gen, API and events) exactly what buf.gen.yaml
 * generates from them now.
 */
async function contracts(): Promise<CheckResult> {
  const buf = join(repoRoot, 'node_modules/.bin/buf');
  const lint = spawnSync(buf, ['lint'], { cwd: join(repoRoot, 'proto'), encoding: 'utf8' });
  const problems = (lint.stdout + lint.stderr).split('\n').filter((l) => l.trim());
  if (lint.status !== 0 && problems.length === 0) problems.push(`buf lint exited ${lint.status}${lint.error ? `: ${lint.error.message}` : ''}`);
  const breaking = breakingChanges(join(repoRoot, 'proto'));
  if ('error' in breaking) problems.push(breaking.error);
  else if (breaking.changes.length) {
    problems.push(
      `proto/${EVENTS_PATH} no longer reads what the released contract (proto/${EVENTS_BASELINE}) wrote: ` +
        `events already in the outbox and on RabbitMQ, and consumers already deployed, use it.\n` +
        indent(breaking.changes.map((c) => `proto/${c.file}:${c.line}:${c.column}: ${c.message} [${c.rule}]`).join('\n')) +
        `\nA contract grows only compatibly: add a field under a new number; to drop one, reserve its number and name. ` +
        `Undo the change above, then run \`npm run check contracts\` again.`,
    );
  }
  const fresh = await mkdtemp(join(tmpdir(), 'wb-gen-'));
  try {
    const gen = spawnSync(buf, ['generate', '--template', 'buf.gen.yaml', '--output', fresh], { cwd: repoRoot, encoding: 'utf8' });
    if (gen.status !== 0) problems.push(`buf generate failed: ${(gen.stdout + gen.stderr).trim() || gen.error?.message}`);
    else {
      const stale = await differingFiles(join(fresh, GENERATED), join(repoRoot, GENERATED));
      if (stale.length) problems.push(`${GENERATED} is not what proto/ generates; run \`npm run generate:contracts\` and commit: ${stale.join(', ')}`);
    }
  } finally {
    await rm(fresh, { recursive: true, force: true });
  }
  const ok = problems.length === 0;
  return { check: 'contracts', passed: ok ? 3 : 0, failed: ok ? 0 : 1, problems, json: { problems } };
}

const EVENTS_PATH = 'auction/events';
/**
 * The released event contracts, a buf image relative to proto/ (YAML: a release shows as a
 * readable diff). Rebuild it only when a new version of the events is released, from proto/:
 * `npx buf build . --path auction/events/v1 --exclude-source-info -o baseline/events-v1.yaml`
 */
export const EVENTS_BASELINE = 'baseline/events-v1.yaml';

export interface BreakingChange {
  /** Relative to the proto directory checked. */
  file: string;
  line: number;
  column: number;
  /** The buf breaking rule, e.g. FIELD_WIRE_JSON_COMPATIBLE_TYPE. */
  rule: string;
  message: string;
}

/**
 * `buf breaking` (proto/buf.yaml: WIRE_JSON) of the event contracts in protoDir against the
 * released baseline: the incompatible changes, none when every change is compatible.
 */
export function breakingChanges(protoDir: string): { changes: BreakingChange[] } | { error: string } {
  const against = join(repoRoot, 'proto', EVENTS_BASELINE);
  // --path is resolved against the working directory, so buf runs inside protoDir.
  const run = spawnSync(join(repoRoot, 'node_modules/.bin/buf'), ['breaking', '.', '--against', against, '--path', EVENTS_PATH, '--error-format', 'json'], {
    cwd: protoDir,
    encoding: 'utf8',
  });
  if (run.status === 0) return { changes: [] };
  const changes: BreakingChange[] = [];
  for (const line of run.stdout.split('\n').filter((l) => l.trim().startsWith('{'))) {
    const v = JSON.parse(line) as { path: string; start_line: number; start_column: number; type: string; message: string };
    // buf ends each message with links to the protobuf docs; the rule name says the same.
    changes.push({ file: v.path, line: v.start_line, column: v.start_column, rule: v.type, message: v.message.replace(/ See https:\/\/\S+ for .*$/, '') });
  }
  const compile = changes.filter((c) => c.rule === 'COMPILE');
  if (compile.length)
    return {
      error: `buf breaking cannot compare proto/${EVENTS_PATH} until it compiles: ${compile.map((c) => `${c.file}:${c.line}:${c.column}: ${c.message}`).join('; ')}. Fix the .proto, then run \`npm run check contracts\` again.`,
    };
  // 100 is buf's exit code for violations; anything else means the comparison did not run.
  if (run.status === 100 && changes.length) return { changes };
  const why = (run.stdout + run.stderr).trim().replace(/\.$/, '') || run.error?.message || `exit ${run.status}`;
  return {
    error: `buf breaking could not compare proto/${EVENTS_PATH} with proto/${EVENTS_BASELINE}: ${why}. Run \`npm install\` if buf is missing, restore the baseline with \`git checkout -- proto/${EVENTS_BASELINE}\` if it is, then run \`npm run check contracts\` again.`,
  };
}

const GENERATED = 'runtime/gen';

async function differingFiles(expectedDir: string, actualDir: string): Promise<string[]> {
  const list = async (dir: string) =>
    ((await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) as Dirent[])
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name)))
      .sort();
  const [expected, actual] = await Promise.all([list(expectedDir), list(actualDir)]);
  const out: string[] = [];
  for (const f of new Set([...expected, ...actual])) {
    const [a, b] = await Promise.all([
      readFile(join(expectedDir, f), 'utf8').catch(() => undefined),
      readFile(join(actualDir, f), 'utf8').catch(() => undefined),
    ]);
    if (a !== b) out.push(a === undefined ? `${f} (not generated any more)` : b === undefined ? `${f} (missing)` : `${f} (differs)`);
  }
  return out;
}

/** Every ```ts sample of the lessons typechecks against exercises/, every ```sql sample parses (workbook/samples.ts). */
async function samples(): Promise<CheckResult> {
  const { samples: all, problems } = await checkLessonSamples();
  const checked = all.filter((s) => !s.skip).length;
  const bad = new Set(problems.map((p) => `${p.file}:${p.line}`)).size;
  return {
    check: 'samples',
    passed: checked - Math.min(checked, bad),
    failed: problems.length ? Math.max(1, bad) : 0,
    problems: problems.map((p) => `${p.file}:${p.line} (${p.lang} sample) ${p.message}`),
    json: { samples: all.length, skipped: all.length - checked, problems },
  };
}

/**
 * The repository agrees with milestones/manifest.ts (workbook/manifest-check.ts): the
 * milestone count, a hint for every test file and a file for every hint, regions of ready
 * milestones only, scenarios only in chaos/. One pass per rule that holds, one failure per problem.
 */
async function manifest(): Promise<CheckResult> {
  const problems = await checkManifest({ root: repoRoot, milestones });
  const broken = new Set(problems.map((p) => p.rule));
  return {
    check: 'manifest',
    passed: MANIFEST_RULES.filter((r) => !broken.has(r)).length,
    failed: problems.length,
    problems: problems.map((p) => `${p.where}: ${p.problem}\n  Fix: ${p.fix}`),
    json: { problems },
  };
}

async function sync(): Promise<CheckResult> {
  const drift = await syncDrift();
  return {
    check: 'sync',
    passed: drift.length ? 0 : 1,
    failed: drift.length ? 1 : 0,
    problems: drift.length ? [`exercises/ is not what solutions/ generates; run \`npm run generate\` and commit:`, ...drift] : [],
    json: { drift },
  };
}

function fromRun(run: TestRun, expect: 'passed' | 'failed', label: string): Pick<CheckResult, 'passed' | 'failed' | 'problems'> {
  const wrong = run.tests.filter((t) => t.status !== expect);
  const problems = wrong.map((t) =>
    expect === 'passed'
      ? `${label}: ✗ ${t.file} › ${t.name}\n${indent(t.message, '      ')}`
      : `${label}: passes against its stub, so it asserts nothing about the learner's work: ${t.file} › ${t.name}`,
  );
  if (run.error) problems.push(`${label}: ${run.error}`);
  if (run.tests.length === 0) problems.push(`${label}: no test ran`);
  return { passed: run.tests.length - wrong.length, failed: wrong.length + (run.error || run.tests.length === 0 ? 1 : 0), problems };
}

let infraRun: Promise<TestRun> | undefined;
const runInfra = () => (infraRun ??= prepare(solutionsDir).then(() => oneOfFew(() => runTests({ tree: solutionsDir, paths: [...INFRA_TEST_DIRS] }))));

async function infra(): Promise<CheckResult> {
  const { run, flaky } = await retriedAlone(solutionsDir, await runInfra());
  return {
    check: 'infra',
    ...fromRun(run, 'passed', 'infra'),
    flaky: flakyLines('infra', flaky),
    json: { tests: run.tests.length, flaky: flaky.map((t) => `${t.file} › ${t.name}`) },
  };
}

async function green(): Promise<CheckResult> {
  const { run, flaky } = await retriedAlone(
    solutionsDir,
    await testsOn(
      solutionsDir,
      ready.map((m) => m.n),
    ),
  );
  return {
    check: 'green',
    ...fromRun(run, 'passed', 'solutions'),
    flaky: flakyLines('solutions', flaky),
    json: { tests: run.tests.length, flaky: flaky.map((t) => `${t.file} › ${t.name}`) },
  };
}

async function progress(): Promise<CheckResult> {
  const out: CheckResult = { check: 'progress', passed: 0, failed: 0, problems: [], json: { trees: [] as unknown[] } };
  const seen = new Map<string, number>();
  // A T_k with every region written (T_last, the reference without its stub comments) is what
  // green already ran against solutions/.
  seen.set(`${await fullTreeHash()}:${ready.map((m) => m.n).join(',')}`, 0);
  for (let k = 1; k < LAST_MILESTONE; k++) {
    const ns = ready.filter((m) => m.n <= k).map((m) => m.n);
    if (ns.length === 0) continue;
    const { tree, run } = await runOnTree(k);
    // T_k identical to an earlier T_j (no regions of milestone k yet) proves nothing new.
    const key = `${await hashTree(tree)}:${ns.join(',')}`;
    if (seen.has(key)) {
      (out.json.trees as unknown[]).push({ k, sameAs: seen.get(key) === 0 ? 'solutions (green)' : `T_${seen.get(key)}` });
      continue;
    }
    seen.set(key, k);
    const retried = await retriedAlone(
      tree,
      partOfRun(await run, (file) => milestoneOf(file) <= k),
    );
    const r = fromRun(retried.run, 'passed', `T_${k}`);
    out.passed += r.passed;
    out.failed += r.failed;
    out.problems.push(...r.problems);
    out.flaky = [...(out.flaky ?? []), ...flakyLines(`T_${k}`, retried.flaky)];
    (out.json.trees as unknown[]).push({
      k,
      tree: treeLabel(tree),
      milestones: ns,
      passed: r.passed,
      failed: r.failed,
      flaky: retried.flaky.map((t) => `${t.file} › ${t.name}`),
    });
  }
  return out;
}

async function teeth(): Promise<CheckResult> {
  const out: CheckResult = { check: 'teeth', passed: 0, failed: 0, problems: [], json: { check: 'teeth', milestones: [] as unknown[] } };
  for (const m of ready) {
    const mine = partOfRun(await (await runOnTree(m.n - 1)).run, (file) => milestoneOf(file) === m.n);
    const r = fromRun(mine, 'failed', `milestone ${m.n} against T_${m.n - 1}`);
    out.passed += r.passed;
    out.failed += r.failed;
    out.problems.push(...r.problems);
    (out.json.milestones as unknown[]).push({
      milestone: m.n,
      tests: mine.tests.length,
      failedAgainstPrevious: mine.tests.filter((t) => t.status === 'failed').length,
    });
  }
  return out;
}

async function chaos(): Promise<CheckResult> {
  const out: CheckResult = { check: 'chaos', passed: 0, failed: 0, problems: [], json: { scenarios: [] as unknown[] } };
  for (const m of ready) {
    for (const scenario of await loadScenarios(m.n)) {
      // What the scenario said along the way is kept for a failure: it says what went wrong.
      const said: string[] = [];
      const verdict = await runScenario(scenario, solutionsDir, (line) => said.push(line)).catch((err: Error) => ({
        ok: false,
        line: `crashed: ${err.message}`,
        facts: {},
      }));
      if (verdict.ok) out.passed++;
      else {
        out.failed++;
        out.problems.push(`chaos ${m.n} ${scenario.name}: ${verdict.line}\n${indent(said.slice(-12).join('\n'), '      ')}`);
      }
      say(dim(`  chaos ${m.n} ${scenario.name}: ${verdict.ok ? 'survived' : 'DID NOT SURVIVE'} · ${verdict.line}`));
      (out.json.scenarios as unknown[]).push({ milestone: m.n, name: scenario.name, ok: verdict.ok, verdict: verdict.line });
    }
  }
  return out;
}

const run: Record<CheckName, () => Promise<CheckResult>> = { typecheck, lint, sync, manifest, contracts, samples, infra, green, progress, teeth, chaos };

export async function checkCommand(which: string, options: { json: boolean }): Promise<number> {
  const names = which === 'all' ? ALL : [which as CheckName];
  if (!names.every((n) => CHECKS.includes(n))) {
    say(`${red(`Unknown check "${which}".`)} Checks: all, ${CHECKS.join(', ')}.`);
    return 2;
  }
  checksAsked = new Set(names);
  const startedAll = Date.now();
  const results: CheckResult[] = [];
  // The vitest runs start first, a few at a time, and the short checks (typecheck, lint, …) run
  // beside them: tsc alone keeps one of two cores busy, and the runs have minutes to go anyway.
  if (names.some((name) => name === 'infra' || name === 'green' || name === 'progress' || name === 'teeth')) await startTreeRuns(names);
  for (const name of names) {
    const started = Date.now();
    if (!options.json) say(dim(`${name} …`));
    const result = await run[name]();
    results.push(result);
    if (!options.json) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      say(`${result.failed === 0 ? greenText('✓') : red('✗')} ${bold(name)}  ${result.passed} passed, ${result.failed} failed  ${dim(`(${seconds} s)`)}`);
      for (const p of result.problems) say(indent(p));
      for (const f of result.flaky ?? []) say(indent(dim(f)));
      if (name === 'teeth')
        for (const m of result.json.milestones as Array<{ milestone: number; tests: number; failedAgainstPrevious: number }>)
          say(dim(`    milestone ${m.milestone}: ${m.failedAgainstPrevious} of ${m.tests} tests fail against T_${m.milestone - 1}`));
    }
  }
  const passed = results.reduce((a, r) => a + r.passed, 0);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  if (options.json)
    say(
      JSON.stringify(
        names.length === 1
          ? { check: results[0]!.check, passed, failed, ...results[0]!.json }
          : { checks: results.map((r) => ({ check: r.check, passed: r.passed, failed: r.failed, problems: r.problems, ...r.json })), passed, failed },
      ),
    );
  else {
    if (names.length > 1) say(dim(`\n${names.join(', ')}: ${((Date.now() - startedAll) / 1000).toFixed(0)} s`));
    const flaky = results.reduce((a, r) => a + (r.flaky?.length ?? 0), 0);
    if (flaky > 0) say(dim(`${flaky} flaky: failed in the parallel run, passed alone (listed above; each is a test to make robust)`));
    say(`\n${passed} passed, ${failed} failed`);
  }
  return failed === 0 ? 0 : 1;
}
