/**
 * The Metrics section of the run and pipeline pages: a chart per OTLP metric the run (or the pipeline's
 * latest runs) reported, one line per series (on the pipeline page, per run: its series added up), and
 * under it a table of the lines with their figures, the chart's text equivalent (metric-charts.ts says
 * what each kind draws).
 *
 * It loads after the page around it has rendered, so that it never holds the page up: the names first
 * (/api/v1/metric-names), then each metric's chart, two requests at a time and CHARTS_AT_ONCE charts until
 * the reader asks for more, and again at most once a minute. What the API refuses (more than its 100
 * series, or runs, in the span) is said in the chart's place.
 */
import { ApiError, getJson, KeyError } from '../lib/api.js';
import type { MetricName } from '../lib/api-types.js';
import { fill, h, type Child } from '../lib/dom.js';
import { limiter } from '../lib/limit.js';
import { refill, table } from '../lib/view.js';
import { lineChart } from '../charts/lines.js';
import { unitFormat } from '../charts/units.js';
import { drawn, type MetricsScope, type Read } from './metric-charts.js';

export type { MetricsScope } from './metric-charts.js';

export const CHARTS_AT_ONCE = 10;
/** Names of the metrics not charted, listed at most. */
const LISTED = 20;
const RELOAD_MS = 60_000;
const requests = limiter(2);

export interface MetricsSection {
  element: HTMLElement;
  /** Loads the section for `scope`, unless it loaded less than a minute ago; returns at once. */
  update(scope: MetricsScope): void;
}

/** Where the docs on sending metrics are: the repository's, and OpenTelemetry's for a language's SDK. */
const OTEL_METRICS_DOCS = 'https://opentelemetry.io/docs/concepts/signals/metrics/';

/** The empty state: `what` reported none, and what a point needs (`attribute`) to show here. */
export function noMetrics(what: string, attribute: string): Child[] {
  return [
    `${what} reported no metrics. `,
    'OpenTelemetry metrics sent to ',
    h('code', null, '/v1/metrics'),
    ' show here when their attributes or resource carry ',
    h('code', null, attribute),
    ': see Metrics in docs/sending.md, and ',
    h('a', { href: OTEL_METRICS_DOCS, rel: 'noreferrer' }, "OpenTelemetry's metrics"),
    '.',
  ];
}

const kindWords = (metric: MetricName) =>
  metric.kind === 'sum' ? (metric.monotonic ? 'counter' : 'up-down counter') : metric.kind.replace('_', ' ');

