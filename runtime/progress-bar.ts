// The progress bar of long runs (seed, backfill): redrawn in place on a terminal, a line per
// tenth otherwise (CI logs, pipes).
import { fmt } from './bench-stats.ts';

/** "[#########-----------] 45%  450,000 of 1,000,000 bids · 180,000/s · about 3 s left" */
export function progressBar(done: number, total: number, elapsedS: number, unit: string, width = 24): string {
  const share = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(share * width);
  const rate = elapsedS > 0 ? done / elapsedS : 0;
  const left = rate > 0 ? Math.ceil((total - done) / rate) : undefined;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ${fmt(done)} of ${fmt(total)} ${unit} · ${fmt(Math.round(rate))}/s${left !== undefined && done < total ? ` · about ${left} s left` : ''}`;
}

/** Reports progress to stderr; call end() before printing anything else. */
export function progressReporter(unit: string, stream: NodeJS.WriteStream = process.stderr) {
  const started = performance.now();
  let lastTenth = -1;
  let drawn = false;
  return {
    update(done: number, total: number): void {
      const line = progressBar(done, total, (performance.now() - started) / 1000, unit);
      if (stream.isTTY) {
        stream.write(`\r${line}`);
        drawn = true;
      } else if (Math.floor((done / Math.max(total, 1)) * 10) > lastTenth) {
        lastTenth = Math.floor((done / Math.max(total, 1)) * 10);
        stream.write(`${line}\n`);
      }
    },
    end(): void {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
