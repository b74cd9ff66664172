// A benchmark's chart renders to SVG in Node, offline: the rows are injected into the spec.
import { describe, expect, it } from 'vitest';
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
});
