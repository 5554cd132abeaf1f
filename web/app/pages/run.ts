/**
 * One run: its stages as a timeline, the metrics it reported, rows, checks, its error, the datasets it read
 * and wrote, and its logs with severity. A failed or stuck run says first who it leaves without data: the
 * datasets it did not write and the pipelines that read them, directly or through others.
 */
import { getJson } from '../lib/api.js';
import { offsetAxis } from '../charts/axis.js';
import { timeline } from '../charts/timeline.js';
import { fill, h } from '../lib/dom.js';
import { badge, count, elapsed, errorText, exactTime, outcome, plain, when } from '../lib/format.js';
import { href, type Route } from '../lib/router.js';
import type { Impact, RunDataset, RunDetail } from '../lib/types.js';
import { datasetLink, pipelineLink, REFRESH_MS, section, table, tiles, type Mount } from '../lib/view.js';
import { logRows, LOG_HEADERS } from './logs.js';
import { metricsSection, noMetrics, type MetricsScope } from './metrics.js';

/** What a run's own end said, where it shows its stages' failure instead. */
function ownWords(reported: NonNullable<RunDetail['reported']>): string {
  const error = reported.error ? `: ${errorText(reported.error)}` : '';
  return `${reported.result ?? 'nothing'}${error}`;
}

const hopsText = (hops: number) => `${count(hops)} ${hops === 1 ? 'hop' : 'hops'}`;
const datasetDistance = (hops: number) => (hops === 0 ? 'its own output, not written' : `written ${hopsText(hops)} downstream`);
const pipelineDistance = (hops: number) => (hops === 1 ? '1 hop: reads its output' : `${hopsText(hops)}, through others`);

/** Who the run leaves without data, nearest first, with a link to the graph downstream of its pipeline. */
function impactPart(run: RunDetail, impact: Impact) {
  const hops = Math.max(1, ...impact.pipelines.map((p) => p.hops), ...impact.datasets.map((d) => d.hops));
  const summary = `This run ${run.stuck ? 'is stuck' : 'failed'}: ${count(impact.datasets.length)} datasets are left without its data and ${count(impact.pipelines.length)} pipelines downstream read them.`;
  return [
    h('p', { class: 'impact-summary' }, summary, impact.truncated ? ' The walk stopped at its bound (10 hops, 1,000 nodes): more may be affected.' : ''),
    table('Datasets left without data', ['Dataset', 'Distance'], impact.datasets.map((d) => [datasetLink(d.dataset_id, d.dataset), datasetDistance(d.hops)]), {
      empty: 'Its pipeline writes no dataset that lineage knows of.',
      className: 'impact-datasets',
    }),
    table('Pipelines downstream', ['Pipeline', 'Distance'], impact.pipelines.map((p) => [pipelineLink(p.pipeline), pipelineDistance(p.hops)]), {
      empty: 'No pipeline reads what it writes.',
      className: 'impact-pipelines',
    }),
    h('p', null, h('a', { href: href('lineage', '', { pipeline: run.pipeline, direction: 'down', depth: String(Math.min(hops, 10)) }) }, `The lineage graph downstream of ${run.pipeline}`)),
  ];
}

/** The run's metrics on its time, from its start as on the timeline, to its end or now. */
function metricsScope(run: RunDetail, nowMs: number): MetricsScope {
  const end = run.state === 'running' ? null : (run.ended_at ?? run.last_seen_at);
  return {
    page: 'run',
    params: { run_id: run.run_id },
    from: run.started_at ? Date.parse(run.started_at) : nowMs,
    to: end ? Date.parse(end) : nowMs,
    timeAxis: (from, to) => offsetAxis((to - from) / 1000),
    empty: noMetrics('This run', `cicd.pipeline.run.id=${run.run_id}`),
  };
}

const datasetRows = (datasets: RunDataset[]) =>
  datasets.map((d) => [d.direction === 'read' ? 'read' : 'wrote', datasetLink(d.dataset_id, d.dataset), d.stage ?? '–', count(d.rows), when(d.at)]);

