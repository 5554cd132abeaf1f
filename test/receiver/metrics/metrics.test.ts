/**
 * The receiver's own metrics alone (receiver/metrics/metrics.ts): a request is recorded once, when it is
 * answered, with what the line and routes told it on the way; a write batch once, when it commits or
 * fails, with what COMMIT changed. A stepped clock stands in for time.
 */
import { describe, expect, it } from 'vitest';
import { OVERFLOW_LABEL } from '../../../receiver/metrics/label-bound.js';
import { createMetrics, type Metrics } from '../../../receiver/metrics/metrics.js';
import type { BatchEffects } from '../../../receiver/storage/write-batch.js';

function setup(maxPipelines?: number) {
  const clock = { ms: 1_000 };
  const metrics = createMetrics({ maxPipelines, now: () => clock.ms });
  return { clock, metrics };
}

async function values(metrics: Metrics, name: string) {
  return (await metrics.registry.getSingleMetric(name)!.get()).values;
}

async function value(metrics: Metrics, name: string, labels: Record<string, string | number> = {}) {
  // A histogram's series are told apart by metricName (_bucket, _sum, _count), which is not a label.
  const found = (await values(metrics, name)).filter((v) =>
    Object.entries(labels).every(([k, want]) => (k === 'metricName' ? (v as { metricName?: string }).metricName : v.labels[k]) === want),
  );
  return found.length === 0 ? undefined : found.reduce((sum, v) => sum + v.value, 0);
}

const effects = (extra: Partial<BatchEffects> = {}): BatchEffects => ({
  logs: { accepted: 0, duplicates: 0 },
  spans: { accepted: 0, duplicates: 0 },
  points: { accepted: 0, duplicates: 0 },
  runsEnded: [],
  stagesEnded: [],
  ...extra,
});

describe('a request, recorded when it is answered', () => {
  it('records its duration under its code, and the records it was told about, only at end', async () => {
    const { clock, metrics } = setup();
    const request = metrics.requests.start('logs');
    request.refused(new Map([['timestamp older than the retention window', 2]]));
    request.refused(new Map([['invalid activity record', 1]]));
    request.lineage(new Map([['run', 3], ['dataset', 0]]));
    expect(await value(metrics, 'pipemon_receiver_refused_records_total')).toBeUndefined();
    expect(await value(metrics, 'pipemon_receiver_lineage_events_total', { type: 'run' })).toBe(0);

    clock.ms += 250;
    request.end('200');
    expect(await value(metrics, 'pipemon_receiver_refused_records_total', { signal: 'logs', reason: 'timestamp older than the retention window' })).toBe(2);
    expect(await value(metrics, 'pipemon_receiver_refused_records_total', { signal: 'logs', reason: 'invalid activity record' })).toBe(1);
    expect(await value(metrics, 'pipemon_receiver_lineage_events_total', { type: 'run' })).toBe(3);
    expect(await value(metrics, 'pipemon_receiver_lineage_events_total', { type: 'dataset' })).toBe(0);
    expect(await value(metrics, 'pipemon_receiver_request_duration_seconds', { signal: 'logs', code: '200', metricName: 'pipemon_receiver_request_duration_seconds_sum' })).toBe(0.25);
    expect(await value(metrics, 'pipemon_receiver_request_duration_seconds', { signal: 'logs', code: '200', le: 0.25 })).toBe(1);
    expect(await value(metrics, 'pipemon_receiver_request_duration_seconds', { signal: 'logs', code: '200', le: 0.1 })).toBe(0);
  });

  it('counts failed records by the reason their refusal maps to, and never a refusal that is not a failed write', async () => {
    const { metrics } = setup();
    const traces = metrics.requests.start('traces');
    traces.failed('unavailable', 4);
    traces.end('UNAVAILABLE');
    const logs = metrics.requests.start('logs');
    logs.failed('invalid', 2);
    logs.failed('unauthenticated', 5);
    logs.end('400');
    expect(await value(metrics, 'pipemon_receiver_failed_records_total', { signal: 'traces', reason: 'database_unavailable' })).toBe(4);
    expect(await value(metrics, 'pipemon_receiver_failed_records_total', { signal: 'logs', reason: 'database_error' })).toBe(2);
    expect(await value(metrics, 'pipemon_receiver_failed_records_total')).toBe(6);
    expect(await value(metrics, 'pipemon_receiver_request_duration_seconds', { signal: 'traces', code: 'UNAVAILABLE', metricName: 'pipemon_receiver_request_duration_seconds_count' })).toBe(1);
  });

  it('records nothing for a request never answered, and each told count once however often it is ended', async () => {
    const { metrics } = setup();
    metrics.requests.start('logs').refused(new Map([['bad', 1]]));
    const answered = metrics.requests.start('logs');
    answered.refused(new Map([['bad', 1]]));
    answered.end('200');
    answered.end('200');
    expect(await value(metrics, 'pipemon_receiver_refused_records_total', { reason: 'bad' })).toBe(1);
  });
});

