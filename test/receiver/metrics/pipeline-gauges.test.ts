/**
 * The pipeline state gauges (receiver/metrics/pipeline-gauges.ts). With a read that stands in for the
 * database: each scrape reads the state once for every gauge, scrapes that overlap share one read, a
 * failed read keeps the previous values, is counted, and is logged once per reason, and labels are
 * bounded. Then pipemon_pipeline_upstream_unhealthy over lineage that a real receiver wrote to
 * PostgreSQL, read as serve.ts reads it, on a clock the test steps.
 */
import client from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PipelineUpstream } from '../../../contract/lineage-sql.js';
import type { PipelineState } from '../../../contract/pipeline-facts.js';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { OVERFLOW_LABEL } from '../../../receiver/metrics/label-bound.js';
import { registerPipelineGauges } from '../../../receiver/metrics/pipeline-gauges.js';
import { readPipelineStates } from '../../../receiver/query/pipeline-state.js';
import { readPipelineUpstreams } from '../../../receiver/query/pipeline-upstreams.js';
import { createTestDatabase, testServerUrl } from '../../helpers/backends.js';
import { logsRequest, post, SeverityNumber, startTestReceiver, type LogSpec, type TestReceiver } from '../../helpers/receiver.js';

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

function setup(read: () => Promise<PipelineState[]>, maxPipelines?: number, readUpstreams = async (): Promise<PipelineUpstream[]> => []) {
  const registry = new client.Registry();
  const failures = { count: 0 };
  // At 2,000 s, state()'s pipeline is neither late (last success 1,000 s ago) nor stuck (last beat 500 s ago).
  registerPipelineGauges(registry, { read, readUpstreams, readFailed: () => void failures.count++, maxPipelines, now: () => 2_000_000 });
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

describe('pipemon_pipeline_upstream_unhealthy, with stand-in reads', () => {
  it('bounds pipeline and upstream as the other gauges bound pipeline, and keeps the worst value of pairs that overflow together', async () => {
    const healthy = { consecutiveFailures: 0 };
    const states = [state('a', healthy), state('b', healthy), state('c'), state('d', healthy)];
    const pairs = [
      { tenant: 'acme', pipeline: 'b', upstream: 'a' },
      { tenant: 'acme', pipeline: 'a', upstream: 'c' },
      { tenant: 'acme', pipeline: 'd', upstream: 'c' },
      { tenant: 'acme', pipeline: 'c', upstream: 'd' },
    ];
    const { registry } = setup(async () => states, 2, async () => pairs);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE pipemon_pipeline_upstream_unhealthy gauge');
    const series = text.split('\n').filter((line) => line.startsWith('pipemon_pipeline_upstream_unhealthy{'));
    // c (2 failed runs in a row) is unhealthy, a and d are not; c and d come past the first 2 pipelines.
    expect(series.sort()).toEqual([
      `pipemon_pipeline_upstream_unhealthy{tenant="acme",pipeline="${OVERFLOW_LABEL}",upstream="${OVERFLOW_LABEL}"} 1`,
      `pipemon_pipeline_upstream_unhealthy{tenant="acme",pipeline="a",upstream="${OVERFLOW_LABEL}"} 1`,
      'pipemon_pipeline_upstream_unhealthy{tenant="acme",pipeline="b",upstream="a"} 0',
    ]);
  });

  it('keeps its previous values when reading the upstreams fails', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    let fail = false;
    const { registry, failures } = setup(
      async () => [state('loader'), state('report', { consecutiveFailures: 0 })],
      undefined,
      async () => {
        if (fail) throw new Error('relation "lineage_edges" does not exist');
        return [{ tenant: 'acme', pipeline: 'report', upstream: 'loader' }];
      },
    );
    const line = 'pipemon_pipeline_upstream_unhealthy{tenant="acme",pipeline="report",upstream="loader"} 1';
    expect(await registry.metrics()).toContain(line);
    fail = true;
    expect(await registry.metrics()).toContain(line);
    expect(failures.count).toBe(1);
  });
});

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const ORDERS = 'postgres://dw:5432/dw.public.orders';
const REVENUE = 'postgres://dw:5432/dw.public.daily_revenue';
const REVENUE_FILE = 's3://exports/revenue.csv';
const SNAPSHOTS = 'postgres://dw:5432/dw.public.inventory_snapshots';
const SCRATCH = 'postgres://dw:5432/dw.public.compaction_scratch';

