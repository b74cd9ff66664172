// A benchmark's chart: a vega-lite spec and its rows, rendered to SVG in Node. vega-lite
// rather than hand-drawn SVG: axes, scales (a log scale for a stall of seconds next to a line
// of milliseconds), legends and layout come from a library that is kept, and a benchmark only
// says what to draw. No network: the rows go in the spec, and nothing loads a URL or a font.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A vega-lite spec without `data`, and the rows it draws. */
export interface ChartReport {
  data: Record<string, unknown>[];
  chart: Record<string, unknown>;
}

/** The spec with its rows injected as `data: { values }`, rendered to an SVG document. */
export async function renderChartSvg(report: ChartReport): Promise<string> {
  const spec = { ...report.chart, data: { values: report.data } } as TopLevelSpec;
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
