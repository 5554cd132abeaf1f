/**
 * A sparkline of a pipeline's recent run durations, oldest left: a line through the durations, a red
 * tick under each run that did not succeed. Hand-made SVG: a few dozen points need no chart library.
 */
import { svg } from '../lib/dom.js';
import { duration, outcome } from '../lib/format.js';
import type { RecentRun } from '../lib/types.js';

const WIDTH = 120;
const HEIGHT = 28;

/** `runs` newest first, as the API lists them. */
export function sparkline(runs: RecentRun[]): SVGSVGElement {
  const points = [...runs].reverse();
  const durations = points.map((run) => run.duration_seconds ?? 0);
  const max = Math.max(...durations, 0) || 1;
  const step = points.length > 1 ? WIDTH / (points.length - 1) : 0;
  const y = (value: number) => (HEIGHT - 4 - (value / max) * (HEIGHT - 8)).toFixed(1);
  const x = (i: number) => (points.length > 1 ? i * step : WIDTH / 2).toFixed(1);
  const ended = points.flatMap((run, i) => (run.duration_seconds === null ? [] : [`${x(i)},${y(run.duration_seconds)}`]));
  const failed = points.flatMap((run, i) => (run.state === 'ended' && run.result !== 'success' ? [x(i)] : []));
  const latest = runs[0];
  const label = latest
    ? `${runs.length} recent runs; durations up to ${duration(max)}; ${failed.length} not successful; latest ${outcome(latest)}`
    : 'no runs';
  return svg(
    'svg',
    { class: 'sparkline', viewBox: `-2 0 ${WIDTH + 4} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label },
    svg('title', null, label),
    ended.length > 1 ? svg('polyline', { class: 'spark-line', points: ended.join(' '), 'vector-effect': 'non-scaling-stroke' }) : null,
    ended.length === 1 ? svg('circle', { class: 'spark-dot', cx: ended[0]!.split(',')[0], cy: ended[0]!.split(',')[1], r: 2 }) : null,
    failed.map((at) => svg('line', { class: 'spark-fail', x1: at, x2: at, y1: HEIGHT - 3, y2: HEIGHT, 'vector-effect': 'non-scaling-stroke' })),
  );
}
