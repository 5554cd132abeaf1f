/**
 * Figures over a tenant's runs: the overview of the last `days` days, and the same per pipeline with
 * each pipeline's state now (last success, late, stuck, data health) as the alerts judge it (pipeline-state.ts).
 */
import { heartbeatStopped } from '../../contract/pipeline-facts.js';
import { pipelinesOfTenants } from '../../contract/run-sql.js';
import type { Result, RunState } from '../../contract/vocabulary.js';
import { readPipelineStates, readStatesOf } from './pipeline-state.js';
import { pipelineNow } from './pipeline-status.js';
import { unhealthyUpstreams } from './pipeline-upstreams.js';
import type { Queryable } from '../storage/database.js';
import type { Overview, PipelinePage, RecentRun } from './api-types.js';
import { DAYS, DURATION_BUCKET, FIGURE_NAMES, HOURS, p95FromBuckets, RUN_FIGURES, TIMED, type SumWidth } from '../../contract/run-figures.js';

/** Every pipeline, or the one named by $4. */
const PIPELINE_IS = '($4::text IS NULL OR pipeline = $4)';

/** A window's units of `width` from the one `from` starts in (a timestamptz parameter) to the one `to` starts in, or on without end. */
function unitsWithin(width: SumWidth, from: string, to: string | null): string {
  const within = `${width.column} >= ${width.unitOf(from)}${to === null ? '' : ` AND ${width.column} < ${width.unitOf(to)}`}`;
  return `tenant_id = $1 AND ${within} AND ${PIPELINE_IS}`;
}

/** The window's parts kept summed: the whole hours of its first, partial UTC day ($5 to $3), then its whole days. */
const SUMMED_PARTS = [
  { width: HOURS, from: '$5::timestamptz', to: '$3::timestamptz' },
  { width: DAYS, from: '$3::timestamptz', to: null },
] as const;

/**
 * The figures of a window's runs (those that started since `since`), by `key` (a pipeline, or one row
 * for all): its first, partial UTC hour from the runs themselves, the rest from the sums kept by hour and
 * by day (storage/run-days.ts, which states what each run adds). The success rate and the errors are over
 * ended runs, as the error-rate alert counts them; the mean and p95 duration over ended runs that
 * report one, the p95 from the duration buckets.
 */
function figuresSql(key: string): string {
  const sums = SUMMED_PARTS.map(({ width, from, to }) =>
    `SELECT ${key}, ${FIGURE_NAMES.map((name) => `sum(${name})`).join(', ')} FROM ${width.sums} WHERE ${unitsWithin(width, from, to)} GROUP BY 1`);
  const buckets = SUMMED_PARTS.map(({ width, from, to }) => `SELECT ${key}, bucket, sum(runs) FROM ${width.durations} WHERE ${unitsWithin(width, from, to)} GROUP BY 1, 2`);
  return `WITH edge AS (
  SELECT pipeline, started_at, state, result, duration_seconds, rows_read, rows_written, rows_rejected FROM pipeline_runs
   WHERE tenant_id = $1 AND started_at >= $2::timestamptz AND started_at < $5::timestamptz AND ${PIPELINE_IS}),
figures AS (
  SELECT ${key} AS key, ${FIGURE_NAMES.map((name) => `sum(${RUN_FIGURES[name]}) AS ${name}`).join(', ')} FROM edge GROUP BY 1
  UNION ALL
  ${sums.join('\n  UNION ALL\n  ')}),
p95 AS (${p95FromBuckets(
    `SELECT ${key} AS key, ${DURATION_BUCKET} AS bucket, count(*) AS n FROM edge WHERE ${TIMED} GROUP BY 1, 2
     UNION ALL
     ${buckets.join('\n     UNION ALL\n     ')}`,
    'key',
  )})
SELECT f.key AS pipeline, sum(runs)::int AS runs, sum(running)::int AS running, sum(ended)::int AS ended,
       sum(successes)::int AS successes, sum(errors)::int AS errors,
       (sum(duration_sum) / nullif(sum(timed), 0))::float8 AS mean_duration, p95.p95 AS p95_duration,
       sum(rows_read)::float8 AS rows_read, sum(rows_written)::float8 AS rows_written, sum(rows_rejected)::float8 AS rows_rejected
  FROM figures f LEFT JOIN p95 USING (key)
 GROUP BY f.key, p95.p95`;
}

const PER_PIPELINE_SQL = figuresSql('pipeline');
const OVERVIEW_SQL = figuresSql("''::text");

interface FigureRow {
  runs: number;
  running: number;
  ended: number;
  successes: number;
  errors: number;
  mean_duration: number | null;
  p95_duration: number | null;
  rows_read: number | null;
  rows_written: number | null;
  rows_rejected: number | null;
}

const EMPTY: FigureRow = {
  runs: 0,
  running: 0,
  ended: 0,
  successes: 0,
  errors: 0,
  mean_duration: null,
  p95_duration: null,
  rows_read: null,
  rows_written: null,
  rows_rejected: null,
};

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function shapeFigures(row: FigureRow) {
  return {
    runs: row.runs,
    running: row.running,
    ended: row.ended,
    successes: row.successes,
    errors: row.errors,
    success_rate: row.ended > 0 ? row.successes / row.ended : null,
    duration_seconds: { mean: row.mean_duration, p95: row.p95_duration },
    rows: { read: row.rows_read ?? 0, written: row.rows_written ?? 0, rejected: row.rows_rejected ?? 0 },
  };
}

