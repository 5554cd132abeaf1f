/**
 * One query measured as bench:query reports it: through the HTTP API where it has a route (what users
 * see), as SQL on one connection, the indexes its plans use (EXPLAIN), and the SQL again with those
 * indexes dropped in a transaction that is rolled back, beside its goal.
 */
import type { Database, Queryable } from '../receiver/storage/database.js';
import type { BenchTenant } from './query-load.js';
import { indexesOf, recording, withoutIndexes, type Statement } from './query-indexes.js';
import { latency, type Latency } from './query-timing.js';

/** Each measurement stops repeating after this long (at least 5 repetitions). */
const BUDGET_MS = 20_000;
/**
 * Without its indexes a query may read whole tables: a few repetitions within a budget (one at least,
 * after the untimed first), each cut off at the timeout. Ten seconds is a hundred times the goal: past
 * it, the indexes' worth is plain, and a hundred cases at 10 M records still fit in an hour.
 */
const WITHOUT_REPS = 5;
const WITHOUT_BUDGET_MS = 10_000;
const WITHOUT_MIN_REPS = 1;
const WITHOUT_TIMEOUT_MS = 10_000;
const QUERY_CANCELED = '57014';

export interface Measured {
  name: string;
  goal_ms: number;
  api: Latency | null;
  sql: Latency;
  indexes: string[];
  /** The SQL with `indexes` dropped; `plan_indexes` are those the planner fell back to. Null when it has none, or when not asked for. */
  without_indexes: (Latency & { plan_indexes: string[] }) | { timed_out_after_ms: number } | { failed: string } | null;
  /** How many times slower the p95 is without the indexes; timed out, at least this many times. */
  without_vs_with_p95: number | null;
  without_vs_with_p95_at_least?: number;
  /** The API's p95 (the SQL's where there is no route) within the goal. */
  meets_goal: boolean;
  /** Missing it: EXPLAIN ANALYZE of its slowest statement, to see why. */
  slowest_plan?: string[];
}

export interface Query {
  name: string;
  goalMs: number;
  api?: (i: number) => { tenant: BenchTenant; path: string };
  sql(db: Queryable, i: number): Promise<unknown>;
}

/**
 * A query that fails is reported with its error (a dashboard panel would show it), and the bench goes on.
 * `withoutIndexes: false` leaves out the run without the indexes (under load or on a fresh day, where
 * the figure beside is the same query quiet or analyzed).
 */
export async function measure(
  db: Database,
  receiverUrl: string,
  reps: number,
  query: Query,
  { withoutIndexes = true } = {},
): Promise<Measured | { name: string; failed: string; meets_goal: false }> {
  try {
    return await measureOrThrow(db, receiverUrl, reps, query, withoutIndexes);
  } catch (error) {
    return { name: query.name, failed: (error as Error).message, meets_goal: false };
  }
}

async function measureOrThrow(db: Database, receiverUrl: string, reps: number, query: Query, withoutIndexes: boolean): Promise<Measured> {
  const { api: route } = query;
  const api = route ? await latency((i) => getApi(receiverUrl, route(i).tenant, route(i).path), reps, BUDGET_MS) : null;
  const sql = await latency((i) => query.sql(db, i), reps, BUDGET_MS);
  const recorded = recording(db);
  await query.sql(recorded.db, 0);
  const indexes = await indexesOf(db, recorded.statements);
  const without = indexes.length === 0 || !withoutIndexes ? null : await timeWithout(db, indexes, query);
  const p95 = (api ?? sql).p95_ms;
  const slowest = p95 < query.goalMs ? {} : { slowest_plan: await slowestPlan(db, recorded.statements) };
  return {
    name: query.name,
    goal_ms: query.goalMs,
    api,
    sql,
    indexes,
    without_indexes: without,
    without_vs_with_p95: without && 'p95_ms' in without ? Math.round((without.p95_ms / sql.p95_ms) * 10) / 10 : null,
    ...(without && 'timed_out_after_ms' in without ? { without_vs_with_p95_at_least: Math.round((without.timed_out_after_ms / sql.p95_ms) * 10) / 10 } : {}),
    meets_goal: p95 < query.goalMs,
    ...slowest,
  };
}

const PLAN_LINES = 60;

/** The plan, with times, of the slowest of these statements. */
async function slowestPlan(db: Queryable, statements: Statement[]): Promise<string[]> {
  let slowest: { ms: number; lines: string[] } = { ms: -1, lines: [] };
  for (const { sql, params } of statements) {
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    const lines = rows.map((row) => row['QUERY PLAN']);
    const ms = Number(/Execution Time: ([0-9.]+)/.exec(lines.at(-1) ?? '')?.[1] ?? 0);
    if (ms > slowest.ms) slowest = { ms, lines };
  }
  return slowest.lines.slice(0, PLAN_LINES);
}

/** GET of an API path with a tenant's key; refuses anything but 200, so a broken query is not timed as a fast one. */
export async function getApi(url: string, tenant: BenchTenant, path: string): Promise<unknown> {
  const response = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${tenant.key}` } });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET /api/v1${path} answered ${response.status}: ${body.slice(0, 300)}`);
  return JSON.parse(body);
}

async function timeWithout(db: Database, indexes: string[], query: Query): Promise<Measured['without_indexes']> {
  try {
    return await withoutIndexes(db, indexes, WITHOUT_TIMEOUT_MS, async (tx) => {
      // The first run, recorded for EXPLAIN, also warms the cache for the timed ones.
      const recorded = recording(tx);
      await query.sql(recorded.db, 0);
      const planIndexes = await indexesOf(tx, recorded.statements);
      return { ...(await latency((i) => query.sql(tx, i), WITHOUT_REPS, WITHOUT_BUDGET_MS, 0, WITHOUT_MIN_REPS)), plan_indexes: planIndexes };
    });
  } catch (error) {
    if ((error as { code?: string }).code === QUERY_CANCELED) return { timed_out_after_ms: WITHOUT_TIMEOUT_MS };
    // Reported, not thrown: the figures with the indexes, and every other query's, still stand.
    return { failed: (error as Error).message };
  }
}
