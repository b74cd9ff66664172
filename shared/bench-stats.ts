import type { ChaosContext } from './scenario.ts';

/** The p-th percentile of ascending-sorted samples (NaN when there are none). */
export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** A whole number with thousands separators, for benchmark tables. */
export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * What a benchmark is given: a chaos context, and whether this is a smoke run (`npm run bench
 * -- all --smoke`, which CI runs: every benchmark end to end at a size of seconds, so one that
 * cannot run any more fails CI; its figures are too small for verdicts and none are judged).
 */
export interface BenchContext extends ChaosContext {
  smoke: boolean;
}
