// npm run fuzz -- [--runs N] [--seed S] [--solution]: milestone 6's fuzz test, as long as asked.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LearnerError, prepare } from '../prepare.ts';
import { exercisesDir, repoRoot, solutionsDir } from '../trees.ts';
import { say } from '../ui.ts';

const FUZZ_TEST = 'milestones/06-ingress-deploy/fuzz.test.ts';

export async function fuzzCommand(argv: string[], options: { solution: boolean }): Promise<number> {
  const flagValue = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const runs = flagValue('--runs');
  const seed = flagValue('--seed');
  if (runs !== undefined && !/^[1-9][0-9]{0,6}$/.test(runs))
    throw new LearnerError(`--runs needs a whole number of requests from 1 to 9999999, got ${JSON.stringify(runs)}.`, 'npm run fuzz -- --runs 20000');
  if (seed !== undefined && !/^-?[0-9]{1,10}$/.test(seed))
    throw new LearnerError(`--seed needs the whole number a fuzz run printed, got ${JSON.stringify(seed)}.`, 'npm run fuzz -- --seed 20260523 --runs 1500');
  const tree = options.solution ? solutionsDir : exercisesDir;
  await prepare(tree);
  say(
    `Fuzzing bid-service (${options.solution ? 'the reference' : 'your code'}) with ${runs ?? 'the default number of'} generated requests${seed ? `, seed ${seed}` : ''}.`,
  );
  const child = spawn(process.execPath, [join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', FUZZ_TEST], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, WORKBOOK_TREE: tree, ...(runs ? { WORKBOOK_FUZZ_RUNS: runs } : {}), ...(seed ? { WORKBOOK_FUZZ_SEED: seed } : {}) },
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}
