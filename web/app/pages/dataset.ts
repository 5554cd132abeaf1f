/**
 * One dataset: its freshness and against whose expected interval, who writes and reads it, its last
 * write and its run, the rows of each write over time, its schema from its OpenLineage facets, and the
 * lineage graph around it.
 */
import { getJson } from '../lib/api.js';
import { writesChart, writeWord } from '../charts/history.js';
import { fill, h } from '../lib/dom.js';
import { badge, count, duration, plain, when } from '../lib/format.js';
import { href, type Route } from '../lib/router.js';
import type { DatasetDetail, DatasetEdge, DatasetWrite } from '../lib/types.js';
import { freshnessCell, pipelineLink, REFRESH_MS, section, table, tiles, type Mount } from '../lib/view.js';
import { lineageView } from './lineage.js';

const WRITES = 100;

function lastWrite(d: DatasetDetail) {
  const write = d.last_write;
  if (!write) return 'none yet';
  const stage = write.stage ? `, stage ${write.stage}` : '';
  return h('span', null, h('a', { href: href('run', write.run_id), 'data-run': write.run_id }, when(write.at)), ' by ', pipelineLink(write.pipeline), stage);
}

const edgeRows = (edges: DatasetEdge[]) =>
  edges.map((edge) => [
    pipelineLink(edge.pipeline),
    edge.stage ?? '–',
    edge.last_run_id ? h('a', { href: href('run', edge.last_run_id) }, when(edge.last_at)) : h('span', null, when(edge.last_at), ' (declared, no run)'),
    count(edge.rows),
    when(edge.first_at),
  ]);

const writeRows = (writes: DatasetWrite[]) =>
  writes.map((write) => [
    h('a', { href: href('run', write.run_id) }, when(write.at)),
    pipelineLink(write.pipeline),
    write.stages.join(', ') || '–',
    count(write.rows),
    badge(writeWord(write)),
  ]);

/** A column's input fields as `dataset.field`, from the columnLineage facet as OpenLineage shapes it; anything else as sent. */
function inputsOf(column: unknown): string {
  const fields = (column as { inputFields?: { namespace?: string; name?: string; field?: string }[] } | null)?.inputFields;
  if (!Array.isArray(fields)) return plain(column);
  return fields.map((f) => `${f.namespace ?? ''}/${f.name ?? ''}.${f.field ?? ''}`).join(', ');
}

function schemaPart(d: DatasetDetail) {
  const columns = Object.entries(d.column_lineage ?? {});
  return [
    table('Schema fields', ['Field', 'Type', 'Description'], d.schema_fields.map((f) => [h('code', null, f.name), f.type ?? '–', f.description ?? '–']), {
      empty: 'No schema facet: OpenLineage producers (dbt, Spark, Airflow) send one with the dataset.',
    }),
    columns.length ? table('Column lineage', ['Column', 'Made from'], columns.map(([name, column]) => [h('code', null, name), h('span', { class: 'details' }, inputsOf(column))])) : null,
  ];
}

export const mountDataset: Mount = (route: Route) => {
  const id = route.id;
  const heading = h('h1', null, `Dataset ${id}`);
  const header = h('div');
  const rows = h('div');
  const writers = h('div');
  const readers = h('div');
  const writes = h('div');
  const schema = h('div');
  const graph = lineageView({ dataset: id }, route.params, (changes) => href('dataset', id, changes));
  const element = h(
    'div',
    null,
    h('p', { class: 'crumbs' }, h('a', { href: href('datasets') }, 'Datasets'), ' / '),
    heading,
    header,
    section('Written by', writers),
    section('Read by', readers),
    section(`Rows written (latest ${WRITES} writes)`, rows),
    section(`Writes (latest ${WRITES})`, writes),
    section('Schema', schema),
    section('Lineage', graph.element),
  );
  return {
    title: `Dataset ${id}`,
    element,
    intervalMs: REFRESH_MS,
    async refresh() {
      const d = await getJson('/api/v1/datasets/{datasetId}', { datasetId: id, writes: WRITES });
      fill(heading, d.dataset);
      document.title = `${d.dataset} · pipemon`;
      fill(
        header,
        tiles([
          ['Freshness', freshnessCell(d), 'wide'],
          ['Namespace', d.namespace],
          ['Name', d.name],
          ['Last successful write', lastWrite(d), 'wide'],
          ['Its rows', count(d.last_write?.rows)],
          ['Expected every', duration(d.expected_interval_seconds)],
          ['First seen', when(d.first_seen)],
          ['Last seen', when(d.last_seen)],
        ]),
      );
      fill(writers, table('Written by', ['Pipeline', 'Stage', 'Last run', 'Its rows', 'First seen'], edgeRows(d.written_by), { empty: 'No pipeline writes it.' }));
      fill(readers, table('Read by', ['Pipeline', 'Stage', 'Last run', 'Its rows', 'First seen'], edgeRows(d.read_by), { empty: 'No pipeline reads it.' }));
      fill(rows, d.writes.length ? writesChart(d.writes) : h('p', { class: 'empty' }, 'No writes yet.'));
      fill(writes, table('Writes, newest first', ['When', 'Pipeline', 'Stages', 'Rows', 'Result'], writeRows(d.writes), { empty: 'No writes yet.', className: 'writes' }));
      fill(schema, schemaPart(d));
      await graph.refresh(() => d.dataset);
    },
  };
};
