/**
 * The metric points a receiver stored (metric_points with their series in metric_streams, migration 14), read
 * back into the OTLP fields of PointFacts, so that they compare with what an SDK exported; and what the
 * receiver's /metrics counted.
 */
import type { Queryable } from '../../receiver/storage/database.js';
import type { MetricKind } from '../../receiver/model/records.js';
import { pointColumns, type PointRow } from '../../receiver/query/metric-samples.js';
import { parseMetrics, total } from '../../web/app/lib/prometheus-text.js';
import { sortedPoints, type PointFacts } from './metrics-sdk.js';

/** A series' columns (metric_streams) beside its point's, as the receiver's queries read them. */
interface StoredRow extends PointRow {
  metric_name: string;
  description: string;
  unit: string;
  kind: MetricKind;
  temporality: number;
  monotonic: boolean;
  resource_attributes: PointFacts['resource'];
  scope_name: string;
  scope_version: string;
  attributes: PointFacts['attributes'];
  explicit_bounds: number[] | null;
}

const SELECT = `
SELECT s.metric_name, s.description, s.unit, s.kind, s.temporality, s.monotonic, s.resource_attributes, s.scope_name,
       s.scope_version, s.attributes, s.explicit_bounds, ${pointColumns('p')}
  FROM metric_points p JOIN metric_streams s USING (tenant_id, stream_id)`;

/** Every point stored of the resource whose service.name is `service`, in sortedPoints' order. */
export async function storedPoints(db: Queryable, service: string): Promise<PointFacts[]> {
  const { rows } = await db.query<StoredRow>(`${SELECT} WHERE s.service_name = $1`, [service]);
  return sortedPoints(rows.map(factsOf));
}

/** The run ids metric_streams gave the series of `service`, one per metric name. */
export async function storedRunIds(db: Queryable, service: string): Promise<Record<string, string | null>> {
  const { rows } = await db.query<{ metric_name: string; run_id: string | null }>(
    'SELECT DISTINCT metric_name, run_id FROM metric_streams WHERE service_name = $1 ORDER BY 1',
    [service],
  );
  return Object.fromEntries(rows.map((r) => [r.metric_name, r.run_id]));
}

function factsOf(row: StoredRow): PointFacts {
  return {
    metric: row.metric_name,
    description: row.description,
    unit: row.unit,
    kind: row.kind,
    temporality: row.temporality,
    monotonic: row.monotonic,
    resource: row.resource_attributes,
    scope: { name: row.scope_name, version: row.scope_version },
    attributes: row.attributes,
    startTimeUnixNano: row.start_time_unix_nano ?? '0',
    timeUnixNano: row.time_unix_nano,
    value: valueOf(row),
  };
}

/** JSON spells the doubles it cannot hold as strings (metric-csv.ts jsonDouble). */
const double = (d: number | string) => (typeof d === 'number' ? d : Number(d));

function valueOf(row: StoredRow): PointFacts['value'] {
  if (row.kind === 'gauge' || row.kind === 'sum') return { asDouble: row.value, asInt: row.int_value };
  // A histogram's sum is kept in the value column.
  const common = { count: row.count!, sum: row.value, min: row.min, max: row.max };
  if (row.kind === 'histogram') return { ...common, bucketCounts: row.bucket_counts ?? [], explicitBounds: row.explicit_bounds ?? [] };
  if (row.kind !== 'exponential_histogram') throw new Error(`storedPoints reads no ${row.kind} points: add their fields to PointFacts`);
  const e = row.exponential!;
  return {
    ...common,
    scale: e.scale,
    zeroCount: e.zero_count,
    zeroThreshold: double(e.zero_threshold),
    positive: { offset: e.positive.offset, bucketCounts: e.positive.bucket_counts },
    negative: { offset: e.negative.offset, bucketCounts: e.negative.bucket_counts },
  };
}

/** The sum of the receiver's /metrics samples of `name` whose labels include `where`: what it counted so far. */
export async function receiverCount(metricsUrl: string, name: string, where: Record<string, string>): Promise<number> {
  return total(parseMetrics(await (await fetch(metricsUrl)).text()), name, where);
}
