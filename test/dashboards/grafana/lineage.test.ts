/**
 * The Lineage dashboard's SQL (dashboards/grafana/lineage.ts) on lineage written through the real write
 * path (prepare + writeBatch, records naming pipemon.lineage.inputs/outputs and db.* targets), with
 * Grafana's variables expanded as its PostgreSQL datasource does: the node graph's nodes and edges (every
 * edge between nodes of the frame, pipelines coloured by status, datasets by freshness) and the dataset
 * freshness table, where a write counts only when its run, or its stage, did not fail.
 */
import { describe, expect, it } from 'vitest';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { buildDashboards } from '../../../dashboards/grafana/dashboards.js';
import { ALL, type Selection, type VariableState } from '../../../dashboards/grafana/interpolate.js';
import { UID } from '../../../dashboards/grafana/links.js';
import { sqlQueries } from '../../../dashboards/grafana/queries.js';
import { expandSql } from '../../../dashboards/grafana/sql-macros.js';
import { decodeLogsJson } from '../../../receiver/decode/otlp-json.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import type { Tenant } from '../../../receiver/model/records.js';
import type { Database } from '../../../receiver/storage/database.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { listDatasets } from '../../../receiver/query/datasets.js';
import { backends, freshDatabase } from '../../helpers/backends.js';
import { otlpJsonLogs, type JsonRecord, type Value } from '../../helpers/otlp-json.js';

const HOUR = 3_600_000;
const NOW = Date.now();
const DW = 'postgres://dw:5432';
const SHOP_ORDERS = 'postgres://shop:5432/shop.public.orders';
const ORDERS = `${DW}/dw.public.orders`;
const REPORT = `${DW}/dw.public.report`;
const EVENTS_RAW = `${DW}/dw.public.events_raw`;
const EVENTS_CLEAN = `${DW}/dw.public.events_clean`;
const ADHOC = `${DW}/dw.public.adhoc`;
const CUSTOMERS = `${DW}/dw.public.customers`;
const EXPORTS = `${DW}/dw.public.exports`;

type Attributes = Record<string, Value>;

interface StageSpec {
  name: string;
  attributes: Attributes;
  fails?: boolean;
}

interface RunSpec {
  pipeline: string;
  runId: string;
  /** When it ended. */
  agoHours: number;
  fails?: boolean;
  /** Lineage the run itself names (not a stage). */
  attributes?: Attributes;
  stages?: StageSpec[];
  /** Declared expected interval; none for a pipeline the late rule cannot judge. */
  intervalSeconds?: number;
}

/** A db.* target: one more output of the record that names it. */
const target = (collection: string): Attributes => ({ [ATTR.dbNamespace]: DW, [ATTR.dbCollection]: collection });

/** The records an SDK sends for a run: start, each stage's start and end, end, a minute apart, ending `agoHours` ago. */
function runRecords(run: RunSpec): JsonRecord[] {
  const base: Attributes = {
    [ATTR.pipelineName]: run.pipeline,
    [ATTR.runId]: run.runId,
    ...(run.intervalSeconds && { [ATTR.expectedIntervalSeconds]: run.intervalSeconds }),
  };
  const stages = run.stages ?? [];
  const end = NOW - run.agoHours * HOUR;
  const at = (minute: number) => end - (2 * stages.length + 1 - minute) * 60_000;
  const records: JsonRecord[] = [{ eventName: EVENT.runStart, timeMs: at(0), attributes: { ...base, ...run.attributes } }];
  stages.forEach((stage, i) => {
    const attributes = { ...base, [ATTR.stageName]: stage.name, [ATTR.stageRunId]: `${run.runId}-${stage.name}`, ...stage.attributes };
    records.push(
      { eventName: EVENT.stageStart, timeMs: at(2 * i + 1), attributes },
      { eventName: EVENT.stageEnd, timeMs: at(2 * i + 2), attributes: { ...attributes, [ATTR.stageResult]: stage.fails ? 'failure' : 'success', [ATTR.rowsWritten]: 10 } },
    );
  });
  records.push({ eventName: EVENT.runEnd, timeMs: end, attributes: { ...base, ...run.attributes, [ATTR.runResult]: run.fails ? 'failure' : 'success' } });
  return records;
}

const load = (runId: string, agoHours: number): RunSpec => ({
  pipeline: 'orders-load',
  runId,
  agoHours,
  intervalSeconds: 3600,
  stages: [{ name: 'load', attributes: { [ATTR.lineageInputs]: SHOP_ORDERS, ...target('dw.public.orders') } }],
});

