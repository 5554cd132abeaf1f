/**
 * Lines over time: a metric's series, each a line through its points on a value scale at the left (0 always
 * on it) and a time axis under it, the last point of each marked and titled with its value. A null value is
 * a gap, not a zero. Hand-made SVG like the other charts: a few lines of a few hundred points each need no
 * chart library; the legend beside it (the caller's) is the text equivalent.
 */
import { h, svg, type Child } from '../lib/dom.js';
import { gridLines, heightOf, valueAxis } from './axis.js';
import type { UnitFormat } from './units.js';

const WIDTH = 1000;
const HEIGHT = 120;
/** Line colours, series-0 to series-7 in the stylesheet; more lines take them again. */
export const COLOURS = 8;

/** A point: its time (Unix ms) and its value, null where the series has none (a gap). */
export type Point = [number, number | null];

export interface Line {
  /** What the line is, for its title: its series in words. */
  label: string;
  points: Point[];
  colour: number;
  /** Drawn dashed: a second line of the same series (a histogram's p95 beside its p50). */
  dashed?: boolean;
}

export interface LineChart {
  /** The plot's accessible name. */
  name: string;
  lines: Line[];
  unit: UnitFormat;
  /** The span to draw (Unix ms); widened to every point's time. */
  from: number;
  to: number;
  /** The time axis under the plot, for the span drawn. */
  timeAxis(from: number, to: number): SVGSVGElement;
  caption: Child[];
}

const known = (points: Point[]) => points.filter((point): point is [number, number] => point[1] !== null);

/** A path through the points, broken at each gap. */
function pathOf(points: Point[], x: (t: number) => number, y: (v: number) => number): string {
  let d = '';
  let drawing = false;
  for (const [t, value] of points) {
    if (value === null) drawing = false;
    else {
      d += `${drawing ? 'L' : 'M'}${x(t).toFixed(1)} ${y(value).toFixed(1)}`;
      drawing = true;
    }
  }
  return d;
}

function lineOf(line: Line, x: (t: number) => number, y: (v: number) => number, unit: UnitFormat): SVGGElement {
  const last = known(line.points).at(-1);
  const title = `${line.label}: ${last ? `last ${unit.value(last[1])}` : 'no value'}`;
  const kind = `line series-${line.colour % COLOURS}${line.dashed ? ' line-dashed' : ''}`;
  return svg(
    'g',
    { class: kind },
    svg('title', null, title),
    svg('path', { class: 'line-path', d: pathOf(line.points, x, y), 'vector-effect': 'non-scaling-stroke' }),
    // A dot that stays round on the stretched plot: a zero-length stroke with round caps.
    last ? svg('path', { class: 'line-last', d: `M${x(last[0]).toFixed(1)} ${y(last[1]).toFixed(1)}h0`, 'vector-effect': 'non-scaling-stroke' }) : null,
  );
}

export function lineChart(chart: LineChart): HTMLElement {
  const points = chart.lines.flatMap((line) => known(line.points));
  const times = points.map(([t]) => t);
  const values = points.map(([, value]) => value);
  const from = Math.min(chart.from, ...times);
  const to = Math.max(chart.to, ...times, from + 1);
  const ticks = chart.unit.ticks(Math.min(...values, 0), Math.max(...values, 0));
  const x = (t: number) => ((t - from) / (to - from)) * WIDTH;
  const y = (value: number) => heightOf(ticks, value) * HEIGHT;
  return h(
    'figure',
    { class: 'history lines' },
    h(
      'div',
      { class: 'chart' },
      valueAxis(ticks, chart.unit.tick),
      svg(
        'svg',
        { class: 'plot', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': chart.name },
        gridLines(ticks, WIDTH, HEIGHT),
        chart.lines.map((line) => lineOf(line, x, y, chart.unit)),
      ),
      chart.timeAxis(from, to),
    ),
    h('figcaption', null, chart.caption),
  );
}
