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
import { SIGNALS } from '../../contract/signal.js';
import { createIngestReport, FAILURE_REASONS, type IngestReport } from './ingest-report.js';
import { createInstruments } from './instruments.js';
import { createLabelBound } from './label-bound.js';
import { createWriterReport, type WriterReport } from './writer-report.js';

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
  // Series that exist from the start, so that increase() sees their first event (writer-report.ts says why).
  for (const signal of SIGNALS) {
    instruments.accepted.inc({ signal }, 0);
    instruments.duplicates.inc({ signal }, 0);
    for (const reason of FAILURE_REASONS) instruments.failed.inc({ signal, reason }, 0);
  }
  for (const type of ['run', 'job', 'dataset']) instruments.lineageEvents.inc({ type }, 0);
  return {
    registry,
    requests: createIngestReport(instruments, now),
    writer: createWriterReport(instruments, createLabelBound(maxPipelines), now),
    databaseError: (kind) => instruments.databaseErrors.inc({ kind }),
  };
}
