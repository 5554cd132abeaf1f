/**
 * Datasets: every dataset the pipelines read and write, by name, with its freshness, who writes and
 * reads it and its last write; filtered as the API filters them (part of the name, the namespace, a
 * pipeline), in the URL, and paged on request.
 */
import { getJson } from '../lib/api.js';
import { fill, h } from '../lib/dom.js';
import { count, when } from '../lib/format.js';
import { href, type Route } from '../lib/router.js';
import type { Dataset, DatasetPage } from '../lib/types.js';
import { datasetLink, filterField, filterForm, filterParams, freshnessCell, linkList, pipelineLink, table, type Mount } from '../lib/view.js';

const FILTERS = ['q', 'namespace', 'pipeline'] as const;
const PAGE = 100;

function lastWrite(d: Dataset) {
  const write = d.last_write;
  if (!write) return '–';
  return h('span', null, h('a', { href: href('run', write.run_id) }, when(write.at)), ` by ${write.pipeline}${write.rows === null ? '' : `, ${count(write.rows)} rows`}`);
}

const row = (d: Dataset) => [
  freshnessCell(d),
  datasetLink(d.id, d.dataset),
  d.namespace,
  linkList(d.writers.map(pipelineLink)),
  linkList(d.readers.map(pipelineLink)),
  lastWrite(d),
];

export const mountDatasets: Mount = (route: Route) => {
  const params = filterParams(route, FILTERS);
  // A page size in the URL (`limit=`, as the API takes it) is kept; the default is a page of PAGE.
  const limit = Number(route.params.get('limit') ?? PAGE);
  const results = h('div');
  const more = h('div');
  let shown: Dataset[] = [];
  const form = filterForm(
    FILTERS,
    (values) => {
      location.hash = href('datasets', '', values);
    },
    filterField('q', 'Name contains', params.q),
    filterField('namespace', 'Namespace', params.namespace, 'text'),
    filterField('pipeline', 'Read or written by pipeline', params.pipeline, 'text'),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const render = (page: DatasetPage, append: boolean) => {
    shown = append ? [...shown, ...page.items] : page.items;
    fill(
      results,
      table('Datasets, by name', ['Freshness', 'Dataset', 'Namespace', 'Written by', 'Read by', 'Last successful write'], shown.map(row), {
        empty: 'No dataset matches. Pipelines name what they read and write with inputs and outputs (or a target); OpenLineage producers send them.',
        className: 'datasets',
      }),
    );
    fill(
      more,
      page.next_cursor
        ? h('button', { type: 'button', onclick: () => void getJson('/api/v1/datasets', { ...params, limit, cursor: page.next_cursor }).then((next) => render(next, true)) }, 'More datasets')
        : null,
    );
  };
  return {
    title: 'Datasets',
    element: h('div', null, h('h1', null, 'Datasets'), form, results, more),
    intervalMs: null,
    async refresh() {
      render(await getJson('/api/v1/datasets', { ...params, limit }), false);
    },
  };
};
