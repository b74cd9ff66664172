// A benchmark's chart renders to SVG in Node, offline: the rows are injected into the spec.
import { describe, expect, it } from 'vitest';
import { barsAgainstCeiling } from '#runtime/bench-stats.ts';
import { renderChartSvg } from './render-chart.ts';

describe('renderChartSvg', () => {
  it('draws a vega-lite spec and its rows as an SVG document, with no network', async () => {
    const svg = await renderChartSvg({
      data: [
        { seconds: 0, p99Ms: 4, change: 'backfill' },
        { seconds: 1, p99Ms: 5, change: 'backfill' },
        { seconds: 0, p99Ms: 3, change: 'naive ALTER' },
        { seconds: 1, p99Ms: 4200, change: 'naive ALTER' },
      ],
      chart: {
        title: 'bid latency',
        mark: 'line',
        encoding: {
          x: { field: 'seconds', type: 'quantitative' },
          y: { field: 'p99Ms', type: 'quantitative', scale: { type: 'log' } },
          color: { field: 'change', type: 'nominal' },
        },
      },
    });
    expect(svg.startsWith('<svg'), svg.slice(0, 80)).toBe(true);
    expect(svg, 'the title, and a legend entry per series').toContain('bid latency');
    expect(svg).toContain('naive ALTER');
    expect((svg.match(/<path[^>]*class="[^"]*"|role="graphics-symbol"/g) ?? []).length, 'marks drawn').toBeGreaterThan(0);
  });

  it('draws bars on a log scale from 1, so a floor of 45 pages shows beside 20,000 (a bar from 0 has no length there)', async () => {
    const svg = await renderChartSvg(
      barsAgainstCeiling(
        'pages one claim reads',
        'pages',
        [
          { label: '0 published', value: 45, kind: 'ceiling' },
          { label: 'before VACUUM', value: 20_013, kind: 'measured' },
          { label: 'after VACUUM', value: 49, kind: 'measured' },
        ],
        { log: true, ceilingName: 'floor', values: true },
      ),
    );
    const widths = [...svg.matchAll(/aria-roledescription="bar" d="M[-\d.]+,[-\d.]+h([-\d.]+)/g)].map((m) => Number(m[1]));
    expect(widths, 'the width of each bar drawn').toHaveLength(3);
    for (const width of widths) expect(width, `bar widths ${widths.join(', ')}`).toBeGreaterThan(0);
    expect(widths[1]! / widths[0]!, 'on a log scale, 20,000 is not 440 times as long as 45').toBeLessThan(3);
    expect(svg, 'the grey bar named for what it is').toContain('floor');
    expect(svg, 'the values written at the bars').toContain('20,013');
  });

  it('writes each share at its bar and none at the ceiling, which has none', async () => {
    const svg = await renderChartSvg(
      barsAgainstCeiling('where the NOTIFY runs', 'transactions/s', [
        { label: 'no NOTIFY', value: 7_581, kind: 'ceiling' },
        { label: 'NOTIFY inside', value: 3_674, kind: 'measured', share: 0.48 },
      ]),
    );
    expect(svg).toContain('48%');
    expect(svg, 'a ceiling without a share').not.toContain('NaN');
  });
});