export function metricsSection(): MetricsSection {
  const summary = h('p');
  const charts = h('div', { class: 'metric-charts' });
  const rest = h('span');
  const button = h('button', { type: 'button', class: 'quiet', hidden: true, onclick: () => showMore() }, `Chart ${CHARTS_AT_ONCE} more`);
  const element = h('div', { 'data-metrics': 'loading' }, summary, charts, h('div', { class: 'metric-more' }, rest, button));
  const figures = new Map<string, { figure: HTMLElement; heading: HTMLElement; body: HTMLElement }>();
  let names: MetricName[] = [];
  let shown = CHARTS_AT_ONCE;
  let loadedAt = Number.NEGATIVE_INFINITY;
  let generation = 0;
  let scope: MetricsScope | null = null;

  /** An API request through the page's queue, dropped once the reader has left the page. */
  const ask = <T>(request: () => Promise<T>) => requests(() => (element.isConnected ? request() : Promise.reject(new Error('the page was left'))));

  const readIn =
    (s: MetricsScope): Read =>
    (metric, reading) =>
      ask(() => getJson('/api/v1/metric-points', { ...s.params, metric: metric.name, as: reading.as, quantile: reading.quantile, step: reading.step, by: reading.by }));

  const keyOf = (metric: MetricName) => JSON.stringify([metric.name, metric.kind, metric.unit, metric.description, metric.temporality, metric.monotonic]);

  /** The metric's place in the section: kept across reloads, so that a chart is replaced only when its new one is drawn. */
  function placeOf(metric: MetricName) {
    const key = keyOf(metric);
    if (!figures.has(key)) {
      const heading = h('h3');
      const body = h('div', null, h('p', { class: 'empty' }, 'Loading…'));
      figures.set(key, { figure: h('div', { class: 'metric', 'data-metric': metric.name }, heading, body), heading, body });
    }
    const place = figures.get(key)!;
    const unit = unitFormat(metric.unit);
    const facts = [kindWords(metric), unit.words && `in ${unit.words}`, `${metric.series} series`].filter(Boolean).join(', ');
    fill(place.heading, h('code', null, metric.name), ' ', h('span', { class: 'also' }, facts));
    return place;
  }

  async function drawInto(s: MetricsScope, metric: MetricName, mine: number): Promise<void> {
    const place = figures.get(keyOf(metric))!;
    const unit = unitFormat(metric.unit);
    try {
      const chart = await drawn(readIn(s), s, metric, unit);
      if (mine !== generation) return;
      const name = `${metric.name}${unit.words ? ` in ${unit.words}` : ''}, ${chart.lines.length} lines`;
      refill(
        place.body,
        metric.description ? h('p', { class: 'help' }, metric.description) : null,
        chart.lines.length ? lineChart({ name, lines: chart.lines, unit, from: s.from, to: s.to, timeAxis: s.timeAxis, caption: [chart.caption] }) : null,
        table(`Series of ${metric.name}`, chart.headers, chart.rows, { empty: 'No points in this span.', className: 'metric-legend' }),
      );
    } catch (error) {
      if (mine !== generation || !element.isConnected || error instanceof KeyError) return;
      fill(place.body, h('p', { class: 'error-box' }, error instanceof ApiError ? error.message : `This chart failed: ${(error as Error).message}`));
    }
  }

  function render(s: MetricsScope): void {
    if (names.length === 0) {
      fill(summary, s.empty);
      fill(charts);
    } else {
      const charted = Math.min(shown, names.length);
      summary.textContent = `${names.length} ${names.length === 1 ? 'metric' : 'metrics'}${charted < names.length ? `, the first ${charted} charted` : ''}.`;
      fill(charts, names.slice(0, shown).map((metric) => placeOf(metric).figure));
    }
    const left = names.length - shown;
    const listed = names.slice(shown, shown + LISTED).map((metric) => metric.name);
    const others = left > LISTED ? ` and ${left - LISTED} others` : '';
    rest.textContent = left > 0 ? `${left} more ${left === 1 ? 'metric' : 'metrics'}: ${listed.join(', ')}${others}.` : '';
    button.hidden = left <= 0;
  }

  /** Draws names[from, to), then says the section is loaded, and marks when it first was (on the navigation's clock, as main.ts marks a page). */
  async function drawRange(s: MetricsScope, from: number, to: number, mine: number): Promise<void> {
    element.dataset.metrics = 'loading';
    await Promise.all(names.slice(from, to).map((metric) => drawInto(s, metric, mine)));
    if (mine !== generation) return;
    element.dataset.metrics = 'loaded';
    const mark = `pipemon:${s.page}-metrics`;
    if (performance.getEntriesByName(mark).length === 0) performance.mark(mark);
  }

  async function reload(s: MetricsScope, mine: number): Promise<void> {
    try {
      const answer = await ask(() => getJson('/api/v1/metric-names', s.params));
      if (mine !== generation) return;
      names = answer.items;
      render(s);
      await drawRange(s, 0, shown, mine);
    } catch (error) {
      if (mine !== generation || !element.isConnected) return;
      element.dataset.metrics = 'error';
      if (!(error instanceof KeyError)) fill(summary, h('span', { class: 'error-box' }, error instanceof ApiError ? error.message : `The metrics failed: ${(error as Error).message}`));
    }
  }

  function showMore(): void {
    if (!scope) return;
    const from = shown;
    shown += CHARTS_AT_ONCE;
    render(scope);
    void drawRange(scope, from, shown, generation);
  }

  return {
    element,
    update(next) {
      scope = next;
      if (Date.now() - loadedAt < RELOAD_MS) return;
      loadedAt = Date.now();
      generation += 1;
      void reload(next, generation);
    },
  };
}