describe('pipemon_pipeline_upstream_unhealthy, over lineage a receiver wrote to PostgreSQL', () => {
  // The first judgement is 4 hours ago, so that the records of the 3 hours the clock then steps are in the past.
  const T = Date.now() - 4 * HOUR_MS;
  const clock = { ms: T };
  let r: TestReceiver;
  let registry: client.Registry;

  interface RunSpec {
    pipeline: string;
    runId: string;
    startMs: number;
    /** When it ended and how; none for a run still running. */
    end?: { ms: number; result: string };
    reads?: string[];
    writes?: string[];
  }

  /** A run's start and end records as the SDK sends them, with the datasets it reads and writes. */
  function runRecords({ pipeline, runId, startMs, end, reads = [], writes = [] }: RunSpec): LogSpec[] {
    const attributes = {
      [ATTR.pipelineName]: pipeline,
      [ATTR.runId]: runId,
      [ATTR.expectedIntervalSeconds]: 3600,
      [ATTR.lineageInputs]: reads,
      [ATTR.lineageOutputs]: writes,
    };
    const started: LogSpec = { eventName: EVENT.runStart, attributes, timestampMs: startMs };
    if (!end) return [started];
    const severityNumber = end.result === 'success' ? SeverityNumber.INFO : SeverityNumber.ERROR;
    return [started, { eventName: EVENT.runEnd, severityNumber, attributes: { ...attributes, [ATTR.runResult]: end.result }, timestampMs: end.ms }];
  }

  async function send(key: string, runs: RunSpec[]): Promise<void> {
    expect((await post(r.url, '/v1/logs', logsRequest(runs.flatMap(runRecords)), { key })).status).toBe(200);
  }

  const ended = (pipeline: string, runId: string, endMs: number, result: string, lineage: Pick<RunSpec, 'reads' | 'writes'>): RunSpec => ({
    pipeline,
    runId,
    startMs: endMs - 5 * MINUTE_MS,
    end: { ms: endMs, result },
    ...lineage,
  });

  /** Each (tenant, pipeline, upstream) series' value. */
  async function unhealthy(): Promise<Record<string, number>> {
    const { values } = await registry.getSingleMetric('pipemon_pipeline_upstream_unhealthy')!.get();
    return Object.fromEntries(values.map((v) => [`${v.labels.tenant} ${v.labels.pipeline} <- ${v.labels.upstream}`, v.value]));
  }

  beforeAll(async () => {
    r = await startTestReceiver({ databaseUrl: await createTestDatabase(testServerUrl()) });
    await send(r.key, [
      // The loader succeeded, then failed an hour ago; the report reads what it writes, the export what the report writes.
      ended('loader', 'l-1', T - 5 * HOUR_MS, 'success', { writes: [ORDERS] }),
      ended('loader', 'l-2', T - HOUR_MS, 'failure', { writes: [ORDERS] }),
      ended('report', 'r-1', T - 30 * MINUTE_MS, 'success', { reads: [ORDERS], writes: [REVENUE] }),
      ended('export', 'e-1', T - 20 * MINUTE_MS, 'success', { reads: [REVENUE], writes: [REVENUE_FILE] }),
      // A snapshot started 2 minutes ago and runs on; the inventory report reads what it writes.
      { pipeline: 'snapshot', runId: 's-1', startMs: T - 2 * MINUTE_MS, writes: [SNAPSHOTS] },
      ended('inventory', 'i-1', T - 10 * MINUTE_MS, 'success', { reads: [SNAPSHOTS] }),
      // Reads what it writes: not its own upstream.
      ended('compactor', 'c-1', T - 10 * MINUTE_MS, 'success', { reads: [SCRATCH], writes: [SCRATCH] }),
    ]);
    // Another tenant's loader of the same name and dataset is healthy: tenants never mix.
    await send(await r.keyFor('globex', ['ingest']), [
      ended('loader', 'g-1', T - HOUR_MS, 'success', { writes: [ORDERS] }),
      ended('report', 'g-2', T - 30 * MINUTE_MS, 'success', { reads: [ORDERS] }),
    ]);
    registry = new client.Registry();
    registerPipelineGauges(registry, {
      read: () => readPipelineStates(r.receiver.db),
      readUpstreams: () => readPipelineUpstreams(r.receiver.db),
      readFailed: () => {
        throw new Error('no read fails here');
      },
      now: () => clock.ms,
    });
  });

  afterAll(async () => {
    await r?.close();
  });

  it('is 1 for each direct downstream of an unhealthy pipeline (failed, then late, then stuck) and 0 once it recovers', async () => {
    // Now: the loader's latest run failed; every other upstream is healthy.
    expect(await unhealthy()).toEqual({
      'acme report <- loader': 1,
      'acme export <- report': 0,
      'acme inventory <- snapshot': 0,
      'globex report <- loader': 0,
    });

    // Three hours on, with nothing new: the report's last success is 3.5 hours old (over 2 intervals of
    // an hour), globex's loader's 4 hours, and the snapshot sent nothing for 3 hours (stuck). The export
    // now waits on the report.
    clock.ms = T + 3 * HOUR_MS;
    expect(await unhealthy()).toEqual({
      'acme report <- loader': 1,
      'acme export <- report': 1,
      'acme inventory <- snapshot': 1,
      'globex report <- loader': 1,
    });

    // The loader succeeds again: the report no longer waits on it, while the export still waits on the (late) report.
    await send(r.key, [ended('loader', 'l-3', T + 3 * HOUR_MS - MINUTE_MS, 'success', { writes: [ORDERS] })]);
    expect(await unhealthy()).toEqual({
      'acme report <- loader': 0,
      'acme export <- report': 1,
      'acme inventory <- snapshot': 1,
      'globex report <- loader': 1,
    });
  });
});
