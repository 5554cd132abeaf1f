/**
 * What a metric's chart on the run and pipeline pages draws, by its kind: gauges and up-down sums as sent;
 * counters (monotonic sums) by what each interval counted, as Prometheus' increase() reads them; histograms
 * and summaries by the median and 95th percentile of each interval's observations, with the count of their
 * latest point. Each reading is one /api/v1/metric-points request of at most STEPS steps of the span
 * (the API's step=), well within its 1,000 points a series; a histogram's chart is three of them.
 */
import type { MetricName, MetricPoints, MetricPointSeries } from '../lib/api-types.js';
import { h, type Child } from '../lib/dom.js';
import { count, NONE, plain } from '../lib/format.js';
import { href } from '../lib/router.js';
import { COLOURS, type Line, type Point } from '../charts/lines.js';
import type { UnitFormat } from '../charts/units.js';

const STEPS = 200;
/** The API's largest step= (366 days). */
const MAX_STEP_SECONDS = 366 * 86_400;

/** Whose metrics the section shows, over what span, and in what words when there are none. */
export interface MetricsScope {
  page: 'run' | 'pipeline';
  params: { run_id?: string; pipeline?: string; since?: string };
  /** The span drawn (Unix ms): the run's, or the pipeline's latest runs' to now. */
  from: number;
  to: number;
  timeAxis(from: number, to: number): SVGSVGElement;
  empty: Child;
}

/** One reading of a metric's points in the scope. */
export interface Reading {
  as: 'value' | 'increase' | 'quantile';
  quantile?: string;
  step: number;
}

export type Read = (metric: MetricName, reading: Reading) => Promise<MetricPoints>;

/** What a chart of one metric drew: its lines, the table of its series, and how to read it. */
export interface Drawn {
  lines: Line[];
  headers: string[];
  rows: Child[][];
  caption: string;
}

const stepOf = (seconds: number) => Math.min(MAX_STEP_SECONDS, Math.max(1, Math.ceil(seconds)));
const stepWords = (step: number) => (step === 1 ? '' : ` (one point per ${step} s)`);

/** A number the API sent as a number, or as a string (an exact integer, NaN, infinity); null for none. */
function numberOf(value: number | string | null | undefined): number | null {
  const n = value === null || value === undefined ? Number.NaN : Number(value);
  return Number.isFinite(n) ? n : null;
}

const msOf = (unixNano: string) => Number(BigInt(unixNano) / 1_000_000n);

const pointsOf = (series: MetricPointSeries): Point[] => series.points.map((point) => [msOf(point.time_unix_nano), numberOf(point.value)]);
const valuesOf = (points: Point[]) => points.flatMap(([, value]) => (value === null ? [] : [value]));
const lastOf = (points: Point[]) => valuesOf(points).at(-1);
const figure = (unit: UnitFormat, value: number | undefined) => (value === undefined ? NONE : unit.value(value));

/** The series' attributes in words; the pipeline's, run's and stage's own are shown apart. */
function seriesLabel(series: MetricPointSeries): string {
  const attributes = Object.entries(series.attributes)
    // cicd.pipeline.* (the pipeline, run and stage): the same on every series of a run.
    .filter(([key]) => !key.startsWith('cicd.pipeline.'))
    .map(([key, value]) => `${key}=${plain(value)}`);
  return [series.stage === null ? '' : `stage ${series.stage}`, ...attributes].filter(Boolean).join(', ') || series.service_name || 'all points';
}

/** The series' first cells: its colour and words, and on the pipeline page its run. */
const seriesCells = (s: MetricsScope, series: MetricPointSeries, colour: number): Child[] => [
  h('span', { class: 'series-name' }, h('span', { class: `swatch series-${colour % COLOURS}`, 'aria-hidden': 'true' }), seriesLabel(series)),
  ...(s.page === 'pipeline' ? [series.run_id === null ? NONE : h('a', { href: href('run', series.run_id) }, series.run_id)] : []),
];
const headersOf = (s: MetricsScope, columns: string[]) => ['Series', ...(s.page === 'pipeline' ? ['Run'] : []), ...columns];
const lineLabel = (s: MetricsScope, series: MetricPointSeries) => (s.page === 'pipeline' && series.run_id ? `${seriesLabel(series)} (run ${series.run_id})` : seriesLabel(series));

