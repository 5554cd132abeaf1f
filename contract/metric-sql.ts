/**
 * SQL over metric_streams and metric_points (the receiver's migration 14) that the query API and the
 * Grafana dashboards both run, stated once: a stream holds one UTC day of its series' points, and a
 * point's predecessor is its series' latest point with a value before it.
 */

/** Nanoseconds in a day: the width of a stream's day and of a metric_points partition. */
export const DAY_NS = '86400000000000';

/** The first nanosecond of stream `s`'s day. */
export const streamDayStart = (s: string) => `((${s}.day - DATE '1970-01-01')::bigint * ${DAY_NS})`;

/** Point `p` lies in stream `s`'s day: bounds a lookup of its points to that day's partition. */
export const inStreamDay = (p: string, s: string) =>
  `${p}.time_unix_nano >= ${streamDayStart(s)} AND ${p}.time_unix_nano < ${streamDayStart(s)} + ${DAY_NS}`;

export interface PointBefore {
  /** SQL expressions of the tenant, the series id and the time (ns) the point must come before. */
  tenant: string;
  seriesId: string;
  t: string;
  /** What to select of point `p`. */
  select: string;
}

/**
 * A subquery of the latest point with a value (the no-recorded-value flag clear) of a series before a
 * time: on the latest of the series' days up to that time's that has one, one index lookup
 * (metric_streams by series and day, then the points' key) per day tried. Run per series, never a scan.
 */
export const pointBefore = ({ tenant, seriesId, t, select }: PointBefore) => `(
    SELECT ${select} FROM metric_streams s CROSS JOIN LATERAL (
      SELECT * FROM metric_points p
       WHERE p.tenant_id = s.tenant_id AND p.stream_id = s.stream_id AND ${inStreamDay('p', 's')}
         AND p.time_unix_nano < ${t} AND (p.flags IS NULL OR p.flags & 1 = 0)
       ORDER BY p.time_unix_nano DESC LIMIT 1) p
     WHERE s.tenant_id = ${tenant} AND s.series_id = ${seriesId} AND s.day <= DATE '1970-01-01' + (${t} / ${DAY_NS})::int
     ORDER BY s.day DESC LIMIT 1)`;
