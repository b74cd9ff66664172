// What a chaos scenario watches while it runs: readiness over time, peak memory of processes,
// a count that settles. Bounded, so a scenario that breaks something still ends.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { patient } from './patience.ts';

const execFileAsync = promisify(execFile);

/** Samples GET /readyz every `everyMs` until stopped; reports red time and whether it ended green. */
export function sampleReadiness(url: string, everyMs = 100) {
  const samples: Array<{ at: number; status: number }> = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const at = Date.now();
      const status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.status,
        () => 0,
      );
      samples.push({ at, status });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await done;
      const red = samples.filter((s) => s.status !== 200);
      const firstRed = red[0]?.at;
      const greenAfter = firstRed === undefined ? undefined : samples.find((s) => s.at > firstRed && s.status === 200 && s.at > (red.at(-1)?.at ?? 0));
      return {
        wentRed: red.length > 0,
        cameBack: greenAfter !== undefined && samples.at(-1)?.status === 200,
        redSeconds: firstRed === undefined ? 0 : ((greenAfter?.at ?? Date.now()) - firstRed) / 1000,
      };
    },
  };
}

/**
 * Samples the resident memory of each process every `everyMs` (ps, so Linux and macOS) until
 * stopped; reports the peak of each, in MB. A process that is gone is skipped.
 */
export function samplePeakRss(pids: Record<string, () => number | undefined>, everyMs = 250) {
  const peakKb: Record<string, number> = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  let running = true;
  const done = (async () => {
    while (running) {
      for (const [name, pid] of Object.entries(pids)) {
        const id = pid();
        if (id === undefined) continue;
        const out = await execFileAsync('ps', ['-o', 'rss=', '-p', String(id)]).then(
          (r) => r.stdout,
          () => '',
        );
        const kb = Number(out.trim());
        if (Number.isFinite(kb) && kb > peakKb[name]!) peakKb[name] = kb;
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop(): Promise<Record<string, number>> {
      running = false;
      await done;
      return Object.fromEntries(Object.entries(peakKb).map(([name, kb]) => [name, Math.round(kb / 1024)]));
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Gives /readyz a bounded chance to turn green again before a scenario judges it. */
export async function waitUntilReady(serviceUrl: string, timeoutMs = 10_000): Promise<void> {
  // Scaled with the machine's load (patience.ts): on a busy machine a service takes longer to turn green.
  const deadline = Date.now() + patient(timeoutMs);
  while (
    Date.now() < deadline &&
    (await fetch(`${serviceUrl}/readyz`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  )
    await sleep(200);
  await sleep(300);
}

/**
 * Waits until `read()` reaches `atLeast` (a relay may still be backing off) and then has not
 * changed for `quietMs` (late duplicates), all bounded by `timeoutMs`.
 */
export async function settle(read: () => number, options: { atLeast?: number; quietMs?: number; timeoutMs?: number } = {}): Promise<void> {
  const { atLeast = 0, quietMs = 1_500, timeoutMs = 30_000 } = options;
  const deadline = Date.now() + patient(timeoutMs);
  let last = read();
  let since = Date.now();
  while (Date.now() < deadline && (read() < atLeast || Date.now() - since < quietMs)) {
    await sleep(100);
    const now = read();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}
