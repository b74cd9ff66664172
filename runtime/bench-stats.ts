import type { ChaosContext } from '../testkit/scenario.ts';

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

/** One bar of a benchmark's chart: what was measured, its value, and whether it is the ceiling it is judged against. */
export interface Bar {
  label: string;
  value: number;
  kind: 'ceiling' | 'measured';
  /** Its share of the ceiling it is judged against, written at the end of the bar when given. */
  share?: number;
}

/**
 * A benchmark's `report` drawn as bars against its ceiling (bench.ts writes it as JSON and
 * SVG): one horizontal bar per measure, in the table's order, the ceilings in their own colour.
 */
export function barsAgainstCeiling(title: string, unit: string, bars: Bar[]): { data: Record<string, unknown>[]; chart: Record<string, unknown> } {
  return {
    data: bars.map((b, order) => ({ ...b, order })),
    chart: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      width: 480,
      encoding: {
        y: { field: 'label', type: 'nominal', sort: { field: 'order', op: 'min' }, title: null, axis: { labelLimit: 360 } },
        x: { field: 'value', type: 'quantitative', title: unit },
      },
      layer: [
        {
          mark: 'bar',
          encoding: {
            color: {
              field: 'kind',
              type: 'nominal',
              title: null,
              scale: { domain: ['ceiling', 'measured'], range: ['#9e9e9e', '#1f77b4'] },
              legend: { orient: 'top', labelLimit: 400 },
            },
          },
        },
        ...(bars.some((b) => b.share !== undefined)
          ? [{ mark: { type: 'text', align: 'left', dx: 4 }, encoding: { text: { field: 'share', type: 'quantitative', format: '.0%' } } }]
          : []),
      ],
    },
  };
}