export const mountRun: Mount = (route: Route) => {
  const runId = route.id;
  const crumbs = h('p', { class: 'crumbs' });
  const header = h('div');
  const problem = h('div');
  const stages = h('div');
  const checks = h('div');
  const datasets = h('div');
  const impact = h('section', { 'aria-labelledby': 's-downstream-impact', class: 'impact', hidden: true });
  const logs = h('div');
  const metrics = metricsSection();
  const element = h(
    'div',
    null,
    crumbs,
    h('h1', null, 'Run ', h('code', null, runId)),
    header,
    problem,
    impact,
    section('Timeline', stages),
    section('Metrics', metrics.element),
    section('Datasets read and written', datasets),
    section('Data-quality checks', checks),
    section('Logs', logs),
  );
  return {
    title: `Run ${runId}`,
    element,
    intervalMs: REFRESH_MS,
    async refresh() {
      const run = await getJson('/api/v1/runs/{runId}', { runId });
      // One now for the tiles and the timeline, so their elapsed times agree to the second.
      const nowMs = Date.now();
      const word = outcome(run);
      fill(crumbs, h('a', { href: href('overview') }, 'Pipelines'), ' / ', h('a', { href: href('pipeline', run.pipeline) }, run.pipeline), ' / ');
      fill(
        header,
        tiles([
          ['Result', h('span', { class: 'status', 'data-status': word }, badge(word))],
          ['Started', h('span', { title: exactTime(run.started_at) }, exactTime(run.started_at), run.start_estimated ? ' (estimated: no start was reported)' : '')],
          ['Duration', elapsed(run, nowMs)],
          ['Last heard from', when(run.last_seen_at)],
          ['Rows read', count(run.rows.read)],
          ['Rows written', count(run.rows.written)],
          ['Rows rejected', count(run.rows.rejected)],
          ['Service', run.service_name ?? '–'],
        ]),
      );
      fill(
        problem,
        run.error
          ? h('div', { class: 'error-box', role: 'note' }, h('strong', null, run.error.type ?? 'Error'), h('pre', null, run.error.message ?? ''))
          : null,
        run.stuck
          ? h('div', { class: 'error-box', role: 'note' }, h('strong', null, 'Stuck: '), `running, and silent since ${exactTime(run.last_seen_at)} (no heartbeat).`)
          : null,
        run.reported ? h('p', { class: 'reported' }, `Its own end said ${ownWords(run.reported)}; it shows what its stages reported.`) : null,
      );
      impact.hidden = run.impact === null;
      fill(impact, run.impact ? [h('h2', { id: 's-downstream-impact' }, 'Downstream impact'), impactPart(run, run.impact)] : null);
      fill(stages, timeline(run, nowMs));
      fill(
        datasets,
        table('Datasets this run read and wrote', ['Direction', 'Dataset', 'Stage', 'Rows', 'When'], datasetRows(run.datasets), {
          empty: 'This run named no dataset it read or wrote (inputs, outputs or a target).',
          className: 'run-datasets',
        }),
      );
      fill(
        checks,
        table(
          'Data-quality checks',
          ['When', 'Stage', 'Check', 'Result', 'Details'],
          run.checks.map((check) => [
            when(check.timestamp),
            check.stage ?? '–',
            plain(check.name),
            badge(check.passed === true ? 'passed' : check.passed === false ? 'failed' : 'unknown'),
            h('span', { class: 'details' }, plain(check.details)),
          ]),
          { empty: 'No data-quality checks in this run.' },
        ),
      );
      fill(
        logs,
        table('Logs of this run, newest first', LOG_HEADERS, logRows(run.logs.items, runId), { empty: 'No log records.', className: 'logs' }),
        run.logs.next_cursor ? h('p', null, h('a', { href: href('logs', '', { run_id: runId }) }, 'All logs of this run')) : null,
      );
      // Loads after the page has rendered.
      metrics.update(metricsScope(run, nowMs));
    },
  };
};
