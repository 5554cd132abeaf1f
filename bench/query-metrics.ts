/**
 * bench:query's OTLP metrics, beside its records, shaped as the Node SDK's `r.meter` sends them: the
 * busiest pipeline's service reports, for each of its latest METRIC_RUNS runs, per stage and per table,
 * a cumulative counter of rows and a histogram of batch durations, exported every EXPORT_MS over the
 * run. The run's id, pipeline, stage and table are point attributes, so each run has its own series
 * (a pipeline's metric is thousands of short series, not a few long ones): the shape on which a
 * pipeline's series lists and by=run reads are slow, which one long series per stage hid. The
 * histogram's exemplars name the run's trace (as an SDK records one in a sampled span), so a run's
 * points are also found by its trace. Kept bounded whatever the world's size: the metric reads are
 * bounded by their series, not by the records; written BATCH_POINTS at a time.
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
/** The tables each stage writes: a counter and a histogram series for each, per run. */
const TABLES = ['orders', 'customers', 'payments', 'shipments', 'invoices', 'products', 'refunds', 'events'];
/** The SDK's export interval, and the most points a series gets (a long run's first two minutes). */
const EXPORT_MS = 10_000;
const MAX_SERIES_POINTS = 12;
/** Points per write: bounds the memory a world of any size takes. */
const BATCH_POINTS = 20_000;
const BOUNDS = [0.1, 1, 10, 60];

interface MetricRun {
  run_id: string;
  started_ms: number;
  ended_ms: number | null;
  trace_id: string | null;
}

interface Series {
  pipeline: Pipeline;
  run: MetricRun;
  stage: string;
  table: string;
}

const nanos = (ms: number) => String(BigInt(Math.round(ms)) * 1_000_000n);
const EMPTY = { asDouble: null, asInt: null, count: '0', sum: null, min: null, max: null, bucketCounts: [], explicitBounds: [], exponential: null, quantileValues: [] };

/** The times of a run's exports: every EXPORT_MS from its start to its end (at least one), at most MAX_SERIES_POINTS. */
function exportTimes(run: MetricRun): number[] {
  const duration = (run.ended_ms ?? run.started_ms) - run.started_ms;
  const count = Math.min(MAX_SERIES_POINTS, Math.max(1, Math.ceil(duration / EXPORT_MS)));
  return Array.from({ length: count }, (_, k) => run.started_ms + (k + 1) * EXPORT_MS);
}

/** The counter's and histogram's points of one run's stage and table: each export's totals since the run started. */
function seriesPoints({ pipeline, run, stage, table }: Series, metrics: { counter: Metric; histogram: Metric }): MetricPointRow[] {
  const resource = { attributes: { 'service.name': pipeline.service }, schemaUrl: '', droppedAttributesCount: 0 };
  const scope = { name: 'bench', version: '1', attributes: {}, schemaUrl: '' };
  const attributes = { [ATTR.runId]: run.run_id, [ATTR.pipelineName]: pipeline.name, [ATTR.stageName]: stage, [ATTR.dbCollection]: table };
  const buckets = [0, 0, 0, 0, 0];
  return exportTimes(run).flatMap((ms, i) => {
    buckets[i % buckets.length]! += 1;
    const count = i + 1;
    const common = { resource, scope, attributes, startTimeUnixNano: nanos(run.started_ms), timeUnixNano: nanos(ms), flags: 0 };
    const exemplars = run.trace_id ? [{ filteredAttributes: {}, timeUnixNano: nanos(ms), value: 2.5, traceId: run.trace_id, spanId: run.trace_id.slice(0, 16) }] : [];
    return [
      { ...common, ...EMPTY, exemplars: [], metric: metrics.counter, asInt: String(1000 * count) },
      { ...common, ...EMPTY, exemplars, metric: metrics.histogram, count: String(count), sum: 2.5 * count, bucketCounts: buckets.map(String), explicitBounds: BOUNDS },
    ];
  });
}

/** The points of every run's stage and table, BATCH_POINTS or a little more at a time. */
function* pointBatches(pipeline: Pipeline, runs: MetricRun[], metrics: { counter: Metric; histogram: Metric }): Generator<MetricPointRow[]> {
  let batch: MetricPointRow[] = [];
  for (const run of runs) {
    for (const stage of pipeline.stages) {
      for (const table of TABLES) {
        batch.push(...seriesPoints({ pipeline, run, stage, table }, metrics));
        if (batch.length >= BATCH_POINTS) {
          yield batch;
          batch = [];
        }
      }
    }
  }
  if (batch.length > 0) yield batch;
}

function benchMetrics(): { counter: Metric; histogram: Metric } {
  const description = { description: '', metadata: {}, monotonic: true };
  return {
    counter: { ...description, name: BENCH_METRICS.counter, unit: '{row}', kind: 'sum', temporality: 2 } satisfies Metric,
    histogram: { ...description, name: BENCH_METRICS.histogram, unit: 's', kind: 'histogram', temporality: 2, monotonic: false } satisfies Metric,
  };
}

/** Writes the metrics of `pipeline`'s latest runs that started at or after `sinceMs`; returns the points written. */
export async function loadMetrics(db: Database, tenant: Tenant, pipeline: Pipeline, sinceMs: number): Promise<number> {
  const { rows } = await db.query<MetricRun>(
    `SELECT run_id, (extract(epoch FROM started_at) * 1000)::float8 AS started_ms,
            (extract(epoch FROM ended_at) * 1000)::float8 AS ended_ms, trace_id
       FROM pipeline_runs
      WHERE tenant_id = $1 AND pipeline = $2 AND started_at >= $3 ORDER BY started_at DESC LIMIT ${METRIC_RUNS}`,
    [tenant.id, pipeline.name, new Date(sinceMs).toISOString()],
  );
  const partitions = createPartitionManager();
  let written = 0;
  for (const points of pointBatches(pipeline, rows, benchMetrics())) {
    const prepared = [prepare(tenant, [], [], points)];
    await ensurePartitions(db, partitions, prepared);
    const effects = await db.transaction((tx) => writeBatch(tx, partitions, prepared));
    if (effects.points.accepted !== points.length) throw new Error(`benchmark check failed: ${points.length} metric points written, ${effects.points.accepted} stored`);
    written += points.length;
  }
  return written;
}
