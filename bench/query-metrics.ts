/**
 * bench:query's OTLP metrics, beside its records: the busiest pipeline's service reports, per stage, a
 * counter of rows and a histogram of batch durations, one point each per run of its latest METRIC_RUNS,
 * each point's exemplar naming that run's trace (as an SDK records one in a sampled span). So the metric
 * routes are measured on a pipeline's few long series, and a run's points are found by its trace. Kept
 * small whatever the world's size: the metric reads are bounded by their series, not by the records.
 */
import { ATTR } from '../contract/vocabulary.js';
import { prepare } from '../receiver/ingest/prepare.js';
import type { Metric, MetricPointRow, Tenant } from '../receiver/model/records.js';
import type { Database } from '../receiver/storage/database.js';
import { createPartitionManager } from '../receiver/storage/partitions.js';
import { ensurePartitions } from '../receiver/storage/record-copy.js';
import { writeBatch } from '../receiver/storage/write-batch.js';
import type { Pipeline } from './query-world.js';

export const BENCH_METRICS = { counter: 'bench.rows.processed', histogram: 'bench.batch.duration' } as const;
const METRIC_RUNS = 500;
const BOUNDS = [0.1, 1, 10, 60];

interface MetricRun {
  started_ms: number;
  trace_id: string | null;
}

const nanos = (ms: number) => String(BigInt(ms) * 1_000_000n);

/** The points of one stage's series over `runs` (oldest first): the counter and histogram grow by each run's share. */
function stagePoints(pipeline: Pipeline, stage: string, runs: MetricRun[], metrics: { counter: Metric; histogram: Metric }): MetricPointRow[] {
  const resource = { attributes: { 'service.name': pipeline.service, [ATTR.pipelineName]: pipeline.name }, schemaUrl: '', droppedAttributesCount: 0 };
  const scope = { name: 'bench', version: '1', attributes: {}, schemaUrl: '' };
  const start = nanos(runs[0]!.started_ms);
  const buckets = [0, 0, 0, 0, 0];
  return runs.flatMap((run, i) => {
    buckets[i % buckets.length]! += 1;
    const exemplars = run.trace_id ? [{ filteredAttributes: {}, timeUnixNano: nanos(run.started_ms), value: 1, traceId: run.trace_id, spanId: run.trace_id.slice(0, 16) }] : [];
    const common = { resource, scope, attributes: { [ATTR.stageName]: stage }, startTimeUnixNano: start, timeUnixNano: nanos(run.started_ms + 1000), flags: 0, exemplars };
    const empty = { asDouble: null, asInt: null, count: '0', sum: null, min: null, max: null, bucketCounts: [], explicitBounds: [], exponential: null, quantileValues: [] };
    const count = buckets.reduce((a, b) => a + b, 0);
    return [
      { ...common, ...empty, metric: metrics.counter, asInt: String(1000 * (i + 1)) },
      { ...common, ...empty, metric: metrics.histogram, count: String(count), sum: 2.5 * count, bucketCounts: buckets.map(String), explicitBounds: BOUNDS },
    ];
  });
}

/** Writes the metrics of `pipeline`'s latest runs that started at or after `sinceMs`; returns the points written. */
export async function loadMetrics(db: Database, tenant: Tenant, pipeline: Pipeline, sinceMs: number): Promise<number> {
  const { rows } = await db.query<MetricRun>(
    `SELECT started_ms, trace_id FROM (
       SELECT (extract(epoch FROM started_at) * 1000)::float8 AS started_ms, trace_id FROM pipeline_runs
        WHERE tenant_id = $1 AND pipeline = $2 AND started_at >= $3 ORDER BY started_at DESC LIMIT ${METRIC_RUNS}) r
      ORDER BY started_ms`,
    [tenant.id, pipeline.name, new Date(sinceMs).toISOString()],
  );
  if (rows.length === 0) return 0;
  const description = { description: '', metadata: {}, monotonic: true };
  const metrics = {
    counter: { ...description, name: BENCH_METRICS.counter, unit: '{row}', kind: 'sum', temporality: 2 } satisfies Metric,
    histogram: { ...description, name: BENCH_METRICS.histogram, unit: 's', kind: 'histogram', temporality: 2, monotonic: false } satisfies Metric,
  };
  const points = pipeline.stages.flatMap((stage) => stagePoints(pipeline, stage, rows, metrics));
  const prepared = [prepare(tenant, [], [], points)];
  const partitions = createPartitionManager();
  await ensurePartitions(db, partitions, prepared);
  const effects = await db.transaction((tx) => writeBatch(tx, partitions, prepared));
  if (effects.points.accepted !== points.length) throw new Error(`benchmark check failed: ${points.length} metric points written, ${effects.points.accepted} stored`);
  return points.length;
}
