/**
 * Datasets (receiver/query/datasets.ts) on real PostgreSQL, fed through the write path: the list by name
 * with its filters and keyset pages, who writes and reads each, the last write that happened (a failed
 * stage's is not one), freshness by the writer's expected interval, and one dataset's detail with its
 * edges, facets and writes over time; another tenant's datasets never appear.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeLineageEvent } from '../../../receiver/decode/openlineage.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import type { Tenant } from '../../../receiver/model/records.js';
import type { Dataset } from '../../../receiver/query/api-types.js';
import { getDataset, listDatasets, type DatasetFilter } from '../../../receiver/query/datasets.js';
import { CursorError } from '../../../receiver/query/pages.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { backends, databaseFor } from '../../helpers/backends.js';
import { HOUR, NOW, twoTenants } from '../../helpers/lineage-graph.js';
import { facet, runEvent } from '../../helpers/openlineage.js';

/** An OpenLineage job that exports dw://orders with a schema and column lineage on its output. */
function exportEvent() {
  const event = runEvent({
    eventType: 'COMPLETE',
    eventTime: new Date(NOW - HOUR).toISOString(),
    name: 'export',
    inputs: [{ namespace: 'dw', name: 'orders' }],
    outputs: [{ namespace: 'postgres://dw:5432', name: 'dw.public.export', rowCount: 7 }],
  });
  event.outputs[0].facets = {
    schema: facet('SchemaDatasetFacet', { fields: [{ name: 'id', type: 'bigint', description: 'the order' }, { name: 'total', type: 'numeric' }] }),
    columnLineage: facet('ColumnLineageDatasetFacet', { fields: { total: { inputFields: [{ namespace: 'dw', name: 'orders', field: 'amount' }] } } }),
  };
  return decodeLineageEvent(event).row;
}

