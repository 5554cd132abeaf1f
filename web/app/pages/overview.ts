/** Pipelines overview: every pipeline's status now, what needs attention first. */
import { getJson } from '../lib/api.js';
import { sparkline } from '../charts/sparkline.js';
import { fill, h } from '../lib/dom.js';
import { badge, count, duration, elapsed, outcome, percent, when } from '../lib/format.js';
import { href } from '../lib/router.js';
import { byAttention, conditions, STATUSES } from '../lib/status.js';
import type { PipelineFigures } from '../lib/types.js';
import { REFRESH_MS, section, statusCell, table, tiles, type Mount } from '../lib/view.js';

const DAYS = 7;
const RECENT_RUNS = 20;

function row(p: PipelineFigures, nowMs: number) {
  const last = p.recent_runs[0];
  return [
    statusCell(p),
    h('a', { href: href('pipeline', p.pipeline), 'data-pipeline': p.pipeline }, p.pipeline),
    p.owner || '–',
    last ? h('span', null, h('a', { href: href('run', last.run_id) }, when(last.started_at)), ' ', badge(outcome(last))) : '–',
    percent(p.success_rate),
    h('span', { class: 'spark-cell' }, sparkline(p.recent_runs), last ? elapsed(last, nowMs) : ''),
    count(p.rows.written),
  ];
}

export const mountOverview: Mount = () => {
  const summary = h('div');
  const list = h('div');
  const element = h(
    'div',
    null,
    h('h1', null, 'Pipelines'),
    summary,
    section(`Every pipeline, what needs attention first (last ${DAYS} days)`, list),
  );
  return {
    title: 'Pipelines',
    element,
    intervalMs: REFRESH_MS,
    async refresh() {
      const [overview, pipelines] = await Promise.all([
        getJson('/api/v1/metrics/overview', { days: DAYS }),
        getJson('/api/v1/metrics/pipelines', { days: DAYS, recent: RECENT_RUNS }),
      ]);
      const items = [...pipelines.items].sort(byAttention);
      // Everything ranked before running: an outage, or data that arrived suspect.
      const needing = items.filter((p) => STATUSES.indexOf(conditions(p)[0]!) < STATUSES.indexOf('running')).length;
      fill(
        summary,
        tiles([
          ['Pipelines', count(items.length)],
          ['Need attention', count(needing)],
          [`Runs (${DAYS} d)`, count(overview.runs)],
          ['Success rate', percent(overview.success_rate)],
          ['Errors', count(overview.errors)],
          ['p95 duration', duration(overview.duration_seconds.p95)],
          ['Rows written', count(overview.rows.written)],
        ]),
      );
      fill(
        list,
        table(
          'Pipelines',
          ['Status', 'Pipeline', 'Owner', 'Last run', `Success (${DAYS} d)`, 'Recent durations', `Rows written (${DAYS} d)`],
          items.map((p) => row(p, Date.now())),
          { empty: 'No pipeline has reported yet. Send some runs (pipemon demo shows what it looks like).', className: 'pipelines' },
        ),
      );
    },
  };
};
