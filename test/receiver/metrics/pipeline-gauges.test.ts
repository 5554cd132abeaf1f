/**
 * The pipeline state gauges alone (receiver/metrics/pipeline-gauges.ts), with a read that stands in for the
 * database: each scrape reads the state once for every gauge, scrapes that overlap share one read, and a
 * failed read keeps the previous values, is counted, and is logged once per reason.
 */
import client from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PipelineState } from '../../../contract/pipeline-facts.js';
import { OVERFLOW_LABEL } from '../../../receiver/metrics/label-bound.js';
import { registerPipelineGauges } from '../../../receiver/metrics/pipeline-gauges.js';

function state(pipeline: string, extra: Partial<PipelineState> = {}): PipelineState {
  return {
    tenant: 'acme',
    pipeline,
    owner: 'team-finance',
    expectedIntervalSeconds: 3600,
    lastSuccessSeconds: 1_000,
    lastRunId: 'r-1',
    lastRunEndSeconds: 2_000,
    lastRunDurationSeconds: 60,
    lastRunRows: { read: 10, written: null, rejected: 0 },
    lastRunFailedChecks: 1,
    lastRunFailedCheckNames: ['null_ratio'],
    usualRowsWritten: null,
    consecutiveFailures: 2,
    running: 1,
    oldestRunningHeartbeatSeconds: 1_500,
    oldestRunningStartSeconds: null,
    ...extra,
  };
}

function setup(read: () => Promise<PipelineState[]>, maxPipelines?: number) {
  const registry = new client.Registry();
  const failures = { count: 0 };
  registerPipelineGauges(registry, { read, readUpstreams: async () => [], readFailed: () => void failures.count++, maxPipelines });
  return { registry, failures };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('pipeline state gauges', () => {
  it("exposes each pipeline's state under the names and labels the alert rules read, skipping unknown values", async () => {
    const { registry } = setup(async () => [state('billing')]);
    const text = await registry.metrics();
    expect(text).toContain(
      '# HELP pipemon_pipeline_last_success_timestamp_seconds When the last successful run of the pipeline ended (Unix seconds). Alert on time() minus this.',
    );
    for (const line of [
      'pipemon_pipeline_info{tenant="acme",pipeline="billing",owner="team-finance"} 1',
      'pipemon_pipeline_runs_in_progress{tenant="acme",pipeline="billing"} 1',
      'pipemon_pipeline_expected_interval_seconds{tenant="acme",pipeline="billing"} 3600',
      'pipemon_pipeline_last_success_timestamp_seconds{tenant="acme",pipeline="billing"} 1000',
      'pipemon_pipeline_last_run_end_timestamp_seconds{tenant="acme",pipeline="billing"} 2000',
      'pipemon_pipeline_last_run_duration_seconds{tenant="acme",pipeline="billing"} 60',
      'pipemon_pipeline_last_run_rows{tenant="acme",pipeline="billing",kind="read"} 10',
      'pipemon_pipeline_last_run_rows{tenant="acme",pipeline="billing",kind="rejected"} 0',
      'pipemon_pipeline_last_run_failed_checks{tenant="acme",pipeline="billing"} 1',
      'pipemon_pipeline_consecutive_failures{tenant="acme",pipeline="billing"} 2',
      'pipemon_pipeline_oldest_running_heartbeat_timestamp_seconds{tenant="acme",pipeline="billing"} 1500',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).not.toContain('kind="written"');
    expect(text).not.toMatch(/^pipemon_pipeline_oldest_running_start_timestamp_seconds\{/m);
  });

  it('reads once per scrape for every gauge, and once for scrapes that overlap', async () => {
    let reads = 0;
    let release: () => void = () => {};
    const { registry } = setup(async () => {
      reads++;
      await new Promise<void>((resolve) => (release = resolve));
      return [state('billing')];
    });
    const first = registry.metrics();
    const second = registry.metrics();
    await vi.waitFor(() => expect(reads).toBe(1));
    release();
    await Promise.all([first, second]);
    expect(reads).toBe(1);
    const third = registry.metrics();
    await vi.waitFor(() => expect(reads).toBe(2));
    release();
    await third;
  });

  it('keeps the previous values when a read fails, counts each failure, and logs a reason once', async () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {});
    let fail = false;
    const { registry, failures } = setup(async () => {
      if (fail) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return [state('billing', { consecutiveFailures: 3 })];
    });
    expect(await registry.metrics()).toContain('pipemon_pipeline_consecutive_failures{tenant="acme",pipeline="billing"} 3');
    fail = true;
    expect(await registry.metrics()).toContain('pipemon_pipeline_consecutive_failures{tenant="acme",pipeline="billing"} 3');
    await registry.metrics();
    expect(failures.count).toBe(2);
    expect(warned).toHaveBeenCalledTimes(1);
    expect(String(warned.mock.calls[0]![0])).toMatch(/reading the pipelines' state for \/metrics failed .*ECONNREFUSED/);
  });

  it('drops pipelines gone from the state, and reports pipelines past maxPipelines as the overflow label', async () => {
    let states = [state('a'), state('b'), state('c', { owner: 'other' })];
    const { registry } = setup(async () => states, 2);
    const text = await registry.metrics();
    expect(text).toContain(`pipemon_pipeline_info{tenant="acme",pipeline="${OVERFLOW_LABEL}",owner="other"} 1`);
    expect(text).toContain('pipemon_pipeline_info{tenant="acme",pipeline="b",owner="team-finance"} 1');
    states = [state('a')];
    const after = await registry.metrics();
    expect(after).not.toContain('pipeline="b"');
    expect(after).toContain('pipemon_pipeline_info{tenant="acme",pipeline="a",owner="team-finance"} 1');
  });
});
