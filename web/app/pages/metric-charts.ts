/**
 * What a metric's chart on the run and pipeline pages draws, by its kind: gauges and up-down sums as sent;
 * counters (monotonic sums) by what each interval counted, as Prometheus' increase() reads them; histograms
 * and summaries by the median and 95th percentile of each interval's observations, with the count of their
 * latest point. The run page draws a line per series; the pipeline page a line per run, its series added
 * up (the API's by=run), so that runs of a series per table chart however many series they make; its
 * exponential histograms and summaries, which do not add up, a line per series as the run page does.
 * Each reading is one /api/v1/metric-points request of at most STEPS steps of the span (the API's step=),
 * well within its 1,000 points a line; a histogram's chart is two or three of them.
 */
import type { MetricName, MetricPoints, MetricPointSeries, MetricRunPoints } from '../lib/api-types.js';
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
  /** A line per run, its series added up. */
  by?: 'run';
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

const pointsOf = (points: MetricPointSeries['points'] | MetricRunPoints['points']): Point[] => points.map((point) => [msOf(point.time_unix_nano), numberOf(point.value)]);
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

const swatch = (colour: number) => h('span', { class: `swatch series-${colour % COLOURS}`, 'aria-hidden': 'true' });
const runLink = (runId: string | null) => (runId === null ? 'no run' : h('a', { href: href('run', runId) }, runId));

/** The kinds whose series the API adds up by run (as=value of gauges and sums, increases, histograms' quantiles). */
const ADDS_UP: readonly MetricName['kind'][] = ['gauge', 'sum', 'histogram'];
const byRun = (s: MetricsScope, metric: MetricName) => s.page === 'pipeline' && ADDS_UP.includes(metric.kind);

/** A line of the chart and its row in the table: a series, or a run's series added up. */
interface Charted {
  /** The series id, or the run id (empty for the series of no run). */
  id: string;
  label: string;
  /** The row's first cells, in the line's colour. */
  cells(colour: number): Child[];
  points: Point[];
}

/** Each series' words, and on the pipeline page its run. */
function seriesCharted(s: MetricsScope, series: MetricPointSeries): Charted {
  const label = s.page === 'pipeline' && series.run_id ? `${seriesLabel(series)} (run ${series.run_id})` : seriesLabel(series);
  const cells = (colour: number) => [
    h('span', { class: 'series-name' }, swatch(colour), seriesLabel(series)),
    ...(s.page === 'pipeline' ? [series.run_id === null ? NONE : runLink(series.run_id)] : []),
  ];
  return { id: series.series_id, label, cells, points: pointsOf(series.points) };
}

/** A run, linked, and how many of its series were added up. */
function runCharted(run: MetricRunPoints): Charted {
  const cells = (colour: number) => [h('span', { class: 'series-name' }, swatch(colour), runLink(run.run_id)), count(run.series)];
  return { id: run.run_id ?? '', label: run.run_id === null ? 'no run' : `run ${run.run_id}`, cells, points: pointsOf(run.points) };
}

const chartedOf = (s: MetricsScope, answer: MetricPoints): Charted[] =>
  answer.by === 'run' ? answer.runs.map(runCharted) : answer.series.map((series) => seriesCharted(s, series));
const headersOf = (s: MetricsScope, answer: MetricPoints, columns: string[]) =>
  answer.by === 'run' ? ['Run', 'Series', ...columns] : ['Series', ...(s.page === 'pipeline' ? ['Run'] : []), ...columns];
/** How the lines are drawn: each series, or each run's series added up. */
const eachWords = (answer: MetricPoints) => (answer.by === 'run' ? "each run's series added up" : 'each series');

