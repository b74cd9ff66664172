// npm run test:web: builds the page, then runs its browser tests (web/tests) against the
// reference through the real ingress and Debian's Chromium, and ends with "N passed, N failed"
// like every other CI step (.ci/run sums them). `--screenshots` also refreshes the three
// screenshots milestone 6's lesson shows, from a passing run only.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'vite';
import { bold, dim, green, indent, red, say } from '../../workbook/ui.ts';
import { runTests } from '../../workbook/run-tests.ts';
import { repoRoot, solutionsDir, workDir } from '../../workbook/trees.ts';
import { LESSON_SCREENSHOTS } from './screenshots.ts';

export const artifactsDir = join(workDir, 'artifacts', 'web');

async function main(): Promise<number> {
  const refresh = process.argv.includes('--screenshots');
  let passed = 0;
  let failed = 0;

  // The page must typecheck and build; a page that does not is one failure, with tsc's words.
  say(bold('web: typecheck and build the page'));
  try {
    await promisify(execFile)(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repoRoot, 'web', 'tsconfig.json')], {
      cwd: repoRoot,
    });
    await build({ configFile: join(repoRoot, 'web', 'vite.config.ts'), logLevel: 'warn' });
    say(`  ${green('✓')} web/dist built`);
    passed++;
  } catch (err) {
    const e = err as { stdout?: string; message: string };
    say(`  ${red('✗')} the page does not build:\n${indent((e.stdout || e.message).trim(), '      ')}`);
    say(`${passed} passed, ${failed + 1} failed`);
    return 1;
  }

  await rm(artifactsDir, { recursive: true, force: true });
  await mkdir(artifactsDir, { recursive: true });
  say(bold('web: browser tests (Chromium, through the ingress, against solutions/)'));
  const run = await runTests({
    tree: solutionsDir,
    paths: ['web/tests/'],
    config: join(repoRoot, 'web', 'vitest.config.ts'),
    env: { WEB_ARTIFACTS: artifactsDir },
  });
  for (const test of run.tests) {
    if (test.status === 'passed') {
      say(`  ${green('✓')} ${test.name}`);
      passed++;
    } else {
      say(`  ${red('✗')} ${test.name}\n${indent(test.message, '      ')}`);
      failed++;
    }
  }
  if (run.error) {
    say(`  ${red('✗')} ${indent(run.error, '      ').trimStart()}`);
    failed++;
  }
  if (run.tests.length === 0 && !run.error) failed++;
  say(dim(`  screenshots of each step: ${artifactsDir}`));

  if (refresh) {
    if (failed > 0) say(red('  not refreshing the lesson’s screenshots: the run did not pass'));
    else {
      const lesson = join(repoRoot, 'milestones', '06-ingress-deploy', 'screenshots');
      await mkdir(lesson, { recursive: true });
      for (const name of LESSON_SCREENSHOTS) await copyFile(join(artifactsDir, name), join(lesson, name));
      say(`  ${green('✓')} refreshed ${LESSON_SCREENSHOTS.map((n) => `milestones/06-ingress-deploy/screenshots/${n}`).join(', ')}`);
    }
  }
  say(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
