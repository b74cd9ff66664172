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

/** How a chart of bars reads when its figures are not a throughput under a ceiling. */
export interface BarsOptions {
  /** A log scale, for bars orders of magnitude apart (45 pages next to 20,000): on a linear one the small ones vanish. */
  log?: boolean;
  /** The legend's name for the grey bar: a floor is judged against too, and is no ceiling. */
  ceilingName?: string;
  /** Each bar's value written at its end (when no share is). */
  values?: boolean;
}

/**
 * A benchmark's `report` drawn as bars against its ceiling (bench.ts writes it as JSON and
 * SVG): one horizontal bar per measure, in the table's order, the ceilings in their own colour.
 */
export function barsAgainstCeiling(
  title: string,
  unit: string,
  bars: Bar[],
  options: BarsOptions = {},
): { data: Record<string, unknown>[]; chart: Record<string, unknown> } {
  const ceilingName = options.ceilingName ?? 'ceiling';
  const label = bars.some((b) => b.share !== undefined)
    ? { field: 'share', type: 'quantitative', format: '.0%' }
    : options.values
      ? { field: 'value', type: 'quantitative', format: ',' }
      : undefined;
  return {
    data: bars.map((b, order) => ({ ...b, kind: b.kind === 'ceiling' ? ceilingName : b.kind, order })),
    chart: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      width: 480,
      encoding: {
        y: { field: 'label', type: 'nominal', sort: { field: 'order', op: 'min' }, title: null, axis: { labelLimit: 360 } },
        x: {
          field: 'value',
          type: 'quantitative',
          title: options.log ? `${unit} (log scale)` : unit,
          ...(options.log ? { scale: { type: 'log', domainMin: 1 } } : {}),
        },
      },
      layer: [
        {
          mark: 'bar',
          encoding: {
            // A bar on a log scale cannot start at 0: it starts at 1.
            ...(options.log ? { x2: { datum: 1 } } : {}),
            color: {
              field: 'kind',
              type: 'nominal',
              title: null,
              scale: { domain: [ceilingName, 'measured'], range: ['#9e9e9e', '#1f77b4'] },
              legend: { orient: 'top', labelLimit: 400 },
            },
          },
        },
        // A share is written only where there is one: the ceilings have none (vega would write "NaN%").
        ...(label
          ? [
              {
                mark: { type: 'text', align: 'left', dx: 4 },
                ...(label.field === 'share' ? { transform: [{ filter: 'isValid(datum.share)' }] } : {}),
                encoding: { text: label },
              },
            ]
          : []),
      ],
    },
  };
}
