/**
 * Every metric of the receiver's own, as prom-client instruments, registered in the order /metrics
 * lists them. Names follow prometheus.io practice (base units, `_total`, `_timestamp_seconds`).
 */
import client from 'prom-client';

/** Pipelines run for seconds to hours: prom-client's web buckets (5 ms to 10 s) would say nothing. */
const PIPELINE_SECONDS_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400];
const REQUEST_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type Instruments = ReturnType<typeof createInstruments>;

/** Every metric of the receiver's own, registered in the order /metrics lists them. */
export function createInstruments(registry: client.Registry) {
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
  return instruments;
}
