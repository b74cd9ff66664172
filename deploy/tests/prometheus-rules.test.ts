// deploy/observability/alerts.yml through promtool: the unit tests of alerts.test.yml pass
// (each alert fires on its failure after its `for:`, stays quiet otherwise), prometheus.yml and
// its rules load, and a weakened rule makes the unit tests fail, so they can.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { installed } from '../../testkit/binary-process.ts';
import { acceleratedRules, observabilityDir } from '../../testkit/prometheus.ts';

const run = promisify(execFile);
const promtool = (args: string[], cwd: string) =>
  run('promtool', args, { cwd }).then(
    ({ stdout, stderr }) => ({ ok: true, output: stdout + stderr }),
    (err: { stdout?: string; stderr?: string }) => ({ ok: false, output: (err.stdout ?? '') + (err.stderr ?? '') }),
  );

const title = installed('promtool')
  ? 'the alert rules under promtool'
  : 'SKIPPED: promtool is not installed. Install it with apt-get install -y prometheus (.ci/run does), then run the infra check again';

describe.skipIf(!installed('promtool'))(title, () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('promtool test rules alerts.test.yml passes', async () => {
    const result = await promtool(['test', 'rules', 'alerts.test.yml'], observabilityDir);
    expect(result.output).toContain('SUCCESS');
    expect(result.ok, result.output).toBe(true);
  });

  it('prometheus.yml and its rule files load', async () => {
    const result = await promtool(['check', 'config', 'prometheus.yml'], observabilityDir);
    expect(result.ok, result.output).toBe(true);
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('every alert has a runbook line and a severity of page or ticket', async () => {
    const text = await readFile(join(observabilityDir, 'alerts.yml'), 'utf8');
    const alerts = text.split(/^\s*- alert: /m).slice(1);
    expect(alerts.length).toBeGreaterThan(0);
    for (const alert of alerts) {
      const name = alert.split('\n')[0];
      expect(alert, `${name}: runbook`).toMatch(/^\s+runbook: "\S/m);
      expect(alert, `${name}: severity`).toMatch(/severity: (page|ticket) }/);
    }
  });

  it('fails when a rule waits longer than its test expects (the unit tests can fail)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wb-promtool-'));
    dirs.push(dir);
    const rules = await readFile(join(observabilityDir, 'alerts.yml'), 'utf8');
    // OutboxBacklog waiting 30 minutes instead of 5: its test expects it firing at minute 10.
    await writeFile(join(dir, 'alerts.yml'), rules.replace(/(- alert: OutboxBacklog[\s\S]*?for: )5m/, '$130m'));
    await copyFile(join(observabilityDir, 'alerts.test.yml'), join(dir, 'alerts.test.yml'));
    const result = await promtool(['test', 'rules', 'alerts.test.yml'], dir);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/alertname: OutboxBacklog, time: 10m/);
  });

  it('the tests shorten durations in a copy only; the shipped rules keep theirs', async () => {
    const rules = await readFile(join(observabilityDir, 'alerts.yml'), 'utf8');
    expect(rules).toMatch(/- alert: OutboxBacklog[\s\S]*?for: 5m/);
    const fast = acceleratedRules(rules, { for: '2s', window: '10s' });
    expect(fast).toMatch(/- alert: OutboxBacklog[\s\S]*?for: 2s/);
    expect(fast).not.toMatch(/\[\d+m\]|for: \d+m/);
  });
});
