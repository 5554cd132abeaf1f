/**
 * Logs: word search (q=) and filters, newest first, older pages on request, and a live tail that reads
 * the newest page every few seconds. The filters are the URL's, so a search can be shared.
 */
import { getJson } from '../lib/api.js';
import { fill, h } from '../lib/dom.js';
import { errorText, exactTime } from '../lib/format.js';
import { href, type Route } from '../lib/router.js';
import type { Log, LogPage, RunError } from '../lib/types.js';
import { filterField, filterForm, filterParams, table, type Mount } from '../lib/view.js';

const TAIL_MS = 3_000;
const FILTERS = ['q', 'pipeline', 'stage', 'run_id', 'severity_min'] as const;
const SEVERITIES = ['', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

export const LOG_HEADERS = ['Time', 'Severity', 'Pipeline', 'Stage', 'Message'];

/** The severity as the sender wrote it, and the OpenTelemetry range of its number (which picks the colour). */
function severityOf(log: Log): { word: string; range: string } {
  const n = log.severity_number;
  const range = n >= 21 ? 'FATAL' : n >= 17 ? 'ERROR' : n >= 13 ? 'WARN' : n >= 9 ? 'INFO' : n >= 5 ? 'DEBUG' : n >= 1 ? 'TRACE' : 'UNSPECIFIED';
  return { word: log.severity_text || range, range: range.toLowerCase() };
}

/** The error a record carries in its attributes (OpenTelemetry's exception.* and error.type), if any. */
function errorOf(log: Log): RunError | null {
  const text = (key: string) => {
    const value = log.attributes[key];
    return typeof value === 'string' && value !== '' ? value : null;
  };
  const error = { type: text('exception.type') ?? text('error.type'), message: text('exception.message') };
  return error.type || error.message ? error : null;
}

/** The body, and under it the record's error: its type, and its message unless the body says it already (a logged Error's body is its message). */
function messageCell(log: Log): HTMLElement {
  const body = log.body ?? log.event_name ?? '';
  const error = errorOf(log);
  const message = error?.message && !body.includes(error.message) ? error.message : null;
  const line = error ? errorText({ type: error.type, message }) : '';
  return h('span', null, h('span', { class: 'body' }, body), line ? h('span', { class: 'log-error' }, line) : null);
}

/** The record's time, linked to its run unless that run is the page's own (`here`). */
function timeCell(log: Log, here: string | undefined): HTMLElement {
  const time = h('time', { datetime: log.timestamp }, exactTime(log.timestamp));
  return log.run_id && log.run_id !== here ? h('a', { href: href('run', log.run_id), title: `Run ${log.run_id}` }, time) : time;
}

/** Table rows of log records; `here` is the run whose page lists them, if any. */
export function logRows(logs: Log[], here?: string) {
  return logs.map((log) => {
    const { word, range } = severityOf(log);
    return [
      timeCell(log, here),
      h('span', { class: `severity severity-${range}` }, word),
      log.pipeline ? h('a', { href: href('pipeline', log.pipeline) }, log.pipeline) : '–',
      log.stage ?? '–',
      messageCell(log),
    ];
  });
}

export const mountLogs: Mount = (route: Route) => {
  const params = filterParams(route, FILTERS);
  const tail = route.params.get('tail') === '1';
  const results = h('div');
  const more = h('div');
  let shown: Log[] = [];

  const go = (changes: Record<string, string>) => {
    location.hash = href('logs', '', { ...params, tail: tail ? '1' : '', ...changes });
  };
  const form = filterForm(
    FILTERS,
    go,
    filterField('q', 'Search', params.q),
    filterField('pipeline', 'Pipeline', params.pipeline, 'text'),
    filterField('stage', 'Stage', params.stage, 'text'),
    filterField('run_id', 'Run', params.run_id, 'text'),
    h(
      'label',
      null,
      'Severity at least',
      h('select', { name: 'severity_min' }, SEVERITIES.map((s) => h('option', { value: s, selected: s === params.severity_min.toUpperCase() }, s || 'any'))),
    ),
    h('button', { type: 'submit' }, 'Search'),
    h(
      'label',
      { class: 'inline' },
      h('input', { type: 'checkbox', checked: tail, onchange: (event: Event) => go({ tail: (event.target as HTMLInputElement).checked ? '1' : '' }) }),
      ' Live tail',
    ),
  );

  const render = (page: LogPage, append: boolean) => {
    shown = append ? [...shown, ...page.items] : page.items;
    fill(results, table('Log records, newest first', LOG_HEADERS, logRows(shown), { empty: 'No log record matches.', className: 'logs' }));
    fill(
      more,
      page.next_cursor
        ? h('button', { type: 'button', onclick: () => void getJson('/api/v1/logs', { ...params, cursor: page.next_cursor }).then((next) => render(next, true)) }, 'Older records')
        : shown.length
          ? h('p', { class: 'empty' }, 'No older records.')
          : null,
    );
  };

  return {
    title: 'Logs',
    element: h('div', null, h('h1', null, 'Logs'), form, results, more),
    intervalMs: tail ? TAIL_MS : null,
    async refresh() {
      render(await getJson('/api/v1/logs', params), false);
    },
  };
};