/**
 * acme: orders-load keeps dw.public.orders fresh; orders-report reads it and names its output on the run,
 * whose latest run failed (its write does not count: the report is stale); events-sync's latest run failed
 * in its second stage, after its first wrote (raw is fresh, clean is stale); adhoc-load declares no interval
 * and ran once (unknown); customers has two writers, the daily one wrote last (fresh by its interval, though
 * the hourly one is late); exports' only run failed (never written: stale). globex: a pipeline of the same
 * name writing a dataset of the same name.
 */
const ACME: RunSpec[] = [
  load('l-1', 3),
  load('l-2', 1),
  ...[
    { runId: 'r-1', agoHours: 5 },
    { runId: 'r-2', agoHours: 0.5, fails: true },
  ].map((run) => ({ ...run, pipeline: 'orders-report', intervalSeconds: 3600, attributes: { [ATTR.lineageInputs]: ORDERS, [ATTR.lineageOutputs]: REPORT } })),
  ...[
    { runId: 'e-1', agoHours: 5, failsClean: false },
    { runId: 'e-2', agoHours: 1, failsClean: true },
  ].map(({ runId, agoHours, failsClean }) => ({
    pipeline: 'events-sync',
    runId,
    agoHours,
    intervalSeconds: 3600,
    fails: failsClean,
    stages: [
      { name: 'raw', attributes: target('dw.public.events_raw') },
      { name: 'clean', attributes: { [ATTR.lineageInputs]: EVENTS_RAW, ...target('dw.public.events_clean') }, fails: failsClean },
    ],
  })),
  { pipeline: 'adhoc-load', runId: 'a-1', agoHours: 1, attributes: { [ATTR.lineageOutputs]: ADHOC } },
  { pipeline: 'customers-hourly', runId: 'c-1', agoHours: 5, intervalSeconds: 3600, attributes: { [ATTR.lineageOutputs]: CUSTOMERS } },
  { pipeline: 'customers-daily', runId: 'd-1', agoHours: 3, intervalSeconds: 86_400, attributes: { [ATTR.lineageOutputs]: CUSTOMERS } },
  { pipeline: 'exports', runId: 'x-1', agoHours: 1, intervalSeconds: 3600, fails: true, attributes: { [ATTR.lineageOutputs]: EXPORTS } },
];
const GLOBEX: RunSpec[] = [load('g-1', 1)];

async function write(db: Database, tenant: Tenant, runs: RunSpec[]) {
  const logs = decodeLogsJson(otlpJsonLogs({ 'service.name': 'etl' }, runs.flatMap(runRecords)));
  await db.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepare(tenant, logs, [])]));
}

async function seed(db: Database) {
  const { rows } = await db.query<{ tenant_id: number; name: string }>(`INSERT INTO tenants (name) VALUES ('acme'), ('globex') RETURNING tenant_id, name`);
  const [acme, globex] = rows.map((row) => ({ id: row.tenant_id, name: row.name }));
  await write(db, acme!, ACME);
  await write(db, globex!, GLOBEX);
  return { acme: acme!.id, globex: globex!.id };
}

const dashboard = (): Dashboard => buildDashboards().find((d) => d.uid === UID.lineage)!;

/** Runs the panel's query `refId` as Grafana would, with these tenants and pipelines selected. */
async function query(db: Database, panel: string, refId: string, tenant: Selection, pipeline: Selection): Promise<Record<string, any>[]> {
  const found = sqlQueries([dashboard()]).find((q) => q.panel === panel && q.refId === refId);
  expect(found, `${panel} / ${refId}`).toBeDefined();
  const [tenantVariable, pipelineVariable] = dashboard().templating.list!;
  const variables: VariableState[] = [
    { definition: tenantVariable!, selection: tenant, options: ['acme', 'globex'] },
    { definition: pipelineVariable!, selection: pipeline },
  ];
  const sql = expandSql(found!.rawSql, { from: new Date(NOW - 24 * HOUR), to: new Date(NOW), intervalMs: 60_000, variables });
  return (await db.query<Record<string, any>>(sql)).rows;
}

const graph = async (db: Database, tenant: Selection, pipeline: Selection) => ({
  nodes: await query(db, 'Lineage graph', 'nodes', tenant, pipeline),
  edges: await query(db, 'Lineage graph', 'edges', tenant, pipeline),
});

const freshness = async (db: Database, tenant: Selection, pipeline: Selection) => query(db, 'Dataset freshness', 'A', tenant, pipeline);

describe('the Lineage dashboard', () => {
  it('draws its graph with Grafana\'s node graph from two frames, named by their refIds', () => {
    const panel = (dashboard().panels as { type: string; title?: string; panels?: unknown[]; targets?: { refId: string }[] }[]).find((p) => p.title === 'Lineage graph')!;
    expect(panel.type).toBe('nodeGraph');
    expect(panel.targets!.map((t) => t.refId)).toEqual(['nodes', 'edges']);
  });
});