describe.each(backends())('datasets on $name', (backend) => {
  const db = databaseFor(backend);
  let mine: Tenant;
  let theirs: Tenant;
  beforeAll(async () => {
    [mine, theirs] = await twoTenants(db);
    await db.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepare(mine, [exportEvent()], [])]));
  });

  const list = async (filter: DatasetFilter = {}, tenant = mine) => (await listDatasets(db, tenant.id, filter, 100, undefined, NOW)).items;
  const names = (items: Dataset[]) => items.map((item) => item.dataset);

  it('lists datasets by name, with who writes and reads each, its last write that counts and its freshness', async () => {
    const items = await list();
    expect(names(items)).toEqual([
      'dw://customers', 'dw://daily_report', 'dw://orders', 'dw://raw_orders', 'dw://scores', 'postgres://dw:5432/dw.public.export', 'src://shop.orders',
    ]);
    const byName = new Map(items.map((item) => [item.dataset, item]));
    expect(byName.get('dw://raw_orders')).toMatchObject({ namespace: 'dw', name: 'raw_orders', writers: ['extract', 'feedback'], readers: ['transform'] });
    // t-2's build failed: its write of dw://orders does not count, t-1's does (five hours ago, hourly: stale).
    expect(byName.get('dw://orders')).toMatchObject({
      writers: ['transform'],
      readers: ['airflow/export', 'report'],
      last_write: { run_id: 't-1', pipeline: 'transform', stage: 'build', rows: 90, at: new Date(NOW - 5 * HOUR + 1500).toISOString() },
      freshness: 'stale',
      expected_interval_seconds: 3600,
    });
    // t-2's build_customers succeeded though its run failed: a stage's write counts by the stage.
    expect(byName.get('dw://customers')).toMatchObject({ last_write: { run_id: 't-2', stage: 'build_customers', rows: 12 }, freshness: 'fresh' });
    // The latest write wins (feedback's, after extract's); feedback has one run, so no interval: unknown.
    expect(byName.get('dw://raw_orders')).toMatchObject({ last_write: { run_id: 'f-1' }, freshness: 'unknown', expected_interval_seconds: null });
    expect(byName.get('src://shop.orders')).toMatchObject({ writers: [], readers: ['extract'], last_write: null, freshness: 'unknown' });
  });

  it('filters by part of the name in any case, by namespace and by a pipeline that reads or writes it', async () => {
    expect(names(await list({ q: 'ORD' }))).toEqual(['dw://orders', 'dw://raw_orders', 'src://shop.orders']);
    expect(names(await list({ namespace: 'src' }))).toEqual(['src://shop.orders']);
    expect(names(await list({ pipeline: 'transform' }))).toEqual(['dw://customers', 'dw://orders', 'dw://raw_orders']);
    expect(names(await list({ pipeline: 'transform', q: 'cust' }))).toEqual(['dw://customers']);
    expect(await list({ q: '%' })).toEqual([]);
  });

  it('pages exactly by name, and refuses a cursor of another list', async () => {
    const whole = names(await list());
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listDatasets(db, mine.id, {}, 2, cursor, NOW);
      paged.push(...names(page.items));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(paged).toEqual(whole);
    const runsCursor = Buffer.from(JSON.stringify(['-started_at', '2031-01-01T00:00:00.000Z', 'r'])).toString('base64url');
    await expect(listDatasets(db, mine.id, {}, 2, runsCursor)).rejects.toThrow(CursorError);
  });

  it('shows a dataset with who writes and reads it per stage, its facets, and its writes per run, newest first, within a time range', async () => {
    const [orders] = await list({ q: 'dw://orders' });
    const detail = (await getDataset(db, mine.id, orders!.id, { limit: 100 }, NOW))!;
    expect(detail).toMatchObject({ id: orders!.id, dataset: 'dw://orders', freshness: 'stale' });
    // The edge shows its last run as reported, failed or not: t-2 declared the write and reported no rows.
    expect(detail.written_by.map((e) => [e.pipeline, e.stage, e.last_run_id, e.rows])).toEqual([['transform', 'build', 't-2', null]]);
    expect(detail.read_by.map((e) => [e.pipeline, e.stage, e.last_run_id])).toEqual([
      ['airflow/export', null, expect.stringMatching(/^[0-9a-f-]{36}$/)],
      ['report', 'render', 'r-1'],
    ]);
    expect(detail.writes.map((w) => [w.run_id, w.stages, w.rows, !w.counted])).toEqual([
      ['t-2', ['build'], null, true],
      ['t-1', ['build'], 90, false],
    ]);
    const recent = await getDataset(db, mine.id, orders!.id, { since: new Date(NOW - HOUR), limit: 100 }, NOW);
    expect(recent!.writes.map((w) => w.run_id)).toEqual(['t-2']);
    const older = await getDataset(db, mine.id, orders!.id, { until: new Date(NOW - HOUR), limit: 100 }, NOW);
    expect(older!.writes.map((w) => w.run_id)).toEqual(['t-1']);
    expect((await getDataset(db, mine.id, orders!.id, { limit: 1 }, NOW))!.writes.map((w) => w.run_id)).toEqual(['t-2']);
    expect([detail.facets, detail.schema_fields, detail.column_lineage]).toEqual([null, [], null]);

    const [exported] = await list({ q: 'export' });
    const withFacets = (await getDataset(db, mine.id, exported!.id, { limit: 100 }, NOW))!;
    expect(withFacets.schema_fields).toEqual([{ name: 'id', type: 'bigint', description: 'the order' }, { name: 'total', type: 'numeric', description: null }]);
    expect(withFacets.column_lineage).toEqual({ total: { inputFields: [{ namespace: 'dw', name: 'orders', field: 'amount' }] } });
    expect(withFacets.facets).toHaveProperty('schema');
    expect(withFacets.facets_at).toBe(new Date(NOW - HOUR).toISOString());
    expect(withFacets.writes.map((w) => [w.pipeline, w.stages, w.rows, !w.counted])).toEqual([['airflow/export', [], 7, false]]);
  });

  it("keeps each tenant's datasets its own: never listed, never found by id", async () => {
    const theirNames = names(await list({}, theirs));
    expect(theirNames).toEqual(['dw://orders', 'dw://raw_orders', 'dw://secret']);
    expect(names(await list())).not.toContain('dw://secret');
    const [secret] = await list({ q: 'secret' }, theirs);
    expect(await getDataset(db, mine.id, secret!.id, { limit: 100 }, NOW)).toBeNull();
    expect(await getDataset(db, theirs.id, secret!.id, { limit: 100 }, NOW)).not.toBeNull();
    // Their dw://orders is written by their hidden pipeline, not by transform.
    expect((await list({ q: 'dw://orders' }, theirs))[0]).toMatchObject({ writers: ['hidden'], readers: [], last_write: { run_id: 'h-1' } });
  });
});
