/**
 * Every Prometheus metric the receiver exports, on its own registry. Names follow prometheus.io
 * practice (base units, `_total`, `_timestamp_seconds`); labels are bounded: never a run id, and at
 * most `maxPipelines` distinct pipeline (and stage, error type) values per metric, past which a value
 * is reported as OVERFLOW_LABEL.
 *
 * Pipeline counters move only for rows the writer actually committed, so a resent batch counts once.
 */
import client from 'prom-client';
import type { PipelineState } from '../contract/pipeline-facts.js';
import { readPipelineStates } from './pipeline-state.js';
import { describeDatabaseError } from './storage/errors.js';
import type { Database } from './storage/database.js';
import { SIGNALS, type Signal } from '../contract/signal.js';
import type { RunEnded, StageEnded } from './model/runs.js';
import { FAILED_RESULTS } from '../contract/vocabulary.js';

export const OVERFLOW_LABEL = '__overflow__';

const FAILURE_REASONS = ['overloaded', 'database_unavailable', 'database_error', 'internal'] as const;
type FailureReason = (typeof FAILURE_REASONS)[number];

/** Pipelines run for seconds to hours: prom-client's web buckets (5 ms to 10 s) would say nothing. */
const PIPELINE_SECONDS_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400];
const REQUEST_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What one committed batch changed, applied to the metrics after COMMIT. */
export interface Committed {
  signal: Signal;
  accepted: number;
  duplicates: number;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** A gauge's values for one pipeline, each with its labels beyond tenant and pipeline. */
type Series = [labels: Record<string, string>, value: number][];
const one = (value: number | null): Series => (value === null ? [] : [[{}, value]]);

export function createMetrics(options: { maxPipelines?: number } = {}) {
  const maxValues = options.maxPipelines ?? 500;
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'pipemon_' });

  const seen = new Map<string, Set<string>>();
  /** The label value to use for `value` in `metric`: itself until the metric holds maxValues of them. */
  function bounded(metric: string, value: string): string {
    let values = seen.get(metric);
    if (!values) seen.set(metric, (values = new Set()));
    if (values.has(value)) return value;
    if (values.size >= maxValues) return OVERFLOW_LABEL;
    values.add(value);
    return value;
  }

  const counter = (name: string, help: string, labelNames: string[]) =>
    new client.Counter({ name, help, labelNames, registers: [registry] });

  const accepted = counter('pipemon_receiver_accepted_records_total', 'Records committed to the database.', ['signal']);
  const duplicates = counter(
    'pipemon_receiver_duplicate_records_total',
    'Records received again (a client resent after a lost response) and not stored twice.',
    ['signal'],
  );
  const refused = counter(
    'pipemon_receiver_refused_records_total',
    'Records refused as invalid: the client was told not to retry them.',
    ['signal', 'reason'],
  );
  const failed = counter(
    'pipemon_receiver_failed_records_total',
    'Records not stored, by reason: answered 503 (overloaded, database_unavailable, internal), which the client retries, or refused by the database (database_error).',
    ['signal', 'reason'],
  );
  const requestDuration = new client.Histogram({
    name: 'pipemon_receiver_request_duration_seconds',
    help: 'Ingest request duration from the first byte to the response, by signal and status (an HTTP status number, or a gRPC code name over OTLP/gRPC).',
    labelNames: ['signal', 'code'],
    buckets: REQUEST_SECONDS_BUCKETS,
    registers: [registry],
  });
  const batchRecords = new client.Histogram({
    name: 'pipemon_writer_batch_records',
    help: 'Records per group-commit transaction.',
    buckets: [1, 10, 100, 1000, 2500, 5000, 10000, 25000, 50000],
    registers: [registry],
  });
  const commitDuration = new client.Histogram({
    name: 'pipemon_writer_commit_duration_seconds',
    help: 'Duration of one group-commit transaction, BEGIN to COMMIT.',
    buckets: REQUEST_SECONDS_BUCKETS,
    registers: [registry],
  });
  const queueBytes = new client.Gauge({
    name: 'pipemon_writer_queue_bytes',
    help: 'Request bytes held by the writer (read, not yet acknowledged).',
    registers: [registry],
  });
  const queueLimitBytes = new client.Gauge({
    name: 'pipemon_writer_queue_limit_bytes',
    help: 'The writer memory budget: past it, requests are answered 503.',
    registers: [registry],
  });
  const databaseErrors = counter('pipemon_database_errors_total', 'Failed database transactions by kind.', ['kind']);
  const lineageEvents = counter(
    'pipemon_receiver_lineage_events_total',
    'OpenLineage events received, by type: run events become runs and stages; job and dataset events (static lineage) are counted only.',
    ['type'],
  );
  // Series that exist from the start, so that increase() sees their first event (see runEnded).
  for (const signal of SIGNALS) {
    accepted.inc({ signal }, 0);
    duplicates.inc({ signal }, 0);
    for (const reason of FAILURE_REASONS) failed.inc({ signal, reason }, 0);
  }
  for (const type of ['run', 'job', 'dataset']) lineageEvents.inc({ type }, 0);
  const countedPipelines = new Set<string>();

  const runs = counter('pipemon_pipeline_runs_total', 'Pipeline runs ended, by result.', ['tenant', 'pipeline', 'result']);
  const runDuration = new client.Histogram({
    name: 'pipemon_pipeline_run_duration_seconds',
    help: 'Duration of ended pipeline runs.',
    labelNames: ['tenant', 'pipeline', 'result'],
    buckets: PIPELINE_SECONDS_BUCKETS,
    registers: [registry],
  });
  const stageDuration = new client.Histogram({
    name: 'pipemon_pipeline_stage_duration_seconds',
    help: 'Duration of ended pipeline stages.',
    labelNames: ['tenant', 'pipeline', 'stage', 'result'],
    buckets: PIPELINE_SECONDS_BUCKETS,
    registers: [registry],
  });
  const rows = counter('pipemon_pipeline_rows_total', 'Rows processed by ended stages, by kind (read, written, rejected).', [
    'tenant',
    'pipeline',
    'stage',
    'kind',
  ]);
  const errors = counter('pipemon_pipeline_errors_total', 'Pipeline runs ended in failure, error or timeout, by error.type.', [
    'tenant',
    'pipeline',
    'error_type',
  ]);
  let database: Database | null = null;
  // Every scrape reads the pipelines' state once, shared by the gauges below (prom-client collects them
  // together); a read under way serves the scrapes that arrive meanwhile (several Prometheus servers),
  // so reads never pile up. A failed read keeps the previous values, and is counted.
  let reading: Promise<PipelineState[] | null> | null = null;
  let lastReadError = '';
  const currentStates = () => {
    if (!database) return Promise.resolve(null);
    reading ??= readPipelineStates(database)
      .catch((error: unknown) => {
        databaseErrors.inc({ kind: 'pipeline_state' });
        const why = describeDatabaseError(error);
        if (why !== lastReadError) console.warn(`pipemon: reading the pipelines' state for /metrics failed (shown once per reason): ${why}`);
        lastReadError = why;
        return null;
      })
      .finally(() => {
        reading = null;
      });
    return reading;
  };
  /** A gauge set at scrape time from each pipeline's state: `series` lists its values with their extra labels. */
  const stateGauge = (name: string, help: string, extraLabels: string[], series: (state: PipelineState) => Series) =>
    new client.Gauge({
      name,
      help,
      labelNames: ['tenant', 'pipeline', ...extraLabels],
      registers: [registry],
      async collect() {
        const read = await currentStates();
        if (!read) return;
        this.reset();
        for (const state of read) {
          const pipeline = bounded('state', state.pipeline);
          for (const [labels, value] of series(state)) this.set({ tenant: state.tenant, pipeline, ...labels }, value);
        }
      },
    });
  stateGauge('pipemon_pipeline_info', 'Always 1: a pipeline and the team that owns it (pipemon.pipeline.owner of its latest run).', ['owner'], (s) => [
    [{ owner: bounded('owners', s.owner) }, 1],
  ]);
  stateGauge('pipemon_pipeline_runs_in_progress', 'Pipeline runs started and not yet ended.', [], (s) => one(s.running));
  stateGauge(
    'pipemon_pipeline_expected_interval_seconds',
    'How often the pipeline should run: declared by its latest run, else the median gap between its latest run starts.',
    [],
    (s) => one(s.expectedIntervalSeconds),
  );
  // From the database, not from the runs this receiver saw end: with several receivers, each sees some.
  stateGauge(
    'pipemon_pipeline_last_success_timestamp_seconds',
    'When the last successful run of the pipeline ended (Unix seconds). Alert on time() minus this.',
    [],
    (s) => one(s.lastSuccessSeconds),
  );
  stateGauge('pipemon_pipeline_last_run_end_timestamp_seconds', 'When the latest ended run ended (Unix seconds).', [], (s) => one(s.lastRunEndSeconds));
  stateGauge('pipemon_pipeline_last_run_duration_seconds', 'Duration of the latest ended run.', [], (s) => one(s.lastRunDurationSeconds));
  stateGauge('pipemon_pipeline_last_run_rows', 'Rows of the latest ended run, by kind (read, written, rejected), as the run reported them.', ['kind'], (s) =>
    (['read', 'written', 'rejected'] as const).flatMap((kind): Series => (s.lastRunRows[kind] === null ? [] : [[{ kind }, s.lastRunRows[kind]!]])),
  );
  stateGauge(
    'pipemon_pipeline_last_run_failed_checks',
    'Data-quality checks (pipeline.check records) that failed in the latest ended run.',
    [],
    (s) => one(s.lastRunFailedChecks),
  );
  stateGauge(
    'pipemon_pipeline_consecutive_failures',
    'Ended runs that failed (failure, error, timeout) since the last successful one: 0 once a run succeeds.',
    [],
    (s) => one(s.consecutiveFailures),
  );
  stateGauge(
    'pipemon_pipeline_oldest_running_heartbeat_timestamp_seconds',
    'The oldest last sign of life (start or heartbeat) among running runs (Unix seconds). Alert on time() minus this.',
    [],
    (s) => one(s.oldestRunningHeartbeatSeconds),
  );
  stateGauge(
    'pipemon_pipeline_oldest_running_start_timestamp_seconds',
    'When the oldest running run started (Unix seconds).',
    [],
    (s) => one(s.oldestRunningStartSeconds),
  );

  return {
    registry,
    queueLimitBytes,
    queueBytes,
    requestDuration,
    batchRecords,
    commitDuration,
    databaseErrors,

    committed({ signal, accepted: n, duplicates: d }: Committed): void {
      if (n > 0) accepted.inc({ signal }, n);
      if (d > 0) duplicates.inc({ signal }, d);
    },
    refused(signal: Signal, reasons: Map<string, number>): void {
      for (const [reason, n] of reasons) refused.inc({ signal, reason }, n);
    },
    lineage(type: 'run' | 'job' | 'dataset', n: number): void {
      if (n > 0) lineageEvents.inc({ type }, n);
    },
    failed(signal: Signal, reason: FailureReason, n: number): void {
      if (n > 0) failed.inc({ signal, reason }, n);
    },
    runEnded(run: RunEnded): void {
      const pipeline = bounded('runs', run.pipeline);
      // A counter that appears at its first increment hides that increment from increase(): a pipeline's
      // first failure would not count. Its success and failure series start at 0 instead.
      const key = `${run.tenant}\u0000${pipeline}`;
      if (!countedPipelines.has(key)) {
        countedPipelines.add(key);
        for (const result of ['success', ...FAILED_RESULTS] as const) runs.inc({ tenant: run.tenant, pipeline, result }, 0);
      }
      runs.inc({ tenant: run.tenant, pipeline, result: run.result });
      if (run.durationSeconds !== null) runDuration.observe({ tenant: run.tenant, pipeline, result: run.result }, run.durationSeconds);
      if (run.result === 'failure' || run.result === 'error' || run.result === 'timeout') {
        errors.inc({ tenant: run.tenant, pipeline, error_type: bounded('error_types', run.errorType ?? run.result) });
      }
    },
    stageEnded(stage: StageEnded): void {
      const pipeline = bounded('stages', stage.pipeline);
      const name = bounded('stage_names', stage.stage);
      if (stage.durationSeconds !== null) {
        stageDuration.observe({ tenant: stage.tenant, pipeline, stage: name, result: stage.result }, stage.durationSeconds);
      }
      for (const kind of ['read', 'written', 'rejected'] as const) {
        const n = stage.rows[kind];
        if (n !== null && n > 0) rows.inc({ tenant: stage.tenant, pipeline, stage: name, kind }, n);
      }
    },
    /** From now on, each scrape reads every pipeline's state from `db`. */
    attachDatabase(db: Database): void {
      database = db;
    },
  };
}
