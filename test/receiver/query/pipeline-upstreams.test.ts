/**
 * What a pipeline waits on (receiver/query/pipeline-upstreams.ts): its direct upstreams that are failing,
 * late or stuck now, beside its state in the pipelines list and on the lineage graph's nodes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../../receiver/model/records.js';
import { lineageGraph } from '../../../receiver/query/lineage.js';
import { metricsPerPipeline } from '../../../receiver/query/metrics.js';
import { readPipelineStates } from '../../../receiver/query/pipeline-state.js';
import { unhealthyUpstreams } from '../../../receiver/query/pipeline-upstreams.js';
import { backends, databaseFor } from '../../helpers/backends.js';
import { NOW, twoTenants } from '../../helpers/lineage-graph.js';

describe.each(backends())('unhealthy upstreams on $name', (backend) => {
  const db = databaseFor(backend);
  let mine: Tenant;
  beforeAll(async () => {
    [mine] = await twoTenants(db);
  });

  it("names each pipeline's failing, late or stuck direct upstreams, and reads the states of upstreams it was not given", async () => {
    const states = await readPipelineStates(db, mine.id);
    // transform's latest run failed; ml's run went silent (stuck). feedback's upstream, report, is healthy.
    expect(Object.fromEntries(await unhealthyUpstreams(db, mine.id, states, NOW / 1000))).toEqual({ report: ['transform'], ml: ['transform'], dash: ['ml'] });
    const dashOnly = states.filter((state) => state.pipeline === 'dash');
    expect(Object.fromEntries(await unhealthyUpstreams(db, mine.id, dashOnly, NOW / 1000))).toEqual({ dash: ['ml'] });
  });

  it('shows them beside each pipeline in the pipelines list and on the graph', async () => {
    const page = await metricsPerPipeline(db, mine.id, 7, 0, NOW);
    expect(Object.fromEntries(page.items.map((item) => [item.pipeline, item.upstream_unhealthy]))).toEqual({
      dash: ['ml'],
      extract: [],
      feedback: [],
      ml: ['transform'],
      report: ['transform'],
      transform: [],
    });
    const graph = await lineageGraph(db, mine.id, { pipeline: 'report' }, 'both', 1, NOW);
    const report = graph!.nodes.find((node) => node.kind === 'pipeline' && node.pipeline.pipeline === 'report');
    expect(report?.kind === 'pipeline' && report.pipeline.upstream_unhealthy).toEqual(['transform']);
  });
});