describe('a write batch, recorded when it commits or fails', () => {
  it('records its records, its duration and what COMMIT changed', async () => {
    const { clock, metrics } = setup();
    const batch = metrics.writer.startBatch(7);
    clock.ms += 20;
    batch.committed(
      effects({
        logs: { accepted: 5, duplicates: 1 },
        runsEnded: [{ tenant: 'acme', pipeline: 'billing', result: 'failure', durationSeconds: 12, errorType: 'ValueError', endedAtMs: null }],
        stagesEnded: [{ tenant: 'acme', pipeline: 'billing', stage: 'load', result: 'success', durationSeconds: 3, rows: { read: 4, written: 0, rejected: null } }],
      }),
    );
    expect(await value(metrics, 'pipemon_writer_batch_records', { metricName: 'pipemon_writer_batch_records_sum' })).toBe(7);
    expect(await value(metrics, 'pipemon_writer_commit_duration_seconds', { metricName: 'pipemon_writer_commit_duration_seconds_sum' })).toBe(0.02);
    expect(await value(metrics, 'pipemon_receiver_accepted_records_total', { signal: 'logs' })).toBe(5);
    expect(await value(metrics, 'pipemon_receiver_duplicate_records_total', { signal: 'logs' })).toBe(1);
    expect(await value(metrics, 'pipemon_receiver_accepted_records_total', { signal: 'traces' })).toBe(0);
    // A pipeline's first run also starts its other results at 0, so that increase() sees its first failure.
    expect(await value(metrics, 'pipemon_pipeline_runs_total', { pipeline: 'billing', result: 'failure' })).toBe(1);
    expect(await value(metrics, 'pipemon_pipeline_runs_total', { pipeline: 'billing', result: 'success' })).toBe(0);
    expect(await value(metrics, 'pipemon_pipeline_errors_total', { pipeline: 'billing', error_type: 'ValueError' })).toBe(1);
    expect(await value(metrics, 'pipemon_pipeline_rows_total', { stage: 'load', kind: 'read' })).toBe(4);
    expect(await value(metrics, 'pipemon_pipeline_rows_total', { stage: 'load', kind: 'written' })).toBeUndefined();
  });

  it('records a failed batch with the database error of its kind, and no commit duration', async () => {
    const { metrics } = setup();
    metrics.writer.startBatch(3).failed('invalid');
    metrics.writer.startBatch(2).failed('unavailable');
    metrics.writer.startBatch(1).failed('internal');
    expect(await value(metrics, 'pipemon_database_errors_total', { kind: 'permanent' })).toBe(1);
    expect(await value(metrics, 'pipemon_database_errors_total', { kind: 'transient' })).toBe(1);
    expect(await value(metrics, 'pipemon_database_errors_total', { kind: 'internal' })).toBe(1);
    expect(await value(metrics, 'pipemon_writer_batch_records', { metricName: 'pipemon_writer_batch_records_count' })).toBe(3);
    expect(await value(metrics, 'pipemon_writer_commit_duration_seconds', { metricName: 'pipemon_writer_commit_duration_seconds_count' })).toBe(0);
  });

  it('reports pipelines past maxPipelines as the overflow label', async () => {
    const { metrics } = setup(1);
    const run = (pipeline: string) => ({ tenant: 'acme', pipeline, result: 'success' as const, durationSeconds: null, errorType: null, endedAtMs: null });
    metrics.writer.startBatch(2).committed(effects({ runsEnded: [run('a'), run('b'), run('c')] }));
    expect(await value(metrics, 'pipemon_pipeline_runs_total', { pipeline: 'a', result: 'success' })).toBe(1);
    expect(await value(metrics, 'pipemon_pipeline_runs_total', { pipeline: OVERFLOW_LABEL, result: 'success' })).toBe(2);
  });

  it('shows the memory budget held and its limit', async () => {
    const { metrics } = setup();
    metrics.writer.budget(300, 1000);
    expect(await value(metrics, 'pipemon_writer_queue_bytes')).toBe(300);
    expect(await value(metrics, 'pipemon_writer_queue_limit_bytes')).toBe(1000);
  });
});

it('counts a failed database read outside the writer by what was being read', async () => {
  const { metrics } = setup();
  metrics.databaseError('pipeline_state');
  expect(await value(metrics, 'pipemon_database_errors_total', { kind: 'pipeline_state' })).toBe(1);
});
