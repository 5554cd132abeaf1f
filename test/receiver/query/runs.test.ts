/**
 * The runs list (receiver/query/runs.ts) by result on every supported server: a result that no run or
 * few runs have is found through migration 13's index of the runs that did not succeed, newest and
 * oldest first, rather than by walking every run of the tenant; the page is what a plain ORDER BY lists.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { listRuns, RUN_SORTS, type RunFilter, type RunSort } from '../../../receiver/query/runs.js';
import type { Queryable } from '../../../receiver/storage/database.js';
import { backends, databaseFor } from '../../helpers/backends.js';

const RUNS = 20_000;
/** Every 500th run failed; none ended in error. */
const FAILED_EVERY = 500;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}
const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

/** The plan of the list's query, run: every node. */
async function planOf(db: Queryable, result: RunFilter['result'], sort: RunSort): Promise<PlanNode[]> {
  const sent: [string, readonly unknown[] | undefined][] = [];
  await listRuns({ query: (text, params) => (sent.push([text, params]), db.query(text, params)) }, 1, { result }, 50, undefined, sort);
  const [text, params] = sent[0]!;
  const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
  return nodes(rows[0]!['QUERY PLAN'][0].Plan);
}

describe.each(backends())('runs list by result on $name', (backend) => {
  const db = databaseFor(backend);

  beforeAll(async () => {
    await db.query(
      `INSERT INTO pipeline_runs (tenant_id, run_id, pipeline, state, result, started_at, ended_at, duration_seconds, last_seen_at, attributes)
       SELECT 1, 'run-' || i, 'p-' || (i % 20), 'ended', CASE WHEN i % ${FAILED_EVERY} = 0 THEN 'failure' ELSE 'success' END,
              timestamptz '2032-03-01' + i * interval '1 minute', timestamptz '2032-03-01' + i * interval '1 minute' + interval '30 seconds',
              30 + i % 7, now(), '{}'
         FROM generate_series(1, ${RUNS}) AS i`,
    );
    await db.query('ANALYZE pipeline_runs');
  });

  it.each(['-started_at', 'started_at'] as RunSort[])('finds a result no run has, sorted %s, in the index of unsuccessful runs without reading the others', async (sort) => {
    const plan = await planOf(db, 'error', sort);
    expect(plan.map((node) => node['Index Name']).filter(Boolean)).toEqual(['pipeline_runs_unsuccessful']);
    expect(plan.reduce((sum, node) => sum + (node['Rows Removed by Filter'] ?? 0), 0)).toBe(0);
  });

  it.each(Object.keys(RUN_SORTS) as RunSort[])('lists the failed runs, sorted %s, as a plain ORDER BY does', async (sort) => {
    const page = await listRuns(db, 1, { result: 'failure' }, 1000, undefined, sort);
    const { keyset } = RUN_SORTS[sort];
    const direction = keyset.descending ? 'DESC' : 'ASC';
    const order = sort.endsWith('duration') ? `duration_seconds ${direction}, run_id ${direction}` : `started_at ${direction}, run_id ${direction}`;
    const { rows } = await db.query<{ run_id: string }>(`SELECT run_id FROM pipeline_runs WHERE tenant_id = 1 AND result = 'failure' ORDER BY ${order}`);
    expect(page.items.map((run) => run.run_id)).toEqual(rows.map((row) => row.run_id));
    expect(page.items).toHaveLength(RUNS / FAILED_EVERY);
  });
});
