// npm run test:containers — every ready milestone's tests against solutions/, with PostgreSQL,
// RabbitMQ and Redis from Testcontainers (design §4, step 3), plus the proof that they did
// come from containers (testkit/containers-tests). scripts/containers/test.sh gets an engine
// first (podman, where no Docker engine runs) and sets WORKBOOK_INFRA=testcontainers, so no
// step of this can fall back to the services on this machine.
import { join, relative } from 'node:path';
import { milestones } from '../../milestones/manifest.ts';
import { loadWorkbookSettings } from '../../runtime/config.ts';
import { InfraUnavailable } from '../../testkit/infra.ts';
import { LearnerError, prepare } from '../prepare.ts';
import { runTests } from '../run-tests.ts';
import { repoRoot, solutionsDir } from '../trees.ts';
import { bold, dim, green, indent, red, say } from '../ui.ts';

/** Only read under WORKBOOK_INFRA=testcontainers (vitest.config.ts). */
const CONTAINERS_TESTS = 'testkit/containers-tests';

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');

export async function containersCommand(options: { json: boolean }): Promise<number> {
  const settings = loadWorkbookSettings();
  if (settings.infra !== 'testcontainers') {
    throw new LearnerError(
      'This runs the tests with services from Testcontainers only, and WORKBOOK_INFRA is not "testcontainers" here.',
      'npm run test:containers (it sets WORKBOOK_INFRA itself)',
    );
  }
  const { findEngine } = await import('../../testkit/containers.ts');
  const started = Date.now();
  const { engine } = await findEngine(settings).catch((err: unknown) => {
    throw err instanceof InfraUnavailable ? new LearnerError(err.message, 'npm run doctor') : err;
  });
  if (!options.json) say(dim(`Container engine: ${engine.label} at ${engine.endpoint}; images ${Object.values(settings.images).join(', ')}`));
  // Starts the containers (or finds last run's) and migrates the template; vitest's global
  // setup then lands on the same containers, which Testcontainers finds by their reuse hash.
  const infra = await prepare(solutionsDir);
  if (!options.json)
    say(
      dim(
        `Services from containers: ${redact(infra.databaseUrl)}, ${redact(infra.amqpUrl)}, ${infra.redisUrl} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
      ),
    );

  const ready = milestones.filter((m) => m.ready);
  const paths = [...ready.map((m) => relative(repoRoot, join(repoRoot, 'milestones', m.slug))), CONTAINERS_TESTS];
  if (!options.json) say(dim(`Running ${paths.join(', ')} against solutions/ …`));
  const run = await runTests({ tree: solutionsDir, paths });
  const failedTests = run.tests.filter((t) => t.status === 'failed');
  const passed = run.tests.length - failedTests.length;
  // A run that could not start, or ran nothing, has failed even with no failing test.
  const failed = failedTests.length + (run.error || run.tests.length === 0 ? 1 : 0);

  if (options.json) {
    say(
      JSON.stringify({
        engine,
        images: settings.images,
        passed,
        failed,
        durationMs: Date.now() - started,
        tests: run.tests,
        ...(run.error ? { error: run.error } : {}),
      }),
    );
    return failed === 0 ? 0 : 1;
  }
  const files = new Map<string, { passed: number; failed: number }>();
  for (const t of run.tests) {
    const f = files.get(t.file) ?? { passed: 0, failed: 0 };
    f[t.status]++;
    files.set(t.file, f);
  }
  for (const [file, f] of files) say(`${f.failed ? red('✗') : green('✓')} ${file}  ${f.passed} passed${f.failed ? `, ${f.failed} failed` : ''}`);
  for (const t of failedTests) say(`\n${red('✗')} ${bold(`${t.file} › ${t.name}`)}\n${indent(t.message || '(no message)')}`);
  if (run.error) say(red(`\nSome tests could not run:\n${indent(run.error)}`));
  if (run.tests.length === 0 && !run.error) say(red('\nNo test ran.'));
  const cleanup = engine.cli === 'podman' ? 'bash scripts/containers/podman.sh stop' : 'docker rm -f $(docker ps -aq --filter label=workbook.service)';
  say(dim(`\n${engine.label}, ${((Date.now() - started) / 1000).toFixed(1)} s in all. The containers stay for the next run; \`${cleanup}\` removes them.`));
  say(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
