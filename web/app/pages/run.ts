/** One run: its stages as a timeline, rows, checks, its error, and its logs with severity. */
import { getJson } from '../lib/api.js';
import { timeline } from '../charts/timeline.js';
import { fill, h } from '../lib/dom.js';
import { badge, count, elapsed, errorText, exactTime, outcome, plain, when } from '../lib/format.js';
import { href, type Route } from '../lib/router.js';
import type { RunDetail } from '../lib/types.js';
import { REFRESH_MS, section, table, tiles, type Mount } from '../lib/view.js';
import { logRows, LOG_HEADERS } from './logs.js';

/** What a run's own end said, where it shows its stages' failure instead. */
function ownWords(reported: NonNullable<RunDetail['reported']>): string {
  const error = reported.error ? `: ${errorText(reported.error)}` : '';
  return `${reported.result ?? 'nothing'}${error}`;
}

export const mountRun: Mount = (route: Route) => {
  const runId = route.id;
  const crumbs = h('p', { class: 'crumbs' });
  const header = h('div');
  const problem = h('div');
  const stages = h('div');
  const checks = h('div');
  const logs = h('div');
  const element = h(
    'div',
    null,
    crumbs,
    h('h1', null, 'Run ', h('code', null, runId)),
    header,
    problem,
    section('Timeline', stages),
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
      fill(stages, timeline(run, nowMs));
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
    },
  };
};
