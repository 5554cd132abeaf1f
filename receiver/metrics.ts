/**
 * The receiver's own Prometheus metrics: its ingest requests (records accepted, refused, failed, and
 * durations), its writer (memory budget, group-commit batches) and what each COMMIT changed (runs and
 * stages ended). Names follow prometheus.io practice (base units, `_total`, `_timestamp_seconds`);
 * labels are bounded: never a run id, and at most `maxPipelines` distinct pipeline (and stage, error
 * type) values per metric (label-bound.ts). The pipelines' state gauges are a part of their own
 * (pipeline-gauges.ts), registered on the same registry once the database is open.
 *
 * Each operation is recorded once, when it ends, as the OpenTelemetry Collector's obsreport does: a
 * request when it is answered (ingest-report.ts), a batch when it commits or fails (writer-report.ts).
 * Pipeline counters move only for rows the writer actually committed, so a resent batch counts once.
 */
import client from 'prom-client';
import { SIGNALS } from '../contract/signal.js';
import { createIngestReport, FAILURE_REASONS, type IngestReport } from './ingest-report.js';
import { createLabelBound } from './label-bound.js';
import { createWriterReport, type WriterReport } from './writer-report.js';

export { OVERFLOW_LABEL } from './label-bound.js';

/** Pipelines run for seconds to hours: prom-client's web buckets (5 ms to 10 s) would say nothing. */
const PIPELINE_SECONDS_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400];
const REQUEST_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Metrics {
  /** What /metrics serves: these metrics, Node's own, and any part registered beside them. */
  registry: client.Registry;
  requests: IngestReport;
  writer: WriterReport;
  /** Counts a failed database read outside the writer, by what was being read. */
  databaseError(kind: 'pipeline_state'): void;
}

export interface MetricsOptions {
  maxPipelines?: number;
  /** Milliseconds, for durations: performance.now unless a test steps a clock of its own. */
  now?: () => number;
}

export function createMetrics({ maxPipelines, now = () => performance.now() }: MetricsOptions = {}): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'pipemon_' });
  const instruments = createInstruments(registry);
  return {
    registry,
    requests: createIngestReport(instruments, now),
    writer: createWriterReport(instruments, createLabelBound(maxPipelines), now),
    databaseError: (kind) => instruments.databaseErrors.inc({ kind }),
  };
}

export type Instruments = ReturnType<typeof createInstruments>;

/** Every metric of the receiver's own, registered in the order /metrics lists them. */
function createInstruments(registry: client.Registry) {
  const counter = (name: string, help: string, labelNames: string[]) => new client.Counter({ name, help, labelNames, registers: [registry] });
  const histogram = (name: string, help: string, labelNames: string[], buckets: number[]) =>
    new client.Histogram({ name, help, labelNames, buckets, registers: [registry] });
  const gauge = (name: string, help: string) => new client.Gauge({ name, help, registers: [registry] });

  const instruments = {
    accepted: counter('pipemon_receiver_accepted_records_total', 'Records committed to the database.', ['signal']),
    duplicates: counter(
      'pipemon_receiver_duplicate_records_total',
      'Records received again (a client resent after a lost response) and not stored twice.',
      ['signal'],
    ),
    refused: counter('pipemon_receiver_refused_records_total', 'Records refused as invalid: the client was told not to retry them.', ['signal', 'reason']),
    failed: counter(
      'pipemon_receiver_failed_records_total',
      'Records not stored, by reason: answered 503 (overloaded, database_unavailable, internal), which the client retries, or refused by the database (database_error).',
      ['signal', 'reason'],
    ),
    requestDuration: histogram(
      'pipemon_receiver_request_duration_seconds',
      'Ingest request duration from the first byte to the response, by signal and status (an HTTP status number, or a gRPC code name over OTLP/gRPC).',
      ['signal', 'code'],
      REQUEST_SECONDS_BUCKETS,
    ),
    batchRecords: histogram('pipemon_writer_batch_records', 'Records per group-commit transaction.', [], [1, 10, 100, 1000, 2500, 5000, 10000, 25000, 50000]),
    commitDuration: histogram('pipemon_writer_commit_duration_seconds', 'Duration of one group-commit transaction, BEGIN to COMMIT.', [], REQUEST_SECONDS_BUCKETS),
    queueBytes: gauge('pipemon_writer_queue_bytes', 'Request bytes held by the writer (read, not yet acknowledged).'),
    queueLimitBytes: gauge('pipemon_writer_queue_limit_bytes', 'The writer memory budget: past it, requests are answered 503.'),
    databaseErrors: counter('pipemon_database_errors_total', 'Failed database transactions by kind.', ['kind']),
    lineageEvents: counter(
      'pipemon_receiver_lineage_events_total',
      'OpenLineage events received, by type: run events become runs and stages; job and dataset events (static lineage) are counted only.',
      ['type'],
    ),
    runs: counter('pipemon_pipeline_runs_total', 'Pipeline runs ended, by result.', ['tenant', 'pipeline', 'result']),
    runDuration: histogram('pipemon_pipeline_run_duration_seconds', 'Duration of ended pipeline runs.', ['tenant', 'pipeline', 'result'], PIPELINE_SECONDS_BUCKETS),
    stageDuration: histogram(
      'pipemon_pipeline_stage_duration_seconds',
      'Duration of ended pipeline stages.',
      ['tenant', 'pipeline', 'stage', 'result'],
      PIPELINE_SECONDS_BUCKETS,
    ),
    rows: counter('pipemon_pipeline_rows_total', 'Rows processed by ended stages, by kind (read, written, rejected).', ['tenant', 'pipeline', 'stage', 'kind']),
    errors: counter('pipemon_pipeline_errors_total', 'Pipeline runs ended in failure, error or timeout, by error.type.', ['tenant', 'pipeline', 'error_type']),
  };
  // Series that exist from the start, so that increase() sees their first event (writer-report.ts says why).
  for (const signal of SIGNALS) {
    instruments.accepted.inc({ signal }, 0);
    instruments.duplicates.inc({ signal }, 0);
    for (const reason of FAILURE_REASONS) instruments.failed.inc({ signal, reason }, 0);
  }
  for (const type of ['run', 'job', 'dataset']) instruments.lineageEvents.inc({ type }, 0);
  return instruments;
}
