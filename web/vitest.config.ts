// The page's browser tests (npm run test:web): the root config (#app, #runtime, #testkit, the services'
// global setup, the test harness) with only web/tests. Not in the root config's include, so
// `npm test` never starts a browser: CI runs these after the chaos scenarios.
import { defineConfig } from 'vitest/config';
import base from '../vitest.config.ts';
import { repoRoot } from '../workbook/trees.ts';

export default defineConfig({
  ...base,
  root: repoRoot,
  test: {
    ...base.test,
    include: ['web/tests/**/*.test.ts'],
    // One file, its steps in order, two browser pages: nothing to run beside it.
    fileParallelism: false,
    maxWorkers: 1,
  },
});
