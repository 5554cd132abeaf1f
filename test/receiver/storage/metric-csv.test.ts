/**
 * Metric points as stored (receiver/storage/metric-csv.ts through the write path): every kind's values in
 * their columns, a series once a day with one series id across days, the run a point names by its
 * attributes or its resource, the trace its exemplar names, and a resent point stored once.
 */
import { describe, expect, it } from 'vitest';
import { ATTR } from '../../../contract/vocabulary.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import type { MetricPointRow } from '../../../receiver/model/records.js';
import type { Database } from '../../../receiver/storage/database.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { backends, databaseFor } from '../../helpers/backends.js';
import { metricOf, nanos, pointRow, rowResource, ROW_TIME_MS } from '../../helpers/rows.js';

const TENANT = { id: 1, name: 'default' };
const DAY_MS = 86_400_000;
const TRACE = 'c'.repeat(32);

const write = (db: Database, points: MetricPointRow[]) =>
  db.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepare(TENANT, [], [], points)]));

async function stored(db: Database, metric: string) {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT s.kind, s.temporality, s.monotonic, s.unit, s.pipeline, s.run_id, s.stage, s.attributes, s.explicit_bounds,
            s.series_id::text, s.stream_id::text, s.day::text, p.time_unix_nano::text, p.start_time_unix_nano::text, p.value,
            p.int_value::text, p.count::text, p.min, p.max, p.bucket_counts::text[], encode(p.trace_id, 'hex') AS trace_id,
            p.exponential, p.quantile_values, p.exemplars, p.flags
       FROM metric_points p JOIN metric_streams s USING (tenant_id, stream_id)
      WHERE s.metric_name = $1 ORDER BY p.time_unix_nano`,
    [metric],
  );
  return rows;
}

describe.each(backends())('metric points stored on $name', (backend) => {
  const db = databaseFor(backend);

  it('keeps a sum exactly, int64 beyond doubles included, and its run and pipeline from the attributes', async () => {
    const metric = metricOf({ name: 'rows.loaded' });
    const attributes = { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'r-1', table: 'orders' };
    await write(db, [pointRow({ metric, attributes, asInt: '9007199254740993' }), pointRow({ metric, attributes, timeUnixNano: nanos(ROW_TIME_MS + 1000), asInt: '-5' })]);
    const rows = await stored(db, 'rows.loaded');
    expect(rows.map((r) => r.int_value)).toEqual(['9007199254740993', '-5']);
    expect(rows[0]).toMatchObject({ kind: 'sum', temporality: 2, monotonic: true, pipeline: 'orders', run_id: 'r-1', attributes, value: null, start_time_unix_nano: nanos(ROW_TIME_MS - 60_000) });
    expect(new Set(rows.map((r) => r.stream_id)).size).toBe(1);
  });

  it('takes the run from the resource, and keeps NaN and infinities of a gauge', async () => {
    const resource = rowResource({ 'service.name': 'loader', [ATTR.runId]: 'r-2', [ATTR.pipelineName]: 'orders' });
    const metric = metricOf({ name: 'queue.depth', kind: 'gauge', temporality: 0, monotonic: false });
    const values = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2.5];
    await write(db, values.map((asDouble, i) => pointRow({ resource, metric, asInt: null, asDouble, startTimeUnixNano: '0', timeUnixNano: nanos(ROW_TIME_MS + i) })));
    const rows = await stored(db, 'queue.depth');
    expect(rows.map((r) => r.value)).toEqual(values);
    expect(rows[0]).toMatchObject({ run_id: 'r-2', pipeline: 'orders', start_time_unix_nano: null, int_value: null });
  });

  it('stores a histogram with its bounds on the series and its counts, sum, min and max on the point', async () => {
    const metric = metricOf({ name: 'batch.seconds', kind: 'histogram', unit: 's', monotonic: false });
    await write(db, [pointRow({ metric, asInt: null, count: '6', sum: 7.5, min: 0.1, max: 4, explicitBounds: [0.5, 1, 2.5], bucketCounts: ['1', '2', '0', '3'] })]);
    const [row] = await stored(db, 'batch.seconds');
    expect(row).toMatchObject({ kind: 'histogram', explicit_bounds: [0.5, 1, 2.5], bucket_counts: ['1', '2', '0', '3'], count: '6', value: 7.5, min: 0.1, max: 4 });
  });

  it('stores exponential histograms and summaries whole, non-finite values as strings', async () => {
    const exponential = { scale: 3, zeroCount: '1', zeroThreshold: 0, positive: { offset: -2, bucketCounts: ['1', '4'] }, negative: { offset: 0, bucketCounts: [] } };
    await write(db, [
      pointRow({ metric: metricOf({ name: 'latency.exp', kind: 'exponential_histogram' }), asInt: null, count: '6', sum: 3, exponential }),
      pointRow({ metric: metricOf({ name: 'latency.summary', kind: 'summary', temporality: 0, monotonic: false }), asInt: null, count: '3', sum: 9, quantileValues: [{ quantile: 0.5, value: 2 }, { quantile: 1, value: Number.NaN }] }),
    ]);
    expect((await stored(db, 'latency.exp'))[0]).toMatchObject({
      exponential: { scale: 3, zero_count: '1', zero_threshold: 0, positive: { offset: -2, bucket_counts: ['1', '4'] }, negative: { offset: 0, bucket_counts: [] } },
      count: '6',
      value: 3,
    });
    expect((await stored(db, 'latency.summary'))[0]).toMatchObject({ quantile_values: [[0.5, 2], [1, 'NaN']], count: '3', value: 9 });
  });

  it("keeps the first exemplar's trace beside the exemplars", async () => {
    const exemplars = [
      { filteredAttributes: {}, timeUnixNano: nanos(ROW_TIME_MS), value: 1, traceId: '', spanId: '' },
      { filteredAttributes: { user: 'u' }, timeUnixNano: nanos(ROW_TIME_MS), value: '9007199254740993', traceId: TRACE, spanId: 'd'.repeat(16) },
    ];
    await write(db, [pointRow({ metric: metricOf({ name: 'calls' }), exemplars })]);
    const [row] = await stored(db, 'calls');
    expect(row!.trace_id).toBe(TRACE);
    expect(row!.exemplars).toEqual([
      { filtered_attributes: {}, time_unix_nano: nanos(ROW_TIME_MS), value: 1, trace_id: '', span_id: '' },
      { filtered_attributes: { user: 'u' }, time_unix_nano: nanos(ROW_TIME_MS), value: '9007199254740993', trace_id: TRACE, span_id: 'd'.repeat(16) },
    ]);
  });

  it('stores a resent point once, and a series once a day under one series id', async () => {
    const metric = metricOf({ name: 'bytes.read' });
    const points = [pointRow({ metric }), pointRow({ metric, timeUnixNano: nanos(ROW_TIME_MS + DAY_MS) })];
    expect((await write(db, points)).points).toEqual({ accepted: 2, duplicates: 0 });
    // Decoded anew: new objects, the same content.
    const again = [pointRow({ metric: metricOf({ name: 'bytes.read' }) })];
    expect((await write(db, again)).points).toEqual({ accepted: 0, duplicates: 1 });
    const rows = await stored(db, 'bytes.read');
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.day)).toEqual([new Date(ROW_TIME_MS).toISOString().slice(0, 10), new Date(ROW_TIME_MS + DAY_MS).toISOString().slice(0, 10)]);
    expect(rows[0]!.series_id).toBe(rows[1]!.series_id);
    expect(rows[0]!.stream_id).not.toBe(rows[1]!.stream_id);
  });

  it('files each day in its own partition of metric_points', async () => {
    const { rows } = await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'metric_points'::regclass ORDER BY 1`,
    );
    const day = (ms: number) => `metric_points_p${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`;
    expect(rows.map((r) => r.name)).toEqual([day(ROW_TIME_MS), day(ROW_TIME_MS + DAY_MS)]);
  });
});
