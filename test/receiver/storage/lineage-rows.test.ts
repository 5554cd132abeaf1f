/**
 * Lineage kept by the write path (receiver/storage/lineage-rows.ts), fed real records through prepare and
 * writeBatch: the same rows whatever order the records arrive in, a resent record adding nothing, each
 * tenant's datasets its own, and migration 8's backfill finding the same rows in the records stored before.
 */
import { describe, expect, it } from 'vitest';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { decodeLineageEvent } from '../../../receiver/decode/openlineage.js';
import { decodeLogsJson } from '../../../receiver/decode/otlp-json.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import type { LogRow, Tenant } from '../../../receiver/model/records.js';
import type { Database } from '../../../receiver/storage/database.js';
import { backfillLineage } from '../../../receiver/storage/lineage-backfill.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { backends, freshDatabase } from '../../helpers/backends.js';
import { facet, jobEvent, runEvent } from '../../helpers/openlineage.js';
import { otlpJsonLogs, type JsonRecord } from '../../helpers/otlp-json.js';

const T0 = Date.UTC(2031, 6, 1, 8);
const DEFAULT: Tenant = { id: 1, name: 'default' };
const OTHER: Tenant = { id: 2, name: 'other' };
const iso = (ms: number) => new Date(ms).toISOString();

/** An SDK run of `orders-load`: its stage reads a source and writes a target (as `run.stage(..., { source, target })` sends them). */
function sdkRecords(runId: string, atMs: number, rows: number): LogRow[] {
  const run = { [ATTR.pipelineName]: 'orders-load', [ATTR.runId]: runId };
  const stage = { ...run, [ATTR.stageName]: 'load', [ATTR.stageRunId]: `${runId}-load`, [ATTR.lineageInputs]: 'postgres://shop:5432/shop.public.orders' };
  const target = { [ATTR.dbNamespace]: 'postgres://dw:5432', [ATTR.dbCollection]: 'dw.public.orders' };
  const records: JsonRecord[] = [
    { eventName: EVENT.runStart, timeMs: atMs, attributes: run },
    { eventName: EVENT.stageStart, timeMs: atMs + 1, attributes: { ...stage, ...target } },
    { eventName: EVENT.stageEnd, timeMs: atMs + 2, attributes: { ...stage, ...target, [ATTR.stageResult]: 'success', [ATTR.rowsRead]: rows, [ATTR.rowsWritten]: rows } },
    { eventName: EVENT.runEnd, timeMs: atMs + 3, attributes: { ...run, [ATTR.runResult]: 'success' } },
  ];
  return decodeLogsJson(otlpJsonLogs({ 'service.name': 'orders-etl' }, records));
}

/** A dbt-like OpenLineage run that reads what orders-load writes, with a schema facet on its output. */
function openLineageRecords(runId: string, atMs: number): LogRow[] {
  const common = { runId, namespace: 'dbt', name: 'finance.daily_report', inputs: [{ namespace: 'postgres://dw:5432', name: 'dw.public.orders' }] };
  const start = runEvent({ ...common, eventType: 'START', eventTime: iso(atMs) });
  const complete = runEvent({ ...common, eventType: 'COMPLETE', eventTime: iso(atMs + 5), outputs: [{ namespace: 'postgres://dw:5432', name: 'dw.public.daily_report', rowCount: 31, size: 4096 }] });
  complete.outputs[0].facets = { schema: facet('SchemaDatasetFacet', { fields: [{ name: 'day', type: 'date' }] }) };
  return [start, complete, jobEvent('finance.static_job')].map((event) => decodeLineageEvent(event).row);
}

async function write(db: Database, tenant: Tenant, logs: LogRow[]) {
  await db.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepare(tenant, logs, [])]));
}

async function lineage(db: Database) {
  const datasets = await db.query(`SELECT tenant_id, dataset, namespace, name, first_seen, last_seen, facets FROM datasets ORDER BY tenant_id, dataset`);
  const uses = await db.query(
    `SELECT r.tenant_id, pipeline, run_id, stage_run_id, stage, direction, d.dataset, first_at, at, rows::int, bytes::int
       FROM run_datasets r JOIN datasets d USING (tenant_id, dataset_id) ORDER BY 1, 2, 3, 4, 6, 7`,
  );
  const edges = await db.query(
    `SELECT e.tenant_id, pipeline, stage, direction, d.dataset, first_at, last_at, last_run_id, rows::int, bytes::int
       FROM lineage_edges e JOIN datasets d USING (tenant_id, dataset_id) ORDER BY 1, 2, 3, 4, 5`,
  );
  return { datasets: datasets.rows, uses: uses.rows, edges: edges.rows };
}

