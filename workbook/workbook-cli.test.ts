// The workbook CLI as a learner meets it (issue 21): answers only after the learner ran what
// shows them, hints that give the concept before the approach and the code, failures in the
// domain's words, review blind to whitespace, and the lessons' samples checked. No services.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { milestones } from '../milestones/manifest.ts';
import { findAnswer, howToUnlock, isUnlocked, parseAnswers } from './answers.ts';
import { answersCommand } from './commands/answers.ts';
import { hintCommand } from './commands/hint.ts';
import { inStepOrder, otherFailures } from './commands/milestone.ts';
import { regionDiff } from './commands/review.ts';
import { explainFailure } from './failure-text.ts';
import { recordRun } from './runs.ts';
import { checkSqlSamples, checkTsSamples, extractSamples } from './samples.ts';
import { hashTreeFor, repoRoot } from './trees.ts';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(repoRoot, 'workbook/cli.ts'), ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' } }).then(
    (r) => r.stdout,
  );

/** Text that dictates code: SQL statements, arrow functions, calls with arguments spelled out. */
const CODE = /\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (UNIQUE )?INDEX|ALTER TABLE|ON CONFLICT|FOR UPDATE)\b|=>|\w\(\w+(, \w+)+\)/;

describe('npm run hint: the concept first, the approach with --more, the code only with --code', () => {
  it('gives milestone 2 its concept and file, and no line of placeBid’s body, before --code', async () => {
    const concept = await cli('hint', '2');
    expect(concept).toContain('place-bid.test.ts');
    expect(concept).toContain('bidding/place-bid.ts');
    expect(concept, 'npm run hint -- 2 printed code before --code').not.toMatch(/runBidTransaction\(deps|acceptBid\(tx|pg_try_advisory_xact_lock\(/);
    // The levels in-process: one spawn of the CLI above proves the wiring, and each costs a
    // cold start of tsx (seconds on a busy machine).
    const m2 = milestones.find((m) => m.n === 2)!;
    const printedBy = (level: 'approach' | 'code') => {
      const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        hintCommand(m2, { file: 'place-bid', level });
        return (write.mock.calls as unknown[][]).map((c) => String(c[0])).join('');
      } finally {
        write.mockRestore();
      }
    };
    const more = printedBy('approach');
    expect(more).toContain('Approach:');
    expect(more).not.toMatch(/runBidTransaction\(deps|acceptBid\(tx/);
    const code = printedBy('code');
    expect(code).toMatch(/runBidTransaction\(deps, itemId/);
  });

  it('has a concept and an approach for every test file of every milestone, code for milestones 1 and 2, and no code before the code level', async () => {
    for (const m of milestones.filter((x) => x.ready)) {
      const dir = join(repoRoot, 'milestones', m.slug);
      const files = (await readdir(dir)).filter((f) => f.endsWith('.test.ts')).sort();
      expect(Object.keys(m.hints).sort(), `milestone ${m.n}: one hint per test file`).toEqual(files);
      for (const [file, hint] of Object.entries(m.hints)) {
        expect(typeof hint, `milestone ${m.n} ${file}: a hint has levels`).toBe('object');
        expect(hint.concept.length, `milestone ${m.n} ${file}: concept`).toBeGreaterThan(20);
        expect(hint.approach.length, `milestone ${m.n} ${file}: approach`).toBeGreaterThan(20);
        if (m.n <= 2) expect(hint.code, `milestone ${m.n} ${file}: code`).toBeTruthy();
        expect(hint.concept, `milestone ${m.n} ${file}: the concept dictates code`).not.toMatch(CODE);
        expect(hint.approach, `milestone ${m.n} ${file}: the approach dictates code`).not.toMatch(CODE);
      }
    }
  });
});

describe('npm run answers: each answer once the learner ran what shows it', () => {
  const md = [
    '# answers',
    '## 1. The broker goes away',
    '<!-- unlocked-by: scenario broker-down, test broker-down.test.ts -->',
    '',
    'Bids keep committing.',
    '',
    '## 2. Why not publish first?',
    '',
    'A commit can fail after the publish.',
  ].join('\n');

  it('parses sections, their unlock conditions and bodies', () => {
    const answers = parseAnswers(md);
    expect(answers.map((a) => [a.number, a.title, a.body])).toEqual([
      [1, 'The broker goes away', 'Bids keep committing.'],
      [2, 'Why not publish first?', 'A commit can fail after the publish.'],
    ]);
    expect(answers[0]!.unlockedBy).toEqual([
      { kind: 'scenario', name: 'broker-down' },
      { kind: 'test', name: 'broker-down.test.ts' },
    ]);
    expect(isUnlocked(answers[0]!, { tests: [], scenarios: [] })).toBe(false);
    expect(isUnlocked(answers[0]!, { tests: ['broker-down.test.ts'], scenarios: [] })).toBe(true);
    expect(isUnlocked(answers[0]!, { tests: ['relay.test.ts'], scenarios: ['broker-down'] })).toBe(true);
    expect(isUnlocked(answers[1]!, { tests: [], scenarios: [] }), 'no condition: unlocked by any test run').toBe(false);
    expect(isUnlocked(answers[1]!, { tests: ['relay.test.ts'], scenarios: [] })).toBe(true);
    expect(findAnswer(answers, 'publish')?.number).toBe(2);
  });

  it('unlocks an answer shown by a test outside the milestones with `answers … --run`, since no milestone command runs that file', () => {
    const [answer] = parseAnswers('## 10. Does a refused bid keep the lock?\n<!-- unlocked-by: test postgres-lessons.test.ts -->\nIt depends.\n');
    expect(howToUnlock(answer!, 3, (file) => file !== 'postgres-lessons.test.ts')).toBe(
      'npm run answers -- 3 10 --run (it runs testkit/postgres-lessons.test.ts, then shows the answer)',
    );
    expect(howToUnlock(answer!, 3)).toBe('npm run milestone:3 (it runs postgres-lessons.test.ts)');
  });

  describe('milestone 2’s answers, through the command', () => {
    let dir: string;
    const printed = () => (vi.mocked(process.stdout.write).mock.calls as unknown[][]).map((c) => String(c[0])).join('');
    afterEach(async () => {
      vi.restoreAllMocks();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('refuses a locked answer with the command that unlocks it, prints it once that ran, and prints it with --anyway', async () => {
      dir = await mkdtemp(join(tmpdir(), 'answers-'));
      const runs = join(dir, 'runs.json');
      const m2 = milestones.find((m) => m.n === 2)!;
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      await answersCommand(m2, '4', { anyway: false, runsFile: runs });
      expect(printed()).toContain('still locked');
      expect(printed()).toContain('npm run chaos -- 2 kill-relay-mid-batch');
      expect(printed()).not.toContain('Sent twice, never lost');
      vi.mocked(process.stdout.write).mockClear();
      await recordRun(m2.slug, { scenarios: ['kill-relay-mid-batch'] }, runs);
      await answersCommand(m2, '4', { anyway: false, runsFile: runs });
      expect(printed()).toContain('Sent twice, never lost');
      vi.mocked(process.stdout.write).mockClear();
      await answersCommand(m2, '2', { anyway: true, runsFile: runs });
      expect(printed()).toContain('A commit can fail after the publish');
    });
  });

  it('keeps no answer in sight in a lesson that has an answers.md, and answers every question the lesson asks', async () => {
    for (const m of milestones) {
      const answersFile = join(repoRoot, 'milestones', m.slug, 'answers.md');
      const answersText = await readFile(answersFile, 'utf8').catch(() => undefined);
      if (m.n <= 2) expect(answersText, `milestones/${m.slug}/answers.md`).toBeDefined();
      if (answersText === undefined) continue;
      const lesson = await readFile(join(repoRoot, 'milestones', m.slug, 'README.md'), 'utf8');
      expect(lesson, `milestones/${m.slug}/README.md still shows an answer in <details>`).not.toMatch(/<details>/);
      const answers = parseAnswers(answersText, answersFile);
      expect(
        answers.map((a) => a.number),
        `milestones/${m.slug}/answers.md: numbered 1..n`,
      ).toEqual(answers.map((_, i) => i + 1));
      for (const a of answers) expect(a.body.length, `answer ${m.n}.${a.number} is empty`).toBeGreaterThan(40);
    }
  });
});

describe('failures in the domain’s words', () => {
  const vitestTimeout =
    'TestTimeoutError: Test timed out in 180000ms.\nIf this is a long-running test, pass a timeout value as the last argument or configure it globally with "testTimeout".\nStill waiting for: a log line matching (l) => l.msg === \'relay started\' from bid-worker.ts (since 10:01:02)';

  it('never shows vitest’s timeout advice: says how long, what the test still waited for, and whether the machine was overloaded', () => {
    const busy = explainFailure(vitestTimeout, { load: 9.5, cores: 2 });
    expect(busy.text).not.toMatch(/pass a timeout value|testTimeout/);
    expect(busy.text).toContain('did not finish within 180 s');
    expect(busy.text).toContain("It was still waiting for a log line matching (l) => l.msg === 'relay started' from bid-worker.ts");
    expect(busy.text).toContain('overloaded (load average 9.5 on 2 cores)');
    const quiet = explainFailure(
      'Test timed out in 5000ms.\nIf this is a long-running test, pass a timeout value as the last argument or configure it globally with "testTimeout".',
      { load: 0.5, cores: availableParallelism() },
    );
    expect(quiet.text).toContain('was not overloaded');
    expect(quiet.text).not.toMatch(/pass a timeout value/);
  });

  it('says a failure caused by a stub is an unwritten step, with its task and milestone', () => {
    const e = explainFailure('TodoError: TODO(m3): answer a replayed request in bidding/accept-bid.ts. Run `npm run hint -- 3` for a hint.');
    expect(e.todo).toEqual({ milestone: 3, task: 'answer a replayed request in bidding/accept-bid.ts' });
    expect(e.text).toMatch(/^Not written yet: answer a replayed request in bidding\/accept-bid\.ts \(a milestone-3 stub/);
    const waited = explainFailure(
      'StubNotWritten: bid-service.ts reached code that is not written yet: TODO(m1): answer /readyz in http/routes.ts. The test stopped waiting, since a stub never starts working; write that step, then run the test again (`npm run hint -- 1` for a hint).',
    );
    expect(waited.todo).toEqual({ milestone: 1, task: 'answer /readyz in http/routes.ts' });
  });

  it('shows the first failure in the lesson’s step order, and lists the others one line each', () => {
    const m3 = milestones.find((m) => m.n === 3)!;
    const tests = [
      {
        file: 'milestones/03-row-locking/invariants.test.ts',
        name: 'keeps the invariants',
        status: 'failed',
        message: "AssertionError: the item's highest bid: expected null to be undefined\n\n- Expected\n+ Received",
      },
      { file: 'milestones/03-row-locking/race.test.ts', name: 'one winner', status: 'passed', message: '' },
      {
        file: 'milestones/03-row-locking/locking.test.ts',
        name: 'busy after the lock timeout',
        status: 'failed',
        message: 'Not written yet: bound the waits in bidding/bid-transaction.ts',
      },
    ];
    const ordered = inStepOrder(m3, tests);
    expect(ordered.map((t) => t.name)).toEqual(['one winner', 'busy after the lock timeout', 'keeps the invariants']);
    expect(otherFailures(ordered)).toEqual([
      "invariants.test.ts › keeps the invariants: AssertionError: the item's highest bid: expected null to be undefined",
    ]);
  });
});

describe('npm run review ignores whitespace-only differences', () => {
  it('shows no difference for a re-indented region with a blank line more, and shows it when asked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'review-'));
    try {
      const reference = 'const { rows } = await db.query(\n  `SELECT 1`,\n);\nreturn rows[0];';
      const learner = 'const { rows } = await db.query(\n      `SELECT 1`,\n);\n\nreturn rows[0];';
      expect(regionDiff(learner, reference, dir, { whitespace: false, color: false })).toBe('');
      expect(regionDiff(learner, reference, dir, { whitespace: true, color: false })).toContain('-      `SELECT 1`,');
      expect(regionDiff('return rows[1];', reference, dir, { whitespace: false, color: false })).toContain('-return rows[1];');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the lessons’ code samples are checked', () => {
  const lesson = [
    'Some prose.',
    '<!-- sample-context: declare const itemId: string; -->',
    '```ts',
    "import { placeBid } from '#app/bidding/place-bid.ts';",
    'await placeBid(itemId);',
    '```',
    '<!-- sample: skip (the shape of a region) -->',
    '```ts',
    '…reference code…',
    '```',
    '```sql',
    'SELECT id FROM items WHERE id = $1::uuid FOR UPDATE',
    '```',
    '```sql',
    'UPDATE items SET highest_bid_cents = WHERE id = $1',
    '```',
  ].join('\n');

  it('extracts ts and sql samples with their line, context and skip', () => {
    const samples = extractSamples(lesson, 'milestones/03-row-locking/README.md');
    expect(samples.map((s) => [s.lang, s.line, s.skip ?? null])).toEqual([
      ['ts', 4, null],
      ['ts', 9, 'the shape of a region'],
      ['sql', 12, null],
      ['sql', 15, null],
    ]);
    expect(samples[0]!.context).toEqual(['declare const itemId: string;']);
  });

  it('reports a SQL sample that does not parse, at its line in the lesson', async () => {
    const problems = await checkSqlSamples(extractSamples(lesson, 'lesson.md'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'lesson.md', line: 15, lang: 'sql' });
    expect(problems[0]!.message).toMatch(/syntax error at or near "WHERE"/);
  });

  it('reports a TypeScript sample that calls the exercise with the wrong arguments, at its line in the lesson', async () => {
    const problems = await checkTsSamples(extractSamples(lesson, 'lesson.md'));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatchObject({ file: 'lesson.md', line: 5, lang: 'ts' });
    expect(problems[0]!.message).toMatch(/TS2\d+/);
  });

  it('checks two sets of samples at once without one reading the other’s files (npm test runs this file beside the samples check)', async () => {
    const good = ['```ts', 'const price: bigint = 100n;', '```'].join('\n');
    const [bad, fine] = await Promise.all([checkTsSamples(extractSamples(lesson, 'lesson.md')), checkTsSamples(extractSamples(good, 'good.md'))]);
    expect(fine, 'a correct sample reported with another run’s problems').toEqual([]);
    expect(bad.map((p) => [p.file, p.line])).toEqual([['lesson.md', 5]]);
  });
});

describe('the learner’s loop: an earlier milestone runs again only when what its tests depend on changed', () => {
  it('keeps milestone 1’s hash when only a milestone-3 region changed, and changes it for an edit of its own region or of provided code', async () => {
    const tree = await mkdtemp(join(tmpdir(), 'tree-'));
    try {
      await mkdir(join(tree, 'src'), { recursive: true });
      const file = (m1: string, m3: string, provided = 'export const provided = 1;') =>
        [provided, '// #region m1: the first step', m1, '// #endregion', '// #region m3: a later step', m3, '// #endregion', ''].join('\n');
      const write = (text: string) => writeFile(join(tree, 'src', 'a.ts'), text);
      await write(file('one();', "throw new TodoError('m3', 'x');"));
      const [m1Before, m3Before] = [await hashTreeFor(tree, 1), await hashTreeFor(tree, 3)];
      await write(file('one();', 'three();'));
      expect(await hashTreeFor(tree, 1), 'writing milestone 3 must not re-run milestone 1').toBe(m1Before);
      expect(await hashTreeFor(tree, 3)).not.toBe(m3Before);
      await write(file('one(); two();', 'three();'));
      expect(await hashTreeFor(tree, 1)).not.toBe(m1Before);
      await write(file('one();', 'three();', 'export const provided = 2;'));
      expect(await hashTreeFor(tree, 1)).not.toBe(m1Before);
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  });
});
