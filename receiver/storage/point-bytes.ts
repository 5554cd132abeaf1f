/**
 * Bytes on disk per stored metric data point: metric_points and metric_streams (migration 14), heap,
 * indexes and TOAST apart, each series' row spread over its points, measured as log-bytes.ts measures
 * log records. By bench:ingest and the storage tests.
 */
import type { Queryable } from './database.js';
import { measureTableBytes, perRow, type Bytes, type TableBytes } from './log-bytes.js';

export interface PointBytes {
  points: number;
  /** metric_streams' rows: one per series and day. */
  streams: number;
  /** Both tables, per point; null when there are none. */
  per_point: Bytes | null;
  /** Each table's part of per_point.total. */
  per_point_by_table: { metric_points: number; metric_streams: number } | null;
  /** Each index's bytes per point, by the parent index's name (partitions summed). */
  index_per_point: Record<string, number>;
}

export async function measurePointBytes(db: Queryable): Promise<PointBytes> {
  const points = await measureTableBytes(db, 'metric_points', ['metric_points']);
  const streams = await measureTableBytes(db, 'metric_points', ['metric_streams']);
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM metric_streams');
  const n = points.rows;
  const sum = (key: keyof Bytes) => perRow(points.bytes[key] + streams.bytes[key], n);
  const total = (measured: TableBytes) => measured.per_row?.total ?? 0;
  return {
    points: n,
    streams: rows[0]!.n,
    per_point: n === 0 ? null : { heap: sum('heap'), indexes: sum('indexes'), toast: sum('toast'), total: sum('total') },
    per_point_by_table: n === 0 ? null : { metric_points: total(points), metric_streams: total(streams) },
    index_per_point: { ...points.index_per_row, ...streams.index_per_row },
  };
}
