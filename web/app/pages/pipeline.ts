/**
 * One pipeline: its run history as a chart, and from its latest runs the metrics they reported, the stage
 * durations, rows per stage and target, data-quality checks and recent errors; a link to its lineage graph.
 */
import { ApiError, getJson } from '../lib/api.js';
import { clockAxis } from '../charts/axis.js';
import { historyChart } from '../charts/history.js';
import { fill, h } from '../lib/dom.js';
import { badge, count, duration, elapsed, outcome, percent, plain, when } from '../lib/format.js';
import { href, type Route } from '../lib/router.js';
import type { Run, RunCheck, RunStage } from '../lib/types.js';
import { REFRESH_MS, section, statusCell, table, tiles, type Mount } from '../lib/view.js';
import { metricsSection, noMetrics, type MetricsScope } from './metrics.js';

const HISTORY_RUNS = 100;
/** Runs whose stages and checks are shown (/stages and /checks of the latest this many). */
const DETAILED_RUNS = 10;
const DAYS = 7;

const median = (values: number[]) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const targetOf = (stage: RunStage) => (stage.target ? [stage.target.namespace, stage.target.collection].filter(Boolean).join('.') : '–');

/** One row per stage name, in the latest run's order: its latest figures and its median duration over the runs read (newest run first). */
function stageRows(runStages: RunStage[], nowMs: number) {
  const byName = new Map<string, RunStage[]>();
  for (const stage of runStages) byName.set(stage.stage, [...(byName.get(stage.stage) ?? []), stage]);
  return [...byName.entries()].map(([name, stages]) => {
    const latest = stages[0]!;
    const durations = stages.flatMap((stage) => (stage.duration_seconds === null ? [] : [stage.duration_seconds]));
    return [name, badge(outcome(latest)), elapsed(latest, nowMs), duration(median(durations)), count(latest.rows.read), count(latest.rows.written), count(latest.rows.rejected), targetOf(latest)];
  });
}

function checkRows(checks: RunCheck[]) {
  return checks.map((check) => [
    h('a', { href: href('run', check.run_id) }, when(check.timestamp)),
    check.stage ?? '–',
    plain(check.name),
    badge(check.passed === true ? 'passed' : check.passed === false ? 'failed' : 'unknown'),
    h('span', { class: 'details' }, plain(check.details)),
  ]);
}

function errorRows(runs: Run[]) {
  return runs
    .filter((run) => run.error)
    .slice(0, 10)
    .map((run) => [h('a', { href: href('run', run.run_id) }, when(run.started_at)), badge(outcome(run)), run.error!.type ?? '–', h('span', { class: 'message' }, run.error!.message ?? '–')]);
}

/** The metrics of the latest DETAILED_RUNS runs: from the start of the oldest of them (or DAYS ago) to now. */
function metricsScope(name: string, runs: Run[], nowMs: number): MetricsScope {
  const starts = runs.slice(0, DETAILED_RUNS).flatMap((run) => (run.started_at ? [Date.parse(run.started_at)] : []));
  const from = starts.length ? Math.min(...starts) : nowMs - DAYS * 86_400_000;
  return {
    page: 'pipeline',
    params: { pipeline: name, since: new Date(from).toISOString() },
    from,
    to: nowMs,
    timeAxis: clockAxis,
    empty: noMetrics(`The latest ${DETAILED_RUNS} runs of ${name}`, `cicd.pipeline.name=${name}`),
  };
}

export const mountPipeline: Mount = (route: Route) => {
  const name = route.id;
  const header = h('div');
  const history = h('div');
  const stages = h('div');
  const checks = h('div');
  const errors = h('div');
  const metrics = metricsSection();
  const element = h(
    'div',
    null,
    h('p', { class: 'crumbs' }, h('a', { href: href('overview') }, 'Pipelines'), ' / '),
    h('h1', null, name),
    header,
    h('p', null, h('a', { href: href('lineage', '', { pipeline: name }), class: 'lineage-link' }, `Lineage of ${name}`), ': the datasets it reads and writes, what feeds it and who uses its data.'),
    section('Run history', history),
    section(`Metrics (latest ${DETAILED_RUNS} runs)`, metrics.element),
    section(`Stages (latest ${DETAILED_RUNS} runs)`, stages),
    section(`Data-quality checks (latest ${DETAILED_RUNS} runs)`, checks),
    section('Recent errors', errors),
    h('p', null, h('a', { href: href('logs', '', { pipeline: name }) }, `Logs of ${name}`)),
  );
  return {
    title: name,
    element,
    intervalMs: REFRESH_MS,
    async refresh() {
      const [runs, pipelines, runStages, runChecks] = await Promise.all([
        getJson('/api/v1/runs', { pipeline: name, limit: HISTORY_RUNS }),
        getJson('/api/v1/metrics/pipelines', { days: DAYS, pipeline: name }),
        getJson('/api/v1/stages', { pipeline: name, runs: DETAILED_RUNS }),
        getJson('/api/v1/checks', { pipeline: name, runs: DETAILED_RUNS }),
      ]);
      const figures = pipelines.items[0];
      if (!figures) throw new ApiError(404, `No pipeline "${name}" has reported to this tenant.`);
      fill(
        header,
        tiles([
          ['Status', statusCell(figures)],
          ['Owner', figures.owner || '–'],
          ['Last success', when(figures.last_success_at)],
          ['Expected every', duration(figures.expected_interval_seconds)],
          [`Success (${DAYS} d)`, percent(figures.success_rate)],
          ['Failures in a row', count(figures.consecutive_failures)],
          [`Rows written (${DAYS} d)`, count(figures.rows.written)],
        ]),
      );
      fill(history, runs.items.length ? historyChart(runs.items) : h('p', { class: 'empty' }, 'No runs.'));
      fill(stages, table('Stages', ['Stage', 'Latest', 'Duration', 'Median duration', 'Rows read', 'Rows written', 'Rows rejected', 'Target'], stageRows(runStages.items, Date.now()), { empty: 'No stages reported.' }));
      fill(checks, table('Data-quality checks', ['When', 'Stage', 'Check', 'Result', 'Details'], checkRows(runChecks.items), { empty: 'No data-quality checks in these runs.' }));
      fill(errors, table('Recent errors', ['Run', 'Result', 'Error', 'Message'], errorRows(runs.items), { empty: `No errors in the latest ${HISTORY_RUNS} runs.` }));
      // Loads after the page has rendered.
      metrics.update(metricsScope(name, runs.items, Date.now()));
    },
  };
};
