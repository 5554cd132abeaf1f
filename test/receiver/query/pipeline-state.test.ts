/**
 * Each pipeline's state as the alerts read it (receiver/query/pipeline-state.ts), and the gauges /metrics
 * exports from it: owner, expected interval (declared or inferred), the latest run, failures since the
 * last success, running runs. Records go in as OTLP through a real receiver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../../contract/alert-config.js';
import { dataHealth } from '../../../contract/pipeline-facts.js';
import { readPipelineStates, readStatesOf } from '../../../receiver/query/pipeline-state.js';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { logsRequest, post, receiverBackends, SeverityNumber, startTestReceiver, type LogSpec, type TestReceiver } from '../../helpers/receiver.js';

const HOUR_MS = 3_600_000;
const NOW_MS = Date.now();

/** The start and end records of one run, `endedAgoMs` before now, lasting `seconds`. */
function run(pipeline: string, runId: string, endedAgoMs: number, result: string, extra: Record<string, string | number> = {}, seconds = 60): LogSpec[] {
  const endMs = NOW_MS - endedAgoMs;
  const attributes = { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId, ...extra };
  return [
    { eventName: EVENT.runStart, attributes, timestampMs: endMs - seconds * 1000 },
    {
      eventName: EVENT.runEnd,
      severityNumber: result === 'success' ? SeverityNumber.INFO : SeverityNumber.ERROR,
      attributes: { ...attributes, [ATTR.runResult]: result, [ATTR.durationSeconds]: seconds },
      timestampMs: endMs,
    },
  ];
}