/** The window's start, and the starts of its first whole UTC hour and day (the start itself when it is one). */
function window(days: number, nowMs: number) {
  const sinceMs = nowMs - days * DAY_MS;
  const first = (unitMs: number) => new Date(Math.ceil(sinceMs / unitMs) * unitMs).toISOString();
  return { since: new Date(sinceMs).toISOString(), firstHour: first(HOUR_MS), firstDay: first(DAY_MS) };
}

async function figures(db: Queryable, sql: string, tenantId: number, days: number, nowMs: number, pipeline: string | null = null) {
  const { since, firstHour, firstDay } = window(days, nowMs);
  const { rows } = await db.query<FigureRow & { pipeline: string }>(sql, [tenantId, since, firstDay, pipeline, firstHour]);
  return { since, rows };
}

export async function metricsOverview(db: Queryable, tenantId: number, days: number, nowMs = Date.now()): Promise<Overview> {
  const { since, rows } = await figures(db, OVERVIEW_SQL, tenantId, days, nowMs);
  return { days, since, ...shapeFigures(rows[0] ?? EMPTY) };
}

interface RecentRunRow {
  pipeline: string;
  run_id: string;
  state: RunState;
  result: Result | null;
  started_at: Date;
  duration_seconds: number | null;
  last_seen_at: Date;
}

const shapeRecent = (row: RecentRunRow, nowSeconds: number): RecentRun => ({
  run_id: row.run_id,
  state: row.state,
  result: row.result,
  started_at: new Date(row.started_at).toISOString(),
  duration_seconds: row.duration_seconds,
  stuck: row.state === 'running' && heartbeatStopped(new Date(row.last_seen_at).getTime() / 1000, nowSeconds),
});

/**
 * The latest `count` runs of each of the tenant's pipelines (or of `pipeline`), newest first, whatever
 * their age: a pipeline that stopped still shows how its last runs went. The pipelines found by skipping
 * through pipeline_runs_pipeline and one index probe each, so a page of hundreds of pipelines costs no
 * scan of their whole history, and needs not wait for their states.
 */
async function recentRuns(db: Queryable, tenantId: number, count: number, nowSeconds: number, pipeline: string | null) {
  const byPipeline = new Map<string, RecentRun[]>();
  if (count === 0) return byPipeline;
  const { rows } = await db.query<RecentRunRow>(RECENT_RUNS_SQL, [tenantId, count, pipeline]);
  for (const row of rows) {
    const runs = byPipeline.get(row.pipeline) ?? [];
    runs.push(shapeRecent(row, nowSeconds));
    byPipeline.set(row.pipeline, runs);
  }
  return byPipeline;
}

const RECENT_RUNS_SQL = `${pipelinesOfTenants('t.tenant_id = $1')}
SELECT p.pipeline, r.run_id, r.state, r.result, r.started_at, r.duration_seconds, r.last_seen_at
  FROM (SELECT pipeline FROM pipelines WHERE $3::text IS NULL UNION ALL SELECT $3 WHERE $3 IS NOT NULL) p
  CROSS JOIN LATERAL (
    SELECT run_id, state, result, started_at, duration_seconds, last_seen_at FROM pipeline_runs
     WHERE tenant_id = $1 AND pipeline = p.pipeline AND started_at IS NOT NULL
     ORDER BY started_at DESC, run_id DESC LIMIT $2) r`;

/**
 * Every pipeline the tenant has runs of (or the one named `pipeline`, if it has), by name; one without
 * runs in the window shows zeros. With `recent`, each carries its latest runs (for a sparkline and the
 * last run's result, in one request).
 */
export async function metricsPerPipeline(
  db: Queryable,
  tenantId: number,
  days: number,
  recent = 0,
  nowMs = Date.now(),
  pipeline: string | null = null,
): Promise<PipelinePage> {
  const nowSeconds = nowMs / 1000;
  // Three reads at once, each on a connection of its own; only the upstreams wait for the states.
  const [{ since, rows }, states, recentOf] = await Promise.all([
    figures(db, PER_PIPELINE_SQL, tenantId, days, nowMs, pipeline),
    pipeline === null ? readPipelineStates(db, tenantId) : readStatesOf(db, tenantId, [pipeline]),
    recentRuns(db, tenantId, recent, nowSeconds, pipeline),
  ]);
  const byPipeline = new Map(rows.map((row) => [row.pipeline, row]));
  const upstreams = await unhealthyUpstreams(db, tenantId, states, nowSeconds);
  const items = states.map((state) => ({
    pipeline: state.pipeline,
    owner: state.owner,
    ...shapeFigures(byPipeline.get(state.pipeline) ?? EMPTY),
    ...pipelineNow(state, nowSeconds, upstreams),
    recent_runs: recentOf.get(state.pipeline) ?? [],
  }));
  return { days, since, items, next_cursor: null };
}