/** Gauges and up-down sums, as sent. */
async function asSent(read: Read, s: MetricsScope, metric: MetricName, unit: UnitFormat, step: number): Promise<Drawn> {
  const answer = await read(metric, { as: 'value', step });
  const lines = answer.series.map((series, i) => ({ label: lineLabel(s, series), points: pointsOf(series), colour: i }));
  const rows = answer.series.map((series, i) => {
    const values = valuesOf(lines[i]!.points);
    const [lowest, highest] = values.length ? [Math.min(...values), Math.max(...values)] : [undefined, undefined];
    return [...seriesCells(s, series, i), figure(unit, values.at(-1)), figure(unit, lowest), figure(unit, highest)];
  });
  return { lines, rows, headers: headersOf(s, ['Last', 'Lowest', 'Highest']), caption: `Each series' value as sent${stepWords(step)}.` };
}

/** Counters: what each interval counted, as Prometheus' increase() reads them (resets and restarts). */
async function increases(read: Read, s: MetricsScope, metric: MetricName, unit: UnitFormat, step: number): Promise<Drawn> {
  const answer = await read(metric, { as: 'increase', step });
  const lines = answer.series.map((series, i) => ({ label: lineLabel(s, series), points: pointsOf(series), colour: i }));
  const rows = answer.series.map((series, i) => {
    const values = valuesOf(lines[i]!.points);
    return [...seriesCells(s, series, i), unit.value(values.reduce((a, b) => a + b, 0)), figure(unit, values.at(-1))];
  });
  const per = step === 1 ? 'between its points' : `between its points, added up per ${step} s`;
  return { lines, rows, headers: headersOf(s, ['Total', 'Last interval']), caption: `What each series counted ${per}; its total over the span beside it.` };
}

/** Histograms and summaries: each interval's median and 95th percentile, and the count of the latest point. */
async function quantiles(read: Read, s: MetricsScope, metric: MetricName, unit: UnitFormat, step: number): Promise<Drawn> {
  const [p50, p95, latest] = await Promise.all([
    read(metric, { as: 'quantile', quantile: '0.5', step }),
    read(metric, { as: 'quantile', quantile: '0.95', step }),
    // One step over the whole span: each series' latest point alone.
    read(metric, { as: 'value', step: stepOf((s.to - s.from) / 1000) }),
  ]);
  const high = new Map(p95.series.map((series) => [series.series_id, pointsOf(series)]));
  const counts = new Map(latest.series.map((series) => [series.series_id, series.points.at(-1)]));
  const lines = p50.series.flatMap((series, i) => [
    { label: `p50 ${lineLabel(s, series)}`, points: pointsOf(series), colour: i },
    { label: `p95 ${lineLabel(s, series)}`, points: high.get(series.series_id) ?? [], colour: i, dashed: true },
  ]);
  const rows = p50.series.map((series, i) => {
    const point = counts.get(series.series_id);
    const observed = point && 'count' in point ? numberOf(point.count) : null;
    return [...seriesCells(s, series, i), figure(unit, lastOf(lines[2 * i]!.points)), figure(unit, lastOf(lines[2 * i + 1]!.points)), count(observed)];
  });
  return {
    lines,
    rows,
    headers: headersOf(s, ['p50, latest', 'p95, latest', 'Count, latest point']),
    caption: `The median (p50, solid) and 95th percentile (p95, dashed) of each interval's observations${stepWords(step)}; the count is the latest point's (since its start, for a cumulative series).`,
  };
}

/** What the chart of `metric` over the scope's span draws, read by `read`. */
export async function drawn(read: Read, s: MetricsScope, metric: MetricName, unit: UnitFormat): Promise<Drawn> {
  const step = stepOf((s.to - s.from) / 1000 / STEPS);
  if (metric.kind === 'gauge' || (metric.kind === 'sum' && !metric.monotonic)) return asSent(read, s, metric, unit, step);
  if (metric.kind === 'sum') return increases(read, s, metric, unit, step);
  return quantiles(read, s, metric, unit, step);
}
