/**
 * What a run read and wrote, and a failed or stuck run's downstream impact (receiver/query/impact.ts,
 * through getRun of runs.ts) on real PostgreSQL, fed through the write path: the datasets its pipeline
 * writes minus those a succeeded stage of the run wrote, and their readers transitively with their hops,
 * through a cycle, and within the run's own tenant.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../../receiver/model/records.js';
import { getRun } from '../../../receiver/query/runs.js';
import { backends, databaseFor } from '../../helpers/backends.js';
import { twoTenants } from '../../helpers/lineage-graph.js';

describe.each(backends())('run datasets and impact on $name', (backend) => {
  const db = databaseFor(backend);
  let mine: Tenant;
  let theirs: Tenant;
  beforeAll(async () => {
    [mine, theirs] = await twoTenants(db);
  });

  const run = async (runId: string, tenant = mine) => (await getRun(db, tenant.id, runId))!;
  const hops = (impact: Awaited<ReturnType<typeof run>>['impact']) => ({
    datasets: impact!.datasets.map((d) => `${d.dataset}@${d.hops}`),
    pipelines: impact!.pipelines.map((p) => `${p.pipeline}@${p.hops}`),
    truncated: impact!.truncated,
  });

  it('lists what a run and its stages read and wrote', async () => {
    const { datasets } = await run('t-2');
    expect(datasets.map((d) => [d.dataset, d.direction, d.stage, d.stage_run_id, d.rows])).toEqual([
      ['dw://customers', 'write', 'build_customers', 't-2-build_customers', 12],
      ['dw://orders', 'write', 'build', 't-2-build', null],
      ['dw://raw_orders', 'read', 'build', 't-2-build', null],
      ['dw://raw_orders', 'read', 'build_customers', 't-2-build_customers', null],
    ]);
  });

  it("follows a failed run's unwritten datasets downstream, transitively, leaving out what a succeeded stage wrote", async () => {
    const failed = await run('t-2');
    expect(failed.result).toBe('failure');
    // build failed (dw://orders), build_customers succeeded (dw://customers: not affected, nor ml reading it).
    // feedback writes dw://raw_orders, which transform itself reads: the cycle ends at the run's own pipeline.
    expect(hops(failed.impact)).toEqual({
      datasets: ['dw://orders@0', 'dw://daily_report@1', 'dw://raw_orders@2'],
      pipelines: ['report@1', 'feedback@2'],
      truncated: false,
    });
  });

  it("follows a stuck run's unwritten datasets: a stage still running wrote nothing", async () => {
    const stuck = await run('m-1');
    expect([stuck.state, stuck.stuck]).toEqual(['running', true]);
    expect(hops(stuck.impact)).toEqual({ datasets: ['dw://scores@0'], pipelines: ['dash@1'], truncated: false });
  });

  it('gives no impact for a run that succeeded', async () => {
    expect((await run('t-1')).impact).toBeNull();
    expect((await run('r-1')).impact).toBeNull();
  });

  it("walks the run's own tenant only", async () => {
    // Their t-1 is a failed transform too, writing their dw://secret, read by their hidden pipeline.
    expect(hops((await run('t-1', theirs)).impact)).toEqual({ datasets: ['dw://secret@0', 'dw://orders@1'], pipelines: ['hidden@1'], truncated: false });
    expect((await run('t-1', theirs)).datasets.map((d) => d.dataset)).toEqual(['dw://raw_orders', 'dw://secret']);
  });
});