describe.each(backends())('lineage rows on $name', (backend) => {
  const records = () => [...sdkRecords('r-1', T0, 100), ...sdkRecords('r-2', T0 + 3_600_000, 120), ...openLineageRecords('0190b4a1-0000-7000-8000-000000000001', T0 + 60_000)];

  it('keeps datasets, each run’s reads and writes and the edges between them, from SDK and OpenLineage records alike', async () => {
    const db = await freshDatabase(backend);
    await write(db, DEFAULT, records());
    const { datasets, uses, edges } = await lineage(db);
    expect(datasets.map((d) => [d.dataset, d.namespace, d.name])).toEqual([
      ['postgres://db:5432/dw.public.orders', 'postgres://db:5432', 'dw.public.orders'],
      ['postgres://db:5432/shop.public.orders', 'postgres://db:5432', 'shop.public.orders'],
      ['postgres://dw:5432/dw.public.daily_report', 'postgres://dw:5432', 'dw.public.daily_report'],
      ['postgres://dw:5432/dw.public.orders', 'postgres://dw:5432', 'dw.public.orders'],
      ['postgres://shop:5432/shop.public.orders', 'postgres://shop:5432', 'shop.public.orders'],
    ]);
    expect(datasets[2].facets).toMatchObject({ schema: { fields: [{ name: 'day', type: 'date' }] } });
    // The static JobEvent names datasets of another job: its edges have no run.
    expect(edges.map((e) => [e.pipeline, e.stage, e.direction, e.dataset, e.last_run_id, e.rows])).toEqual([
      ['airflow/finance.static_job', '', 'read', 'postgres://db:5432/shop.public.orders', '', null],
      ['airflow/finance.static_job', '', 'write', 'postgres://db:5432/dw.public.orders', '', null],
      ['dbt/finance.daily_report', '', 'read', 'postgres://dw:5432/dw.public.orders', '0190b4a1-0000-7000-8000-000000000001', null],
      ['dbt/finance.daily_report', '', 'write', 'postgres://dw:5432/dw.public.daily_report', '0190b4a1-0000-7000-8000-000000000001', 31],
      ['orders-load', 'load', 'read', 'postgres://shop:5432/shop.public.orders', 'r-2', 120],
      ['orders-load', 'load', 'write', 'postgres://dw:5432/dw.public.orders', 'r-2', 120],
    ]);
    expect(edges.find((e) => e.pipeline === 'orders-load' && e.direction === 'write')).toMatchObject({ first_at: new Date(T0 + 1), last_at: new Date(T0 + 3_600_002) });
    expect(uses.filter((u) => u.pipeline === 'orders-load').map((u) => [u.run_id, u.stage, u.direction, u.rows, (u.first_at as Date).getTime() - T0])).toEqual([
      ['r-1', 'load', 'read', 100, 1],
      ['r-1', 'load', 'write', 100, 1],
      ['r-2', 'load', 'read', 120, 3_600_001],
      ['r-2', 'load', 'write', 120, 3_600_001],
    ]);
    expect(uses.find((u) => u.pipeline === 'dbt/finance.daily_report' && u.direction === 'write')).toMatchObject({ rows: 31, bytes: 4096 });
  });

  it('comes out the same in every arrival order, and a resent record adds nothing', async () => {
    const all = records();
    const inOrder = await freshDatabase(backend);
    for (const record of all) await write(inOrder, DEFAULT, [record]);
    const reversed = await freshDatabase(backend);
    for (const record of [...all].reverse()) await write(reversed, DEFAULT, [record]);
    await write(reversed, DEFAULT, all);
    const [a, b] = [await lineage(inOrder), await lineage(reversed)];
    expect(b).toEqual(a);
    expect(a.edges).toHaveLength(6);
  });

  it('lets concurrent transactions write the same datasets and edges without a deadlock, converging as one after another would', async () => {
    const runs = Array.from({ length: 12 }, (_, i) => sdkRecords(`c-${String(i).padStart(2, '0')}`, T0 + i * 60_000, 10 + i));
    // Each batch names the shared datasets with its runs in another order, so that unsorted writes would lock them crosswise.
    const batches = runs.map((_, i) => [...runs.slice(i), ...runs.slice(0, i)].slice(0, 3).flat());
    const together = await freshDatabase(backend);
    await Promise.all(batches.map((logs) => write(together, DEFAULT, logs)));
    const oneByOne = await freshDatabase(backend);
    for (const logs of batches) await write(oneByOne, DEFAULT, logs);
    const [a, b] = [await lineage(together), await lineage(oneByOne)];
    expect(a).toEqual(b);
    expect(a.edges.map((e) => [e.direction, e.last_run_id, e.rows])).toEqual([
      ['read', 'c-11', 21],
      ['write', 'c-11', 21],
    ]);
  });

  it('keeps each tenant’s datasets its own', async () => {
    const db = await freshDatabase(backend);
    await write(db, DEFAULT, sdkRecords('r-1', T0, 100));
    await write(db, OTHER, sdkRecords('r-1', T0, 7));
    const { datasets, edges } = await lineage(db);
    expect(datasets.map((d) => [d.tenant_id, d.dataset])).toEqual([
      [1, 'postgres://dw:5432/dw.public.orders'],
      [1, 'postgres://shop:5432/shop.public.orders'],
      [2, 'postgres://dw:5432/dw.public.orders'],
      [2, 'postgres://shop:5432/shop.public.orders'],
    ]);
    expect(edges.map((e) => [e.tenant_id, e.direction, e.rows])).toEqual([
      [1, 'read', 100],
      [1, 'write', 100],
      [2, 'read', 7],
      [2, 'write', 7],
    ]);
  });

  it('backfills the lineage of records stored before migration 8 as the write path keeps it', async () => {
    const db = await freshDatabase(backend);
    await write(db, DEFAULT, records());
    const kept = await lineage(db);
    await db.query('TRUNCATE datasets, run_datasets, lineage_edges');
    await db.transaction((tx) => backfillLineage(tx));
    const backfilled = await lineage(db);
    // Identity ids differ after a TRUNCATE; everything read by name is the same.
    expect(backfilled).toEqual(kept);
  });
});