describe.each(receiverBackends())('pipeline state on $name', (backend) => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver(await backend.options());
    const owned = { [ATTR.pipelineOwner]: 'team-finance', [ATTR.expectedIntervalSeconds]: 86_400 };
    const records: LogSpec[] = [
      // Declared daily, owned; a success then two failures, the last with rows and a failed check.
      ...run('billing', 'b-1', 30 * HOUR_MS, 'success', owned),
      ...run('billing', 'b-2', 20 * HOUR_MS, 'failure', owned),
      ...run('billing', 'b-3', 2 * HOUR_MS, 'error', { ...owned, [ATTR.rowsRead]: 10, [ATTR.rowsWritten]: 0, [ATTR.rowsRejected]: 10 }, 90),
      {
        eventName: EVENT.check,
        severityNumber: SeverityNumber.WARN,
        attributes: { [ATTR.pipelineName]: 'billing', [ATTR.runId]: 'b-3', [ATTR.checkName]: 'null_ratio', [ATTR.checkPassed]: false },
        timestampMs: NOW_MS - 2 * HOUR_MS - 1000,
      },
      {
        eventName: EVENT.check,
        attributes: { [ATTR.pipelineName]: 'billing', [ATTR.runId]: 'b-3', [ATTR.checkName]: 'duplicates', [ATTR.checkPassed]: true },
        timestampMs: NOW_MS - 2 * HOUR_MS - 1000,
      },
      // Hourly by its history alone: four runs an hour apart, the last a failure followed by a success.
      ...run('hourly', 'h-1', 4 * HOUR_MS, 'success'),
      ...run('hourly', 'h-2', 3 * HOUR_MS, 'success'),
      ...run('hourly', 'h-3', 2 * HOUR_MS, 'failure'),
      ...run('hourly', 'h-4', 1 * HOUR_MS, 'success'),
      // Daily until it stopped ten days ago: its interval is still known, so it stays late.
      ...run('stopped', 's-1', 12 * 24 * HOUR_MS, 'success'),
      ...run('stopped', 's-2', 11 * 24 * HOUR_MS, 'success'),
      ...run('stopped', 's-3', 10 * 24 * HOUR_MS, 'success'),
      // Wrote rows, then a successful run that wrote none.
      ...run('emptied', 'e-1', 3 * HOUR_MS, 'success', { [ATTR.rowsWritten]: 40 }),
      ...run('emptied', 'e-2', 1 * HOUR_MS, 'success', { [ATTR.rowsWritten]: 0, [ATTR.rowsRejected]: 0 }),
      // One run that started and last beat 40 minutes ago, and never ended.
      { eventName: EVENT.runStart, attributes: { [ATTR.pipelineName]: 'hung', [ATTR.runId]: 'x-1' }, timestampMs: NOW_MS - HOUR_MS },
      { eventName: EVENT.runHeartbeat, attributes: { [ATTR.pipelineName]: 'hung', [ATTR.runId]: 'x-1' }, timestampMs: NOW_MS - 40 * 60_000 },
    ];
    expect((await post(r.url, '/v1/logs', logsRequest(records), { key: r.key })).status).toBe(200);
  });
  afterAll(() => r?.close());

  it('reads named pipelines alone as it reads them among all, and nothing of a name without runs', async () => {
    const { rows } = await r.receiver.db.query<{ tenant_id: number }>("SELECT tenant_id FROM tenants WHERE name = 'acme'");
    const all = await readPipelineStates(r.receiver.db, rows[0]!.tenant_id);
    const named = await readStatesOf(r.receiver.db, rows[0]!.tenant_id, ['hung', 'billing', 'no-runs', 'billing']);
    expect(named).toEqual(all.filter((state) => ['billing', 'hung'].includes(state.pipeline)));
    expect(await readStatesOf(r.receiver.db, rows[0]!.tenant_id + 1000, ['billing'])).toEqual([]);
  });

  it('reads each pipeline: owner, interval, latest run, failures since the last success, running runs', async () => {
    const states = new Map((await readPipelineStates(r.receiver.db)).map((s) => [s.pipeline, s]));
    expect(states.get('billing')).toEqual({
      tenant: 'acme',
      pipeline: 'billing',
      owner: 'team-finance',
      expectedIntervalSeconds: 86_400,
      lastSuccessSeconds: expect.closeTo((NOW_MS - 30 * HOUR_MS) / 1000, 0),
      lastRunId: 'b-3',
      lastRunEndSeconds: expect.closeTo((NOW_MS - 2 * HOUR_MS) / 1000, 0),
      lastRunDurationSeconds: 90,
      lastRunRows: { read: 10, written: 0, rejected: 10 },
      lastRunFailedChecks: 1,
      lastRunFailedCheckNames: ['null_ratio'],
      // It wrote 0, but its earlier success reported no rows written: nothing to compare with.
      usualRowsWritten: null,
      consecutiveFailures: 2,
      running: 0,
      oldestRunningHeartbeatSeconds: null,
      oldestRunningStartSeconds: null,
    });
    expect(states.get('hourly')).toMatchObject({
      owner: '',
      expectedIntervalSeconds: 3600,
      consecutiveFailures: 0,
      lastRunRows: { read: null, written: null, rejected: null },
    });
    expect(states.get('stopped')).toMatchObject({ expectedIntervalSeconds: 86_400, lastSuccessSeconds: expect.closeTo((NOW_MS - 10 * 24 * HOUR_MS) / 1000, 0) });
    expect(states.get('hung')).toMatchObject({
      expectedIntervalSeconds: null,
      lastRunEndSeconds: null,
      running: 1,
      oldestRunningHeartbeatSeconds: expect.closeTo((NOW_MS - 40 * 60_000) / 1000, 0),
      oldestRunningStartSeconds: expect.closeTo((NOW_MS - HOUR_MS) / 1000, 0),
    });
  });

  it("judges each latest run's data health as the data-health alerts do, with their thresholds and zero-rows allow-list", async () => {
    const states = new Map((await readPipelineStates(r.receiver.db)).map((s) => [s.pipeline, s]));
    // Its failed run wrote nothing: that is PipelineRunFailed's, but the rejected rows and the failed check still count.
    expect(dataHealth(states.get('billing')!)).toEqual({
      failedChecks: 1,
      failedCheckNames: ['null_ratio'],
      rowsRejected: 10,
      zeroRowsWritten: false,
      warning: true,
    });
    expect(dataHealth(states.get('emptied')!)).toMatchObject({ failedChecks: 0, rowsRejected: 0, zeroRowsWritten: true, warning: true });
    expect(states.get('emptied')!.usualRowsWritten).toBe(40);
    // Reporting no rows at all is not writing zero.
    expect(dataHealth(states.get('hourly')!)).toMatchObject({ rowsRejected: null, zeroRowsWritten: false, warning: false });
    // An allowed pipeline may write none; the regex matches the whole name, as PromQL's does.
    const allowing = (...allowedPipelines: string[]) => ({ ...config, zeroRows: { allowedPipelines } });
    expect(dataHealth(states.get('emptied')!, allowing('empt.*')).warning).toBe(false);
    expect(dataHealth(states.get('emptied')!, allowing('empt')).warning).toBe(true);
    expect(dataHealth(states.get('emptied')!, allowing('other', 'emptied|x')).warning).toBe(false);
    // The thresholds are the config's: more than `moreThan`.
    expect(dataHealth(states.get('billing')!, { ...config, rowsRejected: { moreThan: 10 }, failedChecks: { moreThan: 1 } }).warning).toBe(false);
  });

  it('exports them as gauges, leaving out what is unknown', async () => {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    };
    const billing = 'tenant="acme",pipeline="billing"';
    expect(value(`pipemon_pipeline_info{${billing},owner="team-finance"}`)).toBe(1);
    expect(value(`pipemon_pipeline_expected_interval_seconds{${billing}}`)).toBe(86_400);
    expect(value(`pipemon_pipeline_consecutive_failures{${billing}}`)).toBe(2);
    expect(value(`pipemon_pipeline_last_run_failed_checks{${billing}}`)).toBe(1);
    expect(value(`pipemon_pipeline_last_run_duration_seconds{${billing}}`)).toBe(90);
    expect(value(`pipemon_pipeline_last_run_rows{${billing},kind="written"}`)).toBe(0);
    expect(value(`pipemon_pipeline_last_run_rows{${billing},kind="rejected"}`)).toBe(10);
    expect(value('pipemon_pipeline_expected_interval_seconds{tenant="acme",pipeline="hourly"}')).toBe(3600);
    expect(value('pipemon_pipeline_consecutive_failures{tenant="acme",pipeline="hourly"}')).toBe(0);
    expect(value('pipemon_pipeline_runs_in_progress{tenant="acme",pipeline="hung"}')).toBe(1);
    expect(value('pipemon_pipeline_oldest_running_heartbeat_timestamp_seconds{tenant="acme",pipeline="hung"}')).toBeCloseTo((NOW_MS - 40 * 60_000) / 1000, 0);
    // Nothing known, nothing exported: no interval for the hung pipeline, no rows for the hourly one.
    expect(text).not.toMatch(/pipemon_pipeline_expected_interval_seconds\{[^}]*pipeline="hung"/);
    expect(text).not.toMatch(/pipemon_pipeline_last_run_rows\{[^}]*pipeline="hourly"/);
    expect(text).not.toMatch(/pipemon_pipeline_oldest_running_heartbeat_timestamp_seconds\{[^}]*pipeline="billing"/);
  });

  it('clears the failures once a later run succeeds', async () => {
    const owned = { [ATTR.pipelineOwner]: 'team-finance', [ATTR.expectedIntervalSeconds]: 86_400 };
    expect((await post(r.url, '/v1/logs', logsRequest(run('billing', 'b-4', HOUR_MS, 'success', owned)), { key: r.key })).status).toBe(200);
    const billing = (await readPipelineStates(r.receiver.db)).find((s) => s.pipeline === 'billing');
    expect(billing).toMatchObject({ consecutiveFailures: 0, lastRunFailedChecks: 0, lastRunRows: { read: null, written: null, rejected: null } });
  });

  it('ignores a declared interval no number holds, instead of failing every pipeline of every tenant', async () => {
    const absurd = { [ATTR.expectedIntervalSeconds]: '1' + '0'.repeat(400) };
    expect((await post(r.url, '/v1/logs', logsRequest(run('absurd', 'a-1', HOUR_MS, 'success', absurd)), { key: r.key })).status).toBe(200);
    const states = await readPipelineStates(r.receiver.db);
    expect(states.find((s) => s.pipeline === 'absurd')).toMatchObject({ expectedIntervalSeconds: null });
    expect(states.find((s) => s.pipeline === 'billing')).toMatchObject({ expectedIntervalSeconds: 86_400 });
  });
});
