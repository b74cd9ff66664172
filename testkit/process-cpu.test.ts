// testkit/process-cpu.ts: what bench api's CPU-per-answer table rests on. PostgreSQL's CPU must
// include the backends that ended during the measure (pgbench's 32 connections close before the
// second reading), and a reading of this process must move with the work it does.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { useTestEnv } from './harness.ts';
import { postgresCpuSeconds, processCpuSeconds, selfAndChildrenCpuSeconds } from './process-cpu.ts';

const env = useTestEnv();
const linux = process.platform === 'linux';

describe.runIf(linux)('process CPU from /proc', () => {
  it("counts a PostgreSQL backend's CPU after its connection has closed", async () => {
    const before = postgresCpuSeconds();
    expect(before, 'PostgreSQL CPU seconds: are its processes visible in /proc?').toBeDefined();
    const client = new pg.Client({ connectionString: env.config.databaseUrl });
    await client.connect();
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    // About half a second of one backend's CPU, then the backend goes away.
    await client.query('SELECT count(*) FROM generate_series(1, 5000000)');
    const burnt = processCpuSeconds(pid);
    await client.end();
    for (let i = 0; i < 100 && processCpuSeconds(pid) !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(processCpuSeconds(pid), 'the backend process after its connection closed').toBeUndefined();
    const spent = postgresCpuSeconds()! - before!;
    expect(spent, `PostgreSQL CPU seconds across a backend that used ${burnt} s and exited`).toBeGreaterThanOrEqual(burnt! * 0.9);
  });

  it("agrees with Node's own count of this process's CPU, and reads an unknown pid as undefined", () => {
    // Compared with process.cpuUsage(), not with the clock: on a busy machine a busy loop gets a
    // fraction of a core. /proc counts in ticks of 10 ms, read at two instants.
    const before = { proc: selfAndChildrenCpuSeconds()!.self, node: process.cpuUsage() };
    const until = performance.now() + 300;
    while (performance.now() < until) Math.sqrt(Math.random());
    const node = process.cpuUsage(before.node);
    const fromNode = (node.user + node.system) / 1e6;
    const fromProc = selfAndChildrenCpuSeconds()!.self - before.proc;
    expect(
      Math.abs(fromProc - fromNode),
      `CPU seconds of a 300 ms busy loop: /proc ${fromProc.toFixed(3)}, process.cpuUsage ${fromNode.toFixed(3)}`,
    ).toBeLessThan(0.03);
    expect(processCpuSeconds(2 ** 31 - 1), 'a pid that does not exist').toBeUndefined();
  });
});
