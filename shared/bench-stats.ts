/** The p-th percentile of ascending-sorted samples (NaN when there are none). */
export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** A whole number with thousands separators, for benchmark tables. */
export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
