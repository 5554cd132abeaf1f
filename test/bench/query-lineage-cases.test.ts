/**
 * bench:query's lineage queries at a tiny size: the data goes in through the write path with its
 * lineage, and each query answers through HTTP with what it is about (a graph with depth, datasets, a
 * dataset's writes, a failed run's impact downstream) and finds the indexes it uses. No timings are asserted.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { lineageCases, pickLineage, type LineagePicks } from '../../bench/query-lineage-cases.js';
import type { Loaded } from '../../bench/query-load.js';
import { getApi, measure } from '../../bench/query-measure.js';
import type { DatasetDetail, DatasetPage, LineageGraph, RunDetail } from '../../receiver/query/api-types.js';
import type { Receiver } from '../../receiver/serve.js';
import type { Database } from '../../receiver/storage/database.js';
import { benchWorld } from '../helpers/bench-world.js';

const RECORDS = 20_000;

describe.each(inject('databaseServers'))('bench:query lineage on $name', (server) => {
  const world = benchWorld(server.url, RECORDS);
  let db: Database;
  let receiver: Receiver;
  let loaded: Loaded;
  let picks: LineagePicks;

  beforeAll(async () => {
    ({ db, receiver, loaded } = world());
    const busiest = loaded.pipelines[0]!;
    picks = await pickLineage(db, loaded.tenants[busiest.tenant]!, busiest.name, 5);
  });

  const answer = async <T>(name: string, i = 0): Promise<T> => {
    const found = lineageCases(picks).find((c) => c.name.includes(name))!;
    const { tenant, path } = found.api!(i);
    return (await getApi(receiver.url, tenant, path)) as T;
  };

  it('stores the datasets, edges and each run\'s reads and writes that the records name', async () => {
    const { rows } = await db.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM datasets) AS datasets, (SELECT count(*)::int FROM lineage_edges) AS edges,
              (SELECT count(DISTINCT run_id)::int FROM run_datasets) AS runs`,
    );
    expect(rows[0]!.datasets).toBeGreaterThan(200);
    expect(rows[0]!.edges).toBeGreaterThan(rows[0]!.datasets);
    expect(rows[0]!.runs).toBeGreaterThan(loaded.runs * 0.9);
  });

  it('walks three pipeline hops around the busiest pipeline, both ways', async () => {
    const graph = await answer<LineageGraph>('busiest pipeline');
    expect(graph.root).toBe(`pipeline:${picks.busiest}`);
    const hops = new Set(graph.nodes.filter((node) => node.kind === 'pipeline').map((node) => node.hops));
    expect(hops).toEqual(new Set([0, 1, 2]));
    expect(graph.edges.some((edge) => edge.direction === 'read' && edge.pipeline === picks.busiest)).toBe(true);
    expect(graph.edges.some((edge) => edge.direction === 'write' && edge.pipeline === picks.busiest)).toBe(true);
  });

  it('lists datasets, filtered too, and a dataset with its writers, readers and writes', async () => {
    const first = await answer<DatasetPage>('first page');
    expect(first.items).toHaveLength(100);
    // By part of a name, a namespace, a pipeline, in turn: some of the datasets each, all matching.
    const matches = [
      (d: DatasetPage['items'][number]) => d.dataset.includes(picks.word),
      (d: DatasetPage['items'][number]) => d.namespace === picks.namespace,
      (d: DatasetPage['items'][number]) => [...d.writers, ...d.readers].includes(picks.busiest),
    ];
    for (const [i, match] of matches.entries()) {
      const filtered = await answer<DatasetPage>('filtered', i);
      expect(filtered.items.length).toBeGreaterThan(0);
      expect(filtered.items.every(match)).toBe(true);
      expect(first.items.every(match)).toBe(false);
    }
    const detail = await answer<DatasetDetail>('dataset detail');
    expect(detail.written_by.length).toBeGreaterThan(0);
    expect(detail.read_by.length).toBeGreaterThan(0);
    expect(detail.writes.length).toBeGreaterThan(0);
  });

  it('shows a failed run with the pipelines it leaves without data downstream', async () => {
    const run = await answer<RunDetail>('failed run');
    expect(run.result).toBe('failure');
    expect(run.datasets.length).toBeGreaterThan(0);
    expect(run.impact!.pipelines.length).toBeGreaterThan(0);
    expect(run.impact!.pipelines.map((p) => p.pipeline)).not.toContain(run.pipeline);
  });

  it('finds the indexes each query uses, times it without them, and explains it when it misses its goal', async () => {
    const graph = lineageCases(picks).find((c) => c.name.includes('busiest pipeline'))!;
    const measured = await measure(db, receiver.url, 2, { ...graph, goalMs: 0 });
    if ('failed' in measured) throw new Error(`${graph.name} failed: ${measured.failed}`);
    expect(measured.meets_goal).toBe(false);
    expect(measured.slowest_plan![0]).toMatch(/cost=.*actual time=/);
    expect(measured.indexes).toContain('lineage_edges_pkey');
    expect(measured.without_indexes).toHaveProperty('plan_indexes');
    expect((measured.without_indexes as { plan_indexes: string[] }).plan_indexes).not.toContain('lineage_edges_pkey');
  });
});
