/**
 * The API queries bench:query times: each as a user sends it (a path of the JSON API, on the key's
 * tenant) and as the receiver runs it (the query function on one connection, for EXPLAIN and for the
 * run without its indexes). Parameters vary with the repetition number: tenant, pipeline, run, time
 * window, search words.
 */
import { listLogs } from '../receiver/query/logs.js';
import { metricsOverview, metricsPerPipeline } from '../receiver/query/metrics.js';
import { getRun, listRuns } from '../receiver/query/runs.js';
import type { Queryable } from '../receiver/storage/database.js';
import type { BenchTenant } from './query-load.js';
import { COMMON_WORD, RARE_WORD } from './query-records.js';
import type { Query } from './query-measure.js';
import { ENVIRONMENTS } from './query-world.js';

/** The query goals, at 10 M records: every list, detail and overview; body search. */
export const GOAL_MS = { query: 100, search: 300 };
const LIMIT = 100;
const HOUR_MS = 3_600_000;

export interface SampledRun {
  run_id: string;
  pipeline: string;
  started_at: Date;
}

/** What the repetitions pick their parameters from: the tenants (biggest first) and runs of the biggest. */
export interface Picks {
  tenants: BenchTenant[];
  runs: SampledRun[];
}

/** A random sample of the biggest tenant's runs, weighted by nothing: big pipelines come up as often as they run. */
export async function pickRuns(db: Queryable, tenantId: number, count: number): Promise<SampledRun[]> {
  const { rows } = await db.query<SampledRun>(
    `SELECT run_id, pipeline, started_at FROM pipeline_runs WHERE tenant_id = $1 AND started_at IS NOT NULL ORDER BY random() LIMIT $2`,
    [tenantId, count],
  );
  return rows;
}

const query = (params: Record<string, string | number>) => new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();

export function apiCases({ tenants, runs }: Picks): Query[] {
  const big = tenants[0]!;
  const anyTenant = (i: number) => tenants[i % tenants.length]!;
  const run = (i: number) => runs[i % runs.length]!;
  // A day around a sampled run: a day of one pipeline that has records.
  const day = (i: number) => {
    const since = new Date(run(i).started_at.getTime() - 12 * HOUR_MS);
    return { since, until: new Date(since.getTime() + 24 * HOUR_MS) };
  };
  const rareSearches = [RARE_WORD, 'timeout', 'permission', '"connection reset"'];
  const commonSearches = [COMMON_WORD, 'loaded', 'rejected', `${COMMON_WORD} -${RARE_WORD}`];
  const days = [1, 7, 30];

  const logs = (name: string, goalMs: number, filter: (i: number) => Parameters<typeof listLogs>[2], params: (i: number) => Record<string, string>, tenant = anyTenant): Query => ({
    name,
    goalMs,
    api: (i) => ({ tenant: tenant(i), path: `/logs?${query({ ...params(i), limit: LIMIT })}` }),
    sql: (db, i) => listLogs(db, tenant(i).id, filter(i), LIMIT),
  });
  const runsList = (name: string, filter: (i: number) => Parameters<typeof listRuns>[2], params: (i: number) => Record<string, string>, sort?: Parameters<typeof listRuns>[5], tenant = anyTenant): Query => ({
    name,
    goalMs: GOAL_MS.query,
    api: (i) => ({ tenant: tenant(i), path: `/runs?${query({ ...params(i), ...(sort ? { sort } : {}), limit: LIMIT })}` }),
    sql: (db, i) => listRuns(db, tenant(i).id, filter(i), LIMIT, undefined, sort),
  });
  const bigTenant = () => big;

  return [
    logs('logs newest first', GOAL_MS.query, () => ({}), () => ({})),
    logs('logs of one run', GOAL_MS.query, (i) => ({ runId: run(i).run_id }), (i) => ({ run_id: run(i).run_id }), bigTenant),
    logs(
      'logs of one pipeline in a day',
      GOAL_MS.query,
      (i) => ({ pipeline: run(i).pipeline, ...day(i) }),
      (i) => ({ pipeline: run(i).pipeline, since: day(i).since.toISOString(), until: day(i).until.toISOString() }),
      bigTenant,
    ),
    logs('logs q= rare words', GOAL_MS.search, (i) => ({ q: rareSearches[i % 4] }), (i) => ({ q: rareSearches[i % 4]! })),
    logs('logs q= common words', GOAL_MS.search, (i) => ({ q: commonSearches[i % 4] }), (i) => ({ q: commonSearches[i % 4]! })),
    runsList('runs newest first', () => ({}), () => ({})),
    runsList('runs of one pipeline', (i) => ({ pipeline: run(i).pipeline }), (i) => ({ pipeline: run(i).pipeline }), undefined, bigTenant),
    runsList('runs failed', () => ({ result: 'failure' }), () => ({ result: 'failure' })),
    runsList('runs running', () => ({ state: 'running' }), () => ({ state: 'running' })),
    runsList('runs slowest first', () => ({}), () => ({}), '-duration'),
    runsList('runs of an environment', (i) => ({ environment: ENVIRONMENTS[i % 2] }), (i) => ({ environment: ENVIRONMENTS[i % 2]! })),
    {
      name: 'run detail',
      goalMs: GOAL_MS.query,
      api: (i) => ({ tenant: big, path: `/runs/${encodeURIComponent(run(i).run_id)}` }),
      sql: (db, i) => getRun(db, big.id, run(i).run_id),
    },
    {
      name: 'metrics overview',
      goalMs: GOAL_MS.query,
      api: (i) => ({ tenant: anyTenant(i), path: `/metrics/overview?days=${days[i % 3]}` }),
      sql: (db, i) => metricsOverview(db, anyTenant(i).id, days[i % 3]!),
    },
    {
      name: 'metrics per pipeline',
      goalMs: GOAL_MS.query,
      api: (i) => ({ tenant: anyTenant(i), path: `/metrics/pipelines?days=${days[i % 3]}` }),
      sql: (db, i) => metricsPerPipeline(db, anyTenant(i).id, days[i % 3]!),
    },
  ];
}
