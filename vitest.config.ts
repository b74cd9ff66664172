import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { loadWorkbookSettings } from './runtime/config.ts';
import { exercisesDir, repoRoot } from './workbook/trees.ts';

// Tests import the app as #app/...; this resolves it to the tree under test
// (exercises/ by default, solutions/ or a generated T_k when the workbook CLI says so).
const settings = loadWorkbookSettings();
const tree = settings.tree ?? exercisesDir;
// The proof that services came from containers means something only when they must
// (WORKBOOK_INFRA=testcontainers, set by npm run test:containers); no other run sees it.
const containersTests = settings.infra === 'testcontainers' ? ['testkit/containers-tests/**/*.test.ts'] : [];

export default defineConfig({
  resolve: {
    alias: [
      { find: /^#app\/(.*)$/, replacement: `${tree}/src/$1` },
      { find: /^#(runtime|testkit|workbook)\/(.*)$/, replacement: `${repoRoot}$1/$2` },
    ],
  },
  test: {
    include: [
      'milestones/**/*.test.ts',
      'runtime/**/*.test.ts',
      'testkit/**/*.test.ts',
      'workbook/**/*.test.ts',
      'deploy/tests/**/*.test.ts',
      'scripts/**/*.test.ts',
      ...containersTests,
    ],
    // The kit's own container tests run only where containersTests includes them.
    exclude: [...configDefaults.exclude, ...(containersTests.length > 0 ? [] : ['testkit/containers-tests/**'])],
    globalSetup: ['testkit/global-setup.ts'],
    // Above the longest wait inside a test (a process start of up to 15 s, then a wait of up to
    // 30 s for events, each up to 4 times longer on an overloaded machine: testkit/patience.ts):
    // a slow test then fails with what it waited for, not with "timed out".
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Each test file has its own database, names and keys, so files run in parallel.
    fileParallelism: true,
    // Vitest's default is one worker per core less one: a single worker on two cores. These
    // tests spend most of their time waiting on services, processes and timers, so at least
    // three run at once (on two cores that keeps both busy and halves the run).
    maxWorkers: Math.max(3, availableParallelism() - 1),
    // A worker runs file after file instead of starting afresh for each (a quarter of the
    // CPU of a run on two cores). Each file still gets its own database, names, keys and
    // processes from the harness; between-files.ts resets what lives in the worker itself and
    // the module registry, so each file imports fresh modules (testkit/module-isolation.test.ts).
    isolate: false,
    setupFiles: ['testkit/between-files.ts'],
    restoreMocks: true,
  },
});
