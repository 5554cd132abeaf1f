/**
 * Which metric points a read is about, as SQL over metric_streams (a series' row of one day, storage
 * migration 14) and metric_points: a pipeline's, a run's or one series', of one metric or all, within
 * since and until. A run's points are those of its series (its id among their point or resource
 * attributes) and, of any other series, those whose exemplar names the run's trace: what its trace
 * measured in a service that knows nothing of pipelines.
 */
import { inStreamDay } from '../../contract/metric-sql.js';
import type { Conditions } from './pages.js';

export interface MetricScope {
  pipeline?: string;
  runId?: string;
  seriesId?: string;
  metric?: string;
  since?: Date;
  until?: Date;
}

const nanosOf = (date: Date) => (BigInt(date.getTime()) * 1_000_000n).toString();
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface ScopeSql {
  /** Binds a value as the next parameter of the read; returns its placeholder. */
  bind(value: unknown): string;
  /**
   * The CTEs (after WITH) that list the scope's streams as `streams`: the rows of metric_streams, and
   * by_trace, true for a run's streams that count only the points its trace measured. Not materialized:
   * a read that looks up one series' streams in it then goes through the series index, where a
   * materialized list is scanned whole for each series (3.3 s for 2,100 series of a pipeline's hour, 0.3 s not).
   */
  streams: string;
  /** The conditions on point `p` of stream `s` in the scope: its stream, its day, the range, a run's trace. */
  pointOf(p: string, s: string): string;
  /** Stream `s` has points in the range: true of every stream of a day inside it, looked up on the days it cuts. */
  hasPoints(s: string): string;
}

/** The scope's SQL, its values bound as parameters of `where` (the tenant first, as $1). */
export function scopeSql(where: Conditions, tenantId: number, scope: MetricScope): ScopeSql {
  const bind = (value: unknown) => {
    where.params.push(value);
    return `$${where.params.length}`;
  };
  const tenant = bind(tenantId);
  const since = scope.since && { nanos: bind(nanosOf(scope.since)), day: bind(dayOf(scope.since.getTime())) };
  // until is exclusive: its day is that of the nanosecond before it.
  const until = scope.until && { nanos: bind(nanosOf(scope.until)), day: bind(dayOf(scope.until.getTime() - 1)) };
  const run = scope.runId === undefined ? undefined : bind(scope.runId);

  const inRange = (p: string) => [since && `${p}.time_unix_nano >= ${since.nanos}::bigint`, until && `${p}.time_unix_nano < ${until.nanos}::bigint`];
  const shared = [
    `s.tenant_id = ${tenant}`,
    scope.metric !== undefined && `s.metric_name = ${bind(scope.metric)}`,
    scope.seriesId !== undefined && `s.series_id = ${bind(scope.seriesId)}::bigint`,
    scope.pipeline !== undefined && `s.pipeline = ${bind(scope.pipeline)}`,
    since && `s.day >= ${since.day}::date`,
    until && `s.day <= ${until.day}::date`,
  ];
  const streamsOf = (conditions: unknown[], byTrace: boolean) => `SELECT s.*, ${byTrace} AS by_trace FROM metric_streams s WHERE ${and(conditions)}`;
  const traced = `SELECT p.stream_id FROM metric_points p WHERE ${and([`p.tenant_id = ${tenant}`, 'p.trace_id = (SELECT trace FROM run_trace)', ...inRange('p')])}`;
  const streams =
    run === undefined
      ? `streams AS NOT MATERIALIZED (${streamsOf(shared, false)})`
      : // A run's trace as stored with its points; a malformed one (never written by the write path) matches none.
        `run_trace AS (
  SELECT decode(r.trace_id, 'hex') AS trace FROM pipeline_runs r WHERE r.tenant_id = ${tenant} AND r.run_id = ${run} AND r.trace_id ~ '^[0-9a-f]{32}$'),
streams AS NOT MATERIALIZED (
  ${streamsOf([...shared, `s.run_id = ${run}`], false)}
  UNION ALL
  ${streamsOf([...shared, `s.run_id IS DISTINCT FROM ${run}`, `s.stream_id IN (${traced})`], true)})`;

  const pointOf = (p: string, s: string) =>
    and([
      `${p}.tenant_id = ${tenant}`,
      `${p}.stream_id = ${s}.stream_id`,
      inStreamDay(p, s),
      ...inRange(p),
      run !== undefined && `(NOT ${s}.by_trace OR ${p}.trace_id = (SELECT trace FROM run_trace))`,
    ]);
  const hasPoints = (s: string) => {
    if (!since && !until) return 'true';
    const inside = and([since && `${s}.day > ${since.day}::date`, until && `${s}.day < ${until.day}::date`]);
    return `(${inside} OR EXISTS (SELECT 1 FROM metric_points hp WHERE ${pointOf('hp', s)}))`;
  };
  return { bind, streams, pointOf, hasPoints };
}

function and(conditions: unknown[]): string {
  return conditions.filter((c): c is string => typeof c === 'string').join(' AND ');
}
