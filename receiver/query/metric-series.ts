/**
 * The series of a metric in a scope (metric-scope.ts), by service name and series id, keyset-paged: each
 * with what its points share and its first and last point in the range. A series spans days (one
 * metric_streams row each); its series_id is the same on every one.
 */
import type { Queryable } from '../storage/database.js';
import { jsonDouble } from '../storage/metric-csv.js';
import type { MetricSeries, MetricSeriesPage } from './api-types.js';
import { temporalityName } from './metric-as.js';
import { scopeSql, type MetricScope } from './metric-scope.js';
import { Conditions, pageOf, textColumn, type Keyset } from './pages.js';
import { RESOURCE_SCOPE_SELECT, resourceAndScope, type ResourceScopeColumns } from './shape.js';

/** A series as stored, with its first and last point's nanoseconds and whether a run counts only its trace's points. */
export type SeriesRow = Omit<MetricSeries, 'temporality' | 'explicit_bounds' | 'resource' | 'scope' | 'first_time' | 'last_time'> &
  ResourceScopeColumns & { temporality: number; explicit_bounds: number[] | null; by_trace: boolean };

/** A series id as the API writes it: a signed 64-bit integer in decimal. */
export const isSeriesId = (value: string) => /^-?\d{1,19}$/.test(value) && BigInt.asIntN(64, BigInt(value)) === BigInt(value);

const BY_SERVICE: Keyset<SeriesRow> = {
  name: 'series',
  columns: [textColumn('s.service_name'), { sql: 's.series_id', cast: 'bigint', valid: isSeriesId }],
  descending: false,
  key: (row) => [row.service_name, row.series_id],
};

const SERIES_COLUMNS = `s.series_id::text AS series_id, s.metric_name AS metric, s.kind, s.unit, s.description, s.temporality, s.monotonic,
  s.service_name, s.pipeline, s.run_id, s.stage, s.attributes, s.explicit_bounds, ${RESOURCE_SCOPE_SELECT}`;

/**
 * Up to `limit` series of the scope after `cursor`. The page is chosen among the scope's streams first;
 * its series' first and last points are then read, each day's by the points' key.
 */
export async function readSeries(db: Queryable, tenantId: number, scope: MetricScope, limit: number, cursor?: string): Promise<SeriesRow[]> {
  const where = new Conditions();
  const sql = scopeSql(where, tenantId, scope);
  where.after(cursor, BY_SERVICE);
  const { rows } = await db.query<SeriesRow>(
    `WITH ${sql.streams},
page AS (
  SELECT s.series_id, s.service_name, min(s.stream_id) AS stream_id, bool_and(s.by_trace) AS by_trace
    FROM streams s WHERE ${[sql.hasPoints('s'), ...where.clauses].join(' AND ')}
   GROUP BY s.series_id, s.service_name ORDER BY s.service_name, s.series_id LIMIT ${limit})
SELECT ${SERIES_COLUMNS}, page.by_trace, span.first::text AS first_time_unix_nano, span.last::text AS last_time_unix_nano
  FROM page JOIN metric_streams s ON s.tenant_id = $1 AND s.stream_id = page.stream_id
 CROSS JOIN LATERAL (
   SELECT min(day.first) AS first, max(day.last) AS last FROM streams d CROSS JOIN LATERAL (
     SELECT min(p.time_unix_nano) AS first, max(p.time_unix_nano) AS last FROM metric_points p WHERE ${sql.pointOf('p', 'd')}) day
    WHERE d.series_id = page.series_id) span
 ORDER BY page.service_name, page.series_id`,
    where.params,
  );
  return rows;
}

export const isoOfNanos = (nanos: string) => new Date(Number(BigInt(nanos) / 1_000_000n)).toISOString();

/** The metric a series is of, as the API shows it for a series or for the series of a run added up. */
export function metricFields(row: SeriesRow) {
  return {
    metric: row.metric,
    kind: row.kind,
    unit: row.unit,
    description: row.description,
    temporality: temporalityName(row.temporality),
    monotonic: row.monotonic,
    explicit_bounds: row.explicit_bounds?.map(jsonDouble) ?? null,
  };
}

/** What a series' points share, as the API shows it beside its points or its first and last. */
export function seriesFields(row: SeriesRow) {
  return {
    series_id: row.series_id,
    ...metricFields(row),
    service_name: row.service_name,
    pipeline: row.pipeline,
    run_id: row.run_id,
    stage: row.stage,
    attributes: row.attributes,
    ...resourceAndScope(row),
  };
}

export function shapeSeries(row: SeriesRow): MetricSeries {
  return {
    ...seriesFields(row),
    first_time: isoOfNanos(row.first_time_unix_nano),
    first_time_unix_nano: row.first_time_unix_nano,
    last_time: isoOfNanos(row.last_time_unix_nano),
    last_time_unix_nano: row.last_time_unix_nano,
  };
}

export async function listSeries(db: Queryable, tenantId: number, scope: MetricScope, limit: number, cursor?: string): Promise<MetricSeriesPage> {
  return pageOf(await readSeries(db, tenantId, scope, limit + 1, cursor), limit, BY_SERVICE, shapeSeries);
}
