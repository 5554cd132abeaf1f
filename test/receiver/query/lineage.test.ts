/**
 * The lineage graph (receiver/query/lineage.ts over lineage-walk.ts) on real PostgreSQL, fed through the
 * write path (prepare + writeBatch): depth counts pipeline hops, each direction walks its own way, a
 * cycle ends, nodes carry their pipeline's state and their dataset's freshness, and another tenant's
 * pipelines and datasets never appear.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../../receiver/model/records.js';
import type { LineageGraph } from '../../../receiver/query/api-types.js';
import { lineageGraph, type LineageDirection, type LineageRoot } from '../../../receiver/query/lineage.js';
import { backends, databaseFor } from '../../helpers/backends.js';
import { NOW, twoTenants } from '../../helpers/lineage-graph.js';

describe.each(backends())('lineage graph on $name', (backend) => {
  const db = databaseFor(backend);
  let mine: Tenant;
  let theirs: Tenant;
  const idOf = async (tenant: Tenant, dataset: string) =>
    (await db.query<{ id: string }>('SELECT dataset_id::text AS id FROM datasets WHERE tenant_id = $1 AND dataset = $2', [tenant.id, dataset])).rows[0]!.id;

  beforeAll(async () => {
    [mine, theirs] = await twoTenants(db);
  });

  const graph = (root: LineageRoot, direction: LineageDirection, depth: number, tenant = mine) => lineageGraph(db, tenant.id, root, direction, depth, NOW);

  /** Nodes as name@hops, edges as name -> name: the graph readable in one line each. */
  function readable(found: LineageGraph | null) {
    const names = new Map(found!.nodes.map((node) => [node.id, node.kind === 'pipeline' ? node.pipeline.pipeline : node.dataset.dataset]));
    return {
      nodes: found!.nodes.map((node) => `${names.get(node.id)}@${node.hops}`).sort(),
      edges: found!.edges.map((edge) => `${names.get(edge.source)} -> ${names.get(edge.target)}`).sort(),
    };
  }

  it('walks down as many pipeline hops as the depth asks, and a cycle ends', async () => {
    expect(readable(await graph({ pipeline: 'extract' }, 'down', 1))).toEqual({
      nodes: ['dw://raw_orders@0', 'extract@0', 'transform@1'],
      edges: ['dw://raw_orders -> transform', 'extract -> dw://raw_orders'],
    });
    expect(readable(await graph({ pipeline: 'extract' }, 'down', 2))).toEqual({
      nodes: ['dw://customers@1', 'dw://orders@1', 'dw://raw_orders@0', 'extract@0', 'ml@2', 'report@2', 'transform@1'],
      edges: ['dw://customers -> ml', 'dw://orders -> report', 'dw://raw_orders -> transform', 'extract -> dw://raw_orders', 'transform -> dw://customers', 'transform -> dw://orders'],
    });
    // feedback writes dw://raw_orders again: the edge is drawn, the dataset is not walked twice.
    const deep = readable(await graph({ pipeline: 'extract' }, 'down', 4));
    expect(deep.nodes).toEqual([
      'dash@3', 'dw://customers@1', 'dw://daily_report@2', 'dw://orders@1', 'dw://raw_orders@0', 'dw://scores@2',
      'extract@0', 'feedback@3', 'ml@2', 'report@2', 'transform@1',
    ]);
    expect(deep.edges).toContain('feedback -> dw://raw_orders');
    expect(readable(await graph({ pipeline: 'extract' }, 'down', 10))).toEqual(deep);
  });

  it('walks up to what a pipeline is made from, and both ways without mixing them', async () => {
    expect(readable(await graph({ pipeline: 'report' }, 'up', 1))).toEqual({ nodes: ['dw://orders@0', 'report@0', 'transform@1'], edges: ['dw://orders -> report', 'transform -> dw://orders'] });
    expect(readable(await graph({ pipeline: 'report' }, 'up', 3)).nodes).toEqual([
      'dw://daily_report@2', 'dw://orders@0', 'dw://raw_orders@1', 'extract@2', 'feedback@2', 'report@0', 'src://shop.orders@2', 'transform@1',
    ]);
    // Both: transform's inputs and their writers, its outputs and their readers; not the readers of its inputs' other readers.
    expect(readable(await graph({ pipeline: 'transform' }, 'both', 1)).nodes).toEqual([
      'dw://customers@0', 'dw://orders@0', 'dw://raw_orders@0', 'extract@1', 'feedback@1', 'ml@1', 'report@1', 'transform@0',
    ]);
    const orders = await idOf(mine, 'dw://orders');
    expect(readable(await graph({ datasetId: orders }, 'down', 1)).nodes).toEqual(['dw://orders@0', 'report@1']);
    expect(readable(await graph({ datasetId: orders }, 'up', 1)).nodes).toEqual(['dw://orders@0', 'transform@1']);
    const both = await graph({ datasetId: orders }, 'both', 1);
    expect([both!.root, both!.direction, both!.depth, readable(both).nodes]).toEqual([`dataset:${orders}`, 'both', 1, ['dw://orders@0', 'report@1', 'transform@1']]);
  });

  it('gives each edge its stages and last run, each pipeline its state now and each dataset its freshness', async () => {
    const found = (await graph({ pipeline: 'transform' }, 'down', 2))!;
    const customersId = await idOf(mine, 'dw://customers');
    const toCustomers = found.edges.find((e) => e.source === 'pipeline:transform' && e.target === `dataset:${customersId}`)!;
    expect(toCustomers).toMatchObject({ direction: 'write', stages: ['build_customers'], last_run_id: 't-2', rows: 12 });
    const pipelines = new Map(found.nodes.flatMap((node) => (node.kind === 'pipeline' ? [[node.pipeline.pipeline, node.pipeline]] : [])));
    expect(pipelines.get('transform')).toMatchObject({ consecutive_failures: 1, expected_interval_seconds: 3600, stuck: false, running: 0 });
    expect(pipelines.get('ml')).toMatchObject({ stuck: true, running: 1, consecutive_failures: 0 });
    const freshness = Object.fromEntries(found.nodes.flatMap((node) => (node.kind === 'dataset' ? [[node.dataset.dataset, node.dataset.freshness]] : [])));
    // orders was last written five hours ago by an hourly pipeline (t-2's build failed): stale; customers half an hour ago: fresh.
    expect(freshness).toMatchObject({ 'dw://orders': 'stale', 'dw://customers': 'fresh', 'dw://scores': 'unknown' });
  });

  it("never shows another tenant's pipelines or datasets, and answers null for them", async () => {
    const names = (await graph({ pipeline: 'transform' }, 'both', 10))!.nodes.map((node) => (node.kind === 'pipeline' ? node.pipeline.pipeline : node.dataset.dataset));
    expect(names).not.toContain('dw://secret');
    expect(names).not.toContain('hidden');
    expect(await graph({ pipeline: 'hidden' }, 'both', 2)).toBeNull();
    expect(await graph({ pipeline: 'no-such-pipeline' }, 'both', 2)).toBeNull();
    expect(await graph({ datasetId: await idOf(theirs, 'dw://secret') }, 'both', 2)).toBeNull();
    expect(await graph({ datasetId: '999999999' }, 'both', 2)).toBeNull();
    // Their graph is theirs: hidden writes their dw://orders, which transform does not in theirs.
    expect(readable(await graph({ pipeline: 'hidden' }, 'down', 1, theirs)).nodes).toEqual(['dw://orders@0', 'hidden@0']);
  });
});