describe.each(backends())('the Lineage dashboard on $name', (backend) => {
  it('shows every pipeline and dataset of the tenant as nodes, and their reads and writes as edges between them', async () => {
    const db = await freshDatabase(backend);
    const { acme } = await seed(db);
    const { nodes, edges } = await graph(db, ['acme'], ALL);
    // Grafana finds the frames' fields by these names (lowercased); every edge must join two nodes of the frame.
    expect(Object.keys(nodes[0]!)).toEqual(['id', 'title', 'subtitle', 'mainstat', 'color', 'detail__Last success', 'detail__Upstream']);
    expect(Object.keys(edges[0]!)).toEqual(['id', 'source', 'target', 'mainstat', 'secondarystat', 'detail__Last run']);
    const ids = new Set(nodes.map((node) => node.id));
    expect(ids.size).toBe(nodes.length);
    for (const edge of edges) expect([ids.has(edge.source), ids.has(edge.target)], edge.id).toEqual([true, true]);
    expect(new Set(edges.map((edge) => edge.id)).size).toBe(edges.length);

    const byTitle = Object.fromEntries(nodes.map((node) => [node.title, node]));
    expect(Object.fromEntries(nodes.map((node) => [node.title, [node.subtitle, node.mainstat]]))).toEqual({
      'orders-load': ['pipeline', 'ok'],
      'orders-report': ['pipeline', 'failing'],
      'events-sync': ['pipeline', 'failing'],
      'adhoc-load': ['pipeline', 'ok'],
      'shop.public.orders': ['postgres://shop:5432', 'unknown'],
      'dw.public.orders': [DW, 'fresh'],
      'dw.public.report': [DW, 'stale'],
      'dw.public.events_raw': [DW, 'fresh'],
      'dw.public.events_clean': [DW, 'stale'],
      'dw.public.adhoc': [DW, 'unknown'],
      'customers-hourly': ['pipeline', 'late'],
      'customers-daily': ['pipeline', 'ok'],
      'dw.public.customers': [DW, 'fresh'],
      exports: ['pipeline', 'failing'],
      'dw.public.exports': [DW, 'stale'],
    });
    // Coloured as the tables colour their statuses: failing red, ok and fresh green, stale orange, unknown grey.
    const colours = ['orders-report', 'orders-load', 'customers-hourly', 'dw.public.report', 'dw.public.adhoc'].map((title) => byTitle[title]!.color);
    expect(colours).toEqual(['#F2495C', '#73BF69', '#FF9830', '#FF9830', '#8E8E8E']);
    // Upstream pipelines (contract/lineage-sql.ts) and a dataset's writers in the node's details.
    expect(byTitle['orders-report']!['detail__Upstream']).toBe('orders-load');
    expect(byTitle['dw.public.orders']!['detail__Upstream']).toBe('orders-load');

    const node = (title: string) => byTitle[title]!.id;
    expect(edges.map((edge) => [edge.source, edge.target, edge.mainstat]).sort()).toEqual(
      [
        [node('shop.public.orders'), node('orders-load'), ''],
        [node('orders-load'), node('dw.public.orders'), '10 rows'],
        [node('dw.public.orders'), node('orders-report'), ''],
        [node('orders-report'), node('dw.public.report'), ''],
        [node('events-sync'), node('dw.public.events_raw'), '10 rows'],
        [node('dw.public.events_raw'), node('events-sync'), ''],
        [node('events-sync'), node('dw.public.events_clean'), '10 rows'],
        [node('adhoc-load'), node('dw.public.adhoc'), ''],
        [node('customers-hourly'), node('dw.public.customers'), ''],
        [node('customers-daily'), node('dw.public.customers'), ''],
        [node('exports'), node('dw.public.exports'), ''],
      ].sort(),
    );
    expect(node('orders-load')).toBe(`pipeline:${acme}:orders-load`);
  });

  it('shows only the selected pipelines, the datasets they read and write, and the pipelines that read or write those', async () => {
    const db = await freshDatabase(backend);
    await seed(db);
    const { nodes, edges } = await graph(db, ['acme'], ['orders-report']);
    expect(nodes.map((node) => node.title).sort()).toEqual(['dw.public.orders', 'dw.public.report', 'orders-load', 'orders-report']);
    expect(edges).toHaveLength(3);
    const table = await freshness(db, ['acme'], ['orders-report']);
    expect(table.map((row) => row.Dataset)).toEqual([REPORT, ORDERS]);
  });

  it('keeps each tenant\'s graph its own, and names the tenant where several are selected', async () => {
    const db = await freshDatabase(backend);
    const { acme, globex } = await seed(db);
    expect((await graph(db, ['globex'], ALL)).nodes.map((node) => [node.id.startsWith('pipeline:') ? node.id : 'dataset', node.title]).sort()).toEqual([
      ['dataset', 'dw.public.orders'],
      ['dataset', 'shop.public.orders'],
      [`pipeline:${globex}:orders-load`, 'orders-load'],
    ]);
    const both = await graph(db, ['acme', 'globex'], ['orders-load']);
    expect(both.nodes.filter((node) => node.subtitle === 'pipeline').map((node) => [node.id, node.title]).sort()).toEqual([
      [`pipeline:${acme}:orders-load`, 'orders-load (acme)'],
      [`pipeline:${acme}:orders-report`, 'orders-report (acme)'],
      [`pipeline:${globex}:orders-load`, 'orders-load (globex)'],
    ]);
    expect(new Set(both.nodes.map((node) => node.id)).size).toBe(both.nodes.length);
  });

  it('judges each dataset fresh only by writes whose run or stage did not fail, stale first', async () => {
    const db = await freshDatabase(backend);
    await seed(db);
    const table = await freshness(db, ['acme'], ALL);
    const rows = table.map((row) => ({
      dataset: row.Dataset,
      freshness: row.Freshness,
      writers: row.Writers,
      writer: row.Writer,
      run: row.Run,
      interval: row['Expected interval'],
      hoursSince: row['Since write'] === null ? null : Math.round(row['Since write'] / 3600),
    }));
    expect(rows).toEqual([
      // Its only run failed: never written.
      { dataset: EXPORTS, freshness: 'stale', writers: 'exports', writer: 'exports', run: null, interval: 3600, hoursSince: null },
      // Its stage failed (the run too): the last write that counts is the run before, five hours ago, past two hours.
      { dataset: EVENTS_CLEAN, freshness: 'stale', writers: 'events-sync', writer: 'events-sync', run: 'e-1', interval: 3600, hoursSince: 5 },
      // Its latest run failed (the run wrote it, not a stage): five hours too, a minute later.
      { dataset: REPORT, freshness: 'stale', writers: 'orders-report', writer: 'orders-report', run: 'r-1', interval: 3600, hoursSince: 5 },
      // Read only: no writer to judge it by.
      { dataset: SHOP_ORDERS, freshness: 'unknown', writers: null, writer: null, run: null, interval: null, hoursSince: null },
      // Written, but its writer declares no interval and has too few runs to infer one.
      { dataset: ADHOC, freshness: 'unknown', writers: 'adhoc-load', writer: 'adhoc-load', run: 'a-1', interval: null, hoursSince: 1 },
      // The last write decides: the daily writer's, three hours ago, within two days.
      { dataset: CUSTOMERS, freshness: 'fresh', writers: 'customers-daily, customers-hourly', writer: 'customers-daily', run: 'd-1', interval: 86_400, hoursSince: 3 },
      // Its stage succeeded in the run that failed after it: the write counts.
      { dataset: EVENTS_RAW, freshness: 'fresh', writers: 'events-sync', writer: 'events-sync', run: 'e-2', interval: 3600, hoursSince: 1 },
      { dataset: ORDERS, freshness: 'fresh', writers: 'orders-load', writer: 'orders-load', run: 'l-2', interval: 3600, hoursSince: 1 },
    ]);
  });

  it('judges each dataset as the API judges it (contract/pipeline-facts.ts freshnessOf)', async () => {
    const db = await freshDatabase(backend);
    const { acme } = await seed(db);
    const panel = Object.fromEntries((await freshness(db, ['acme'], ALL)).map((row) => [row.Dataset, [row.Freshness, row.Writer, row.Run]]));
    const api = (await listDatasets(db, acme, {}, 100)).items;
    expect(Object.fromEntries(api.map((d) => [d.dataset, [d.freshness, d.last_write?.pipeline ?? (d.freshness === 'unknown' ? null : d.writers[0]), d.last_write?.run_id ?? null]]))).toEqual(panel);
    expect(new Set(api.map((d) => d.freshness))).toEqual(new Set(['fresh', 'stale', 'unknown']));
  });

  it('returns no rows, and no error, before any lineage is stored', async () => {
    const db = await freshDatabase(backend);
    await db.query(`INSERT INTO tenants (name) VALUES ('acme')`);
    expect(await graph(db, ['acme'], ALL)).toEqual({ nodes: [], edges: [] });
    expect(await freshness(db, [], ALL)).toEqual([]);
  });
});