/** Gauges and up-down sums, as sent. */
async function asSent(read: Read, s: MetricsScope, metric: MetricName, unit: UnitFormat, step: number): Promise<Drawn> {
  const answer = await read(metric, { as: 'value', step, by: byRun(s, metric) ? 'run' : undefined });
  const charted = chartedOf(s, answer);
  const lines = charted.map((line, i) => ({ label: line.label, points: line.points, colour: i }));
  const rows = charted.map((line, i) => {
    const values = valuesOf(line.points);
    const [lowest, highest] = values.length ? [Math.min(...values), Math.max(...values)] : [undefined, undefined];
    return [...line.cells(i), figure(unit, values.at(-1)), figure(unit, lowest), figure(unit, highest)];
  });
  const what = answer.by === 'run' ? "Each run's series' values as sent, added up" : "Each series' value as sent";
  return { lines, rows, headers: headersOf(s, answer, ['Last', 'Lowest', 'Highest']), caption: `${what}${stepWords(step)}.` };
}

/** Counters: what each interval counted, as Prometheus' increase() reads them (resets and restarts). */
async function increases(read: Read, s: MetricsScope, metric: MetricName, unit: UnitFormat, step: number): Promise<Drawn> {
  const answer = await read(metric, { as: 'increase', step, by: byRun(s, metric) ? 'run' : undefined });
  const charted = chartedOf(s, answer);
  const lines = charted.map((line, i) => ({ label: line.label, points: line.points, colour: i }));
  const rows = charted.map((line, i) => {
    const values = valuesOf(line.points);
    return [...line.cells(i), unit.value(values.reduce((a, b) => a + b, 0)), figure(unit, values.at(-1))];
  });
  const per = step === 1 ? 'between its points' : `between its points, added up per ${step} s`;
  return { lines, rows, headers: headersOf(s, answer, ['Total', 'Last interval']), caption: `What ${eachWords(answer)} counted ${per}; its total over the span beside it.` };
}

/** Histograms and summaries: each interval's median and 95th percentile, and (of a series) the count of its latest point. */
async function quantiles(read: Read, s: MetricsScope, metric: MetricName, unit: UnitFormat, step: number): Promise<Drawn> {
  const by = byRun(s, metric) ? 'run' : undefined;
  const [p50, p95, latest] = await Promise.all([
    read(metric, { as: 'quantile', quantile: '0.5', step, by }),
    read(metric, { as: 'quantile', quantile: '0.95', step, by }),
    // One step over the whole span: each series' latest point alone. A run's points are no counts to add up.
    by ? null : read(metric, { as: 'value', step: stepOf((s.to - s.from) / 1000) }),
  ]);
  const charted = chartedOf(s, p50);
  const high = new Map(chartedOf(s, p95).map((line) => [line.id, line.points]));
  const counts = new Map(latest?.series.map((series) => [series.series_id, series.points.at(-1)]));
  const lines = charted.flatMap((line, i) => [
    { label: `p50 ${line.label}`, points: line.points, colour: i },
    { label: `p95 ${line.label}`, points: high.get(line.id) ?? [], colour: i, dashed: true },
  ]);
  const rows = charted.map((line, i) => {
    const point = counts.get(line.id);
    const observed = point && 'count' in point ? numberOf(point.count) : null;
    return [...line.cells(i), figure(unit, lastOf(lines[2 * i]!.points)), figure(unit, lastOf(lines[2 * i + 1]!.points)), ...(latest ? [count(observed)] : [])];
  });
  const countWords = latest ? "; the count is the latest point's (since its start, for a cumulative series)" : '';
  return {
    lines,
    rows,
    headers: headersOf(s, p50, ['p50, latest', 'p95, latest', ...(latest ? ['Count, latest point'] : [])]),
    caption: `The median (p50, solid) and 95th percentile (p95, dashed) of each interval's observations, of ${eachWords(p50)}${stepWords(step)}${countWords}.`,
  };
}

/** What the chart of `metric` over the scope's span draws, read by `read`. */
export async function drawn(read: Read, s: MetricsScope, metric: MetricName, unit: UnitFormat): Promise<Drawn> {
  const step = stepOf((s.to - s.from) / 1000 / STEPS);
  if (metric.kind === 'gauge' || (metric.kind === 'sum' && !metric.monotonic)) return asSent(read, s, metric, unit, step);
  if (metric.kind === 'sum') return increases(read, s, metric, unit, step);
  return quantiles(read, s, metric, unit, step);
}
