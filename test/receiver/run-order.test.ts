/**
 * A run's state, result, times and duration do not depend on the order its records arrive in: each of
 * a run's records goes in its own request, in many orders (end before start included), all at once, and
 * twice; every run must come out as the in-order one does, on both databases. Two runs: `plain`, whose
 * end reports no duration, so the stored one is measured (end minus start) whenever the start arrives;
 * and `red`, as OpenLineage producers send one (no run start, a job that fails then completes, a stage
 * that never ends, a run that ends in success), which must show as failed whatever the order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, ERROR_TYPE, EVENT } from '../../contract/vocabulary.js';
import { DURATION_BUCKET, FIGURE_NAMES, TIMED } from '../../receiver/storage/run-days.js';
import { logsRequest, post, receiverBackends, SeverityNumber, startTestReceiver, type LogSpec, type TestReceiver } from '../helpers/receiver.js';

const T0 = Date.now() - 3_600_000;

/** The records of run `runId`, by name: start, a heartbeat, a stage, the end, a heartbeat after the end. */
function records(runId: string): Record<string, LogSpec> {
  const run = { [ATTR.pipelineName]: 'orders', [ATTR.runId]: runId };
  const stage = { ...run, [ATTR.stageName]: 'load', [ATTR.stageRunId]: `${runId}-load` };
  return {
    start: { eventName: EVENT.runStart, attributes: run, timestampMs: T0 },
    heartbeat: { eventName: EVENT.runHeartbeat, attributes: { ...run, [ATTR.rowsRead]: 40 }, timestampMs: T0 + 30_000 },
    stageStart: { eventName: EVENT.stageStart, attributes: stage, timestampMs: T0 + 10_000 },
    stageEnd: {
      eventName: EVENT.stageEnd,
      attributes: { ...stage, [ATTR.stageResult]: 'success', [ATTR.rowsWritten]: 90 },
      timestampMs: T0 + 40_000,
    },
    end: {
      eventName: EVENT.runEnd,
      severityNumber: SeverityNumber.ERROR,
      attributes: { ...run, [ATTR.runResult]: 'failure', [ATTR.rowsRead]: 100, [ATTR.errorType]: 'TimeoutError' },
      timestampMs: T0 + 90_000,
    },
    lateHeartbeat: { eventName: EVENT.runHeartbeat, attributes: { ...run, [ATTR.rowsRead]: 60 }, timestampMs: T0 + 95_000 },
  };
}
/**
 * The records of a run that ended in success but whose `load` stage failed (FAIL, then COMPLETE 9 ms
 * later, as Spark's listener sends them), with a stage that never reported an end and no run start: only
 * a start hint on its end, as Airflow's DAG run end carries one.
 */
function redRecords(runId: string): Record<string, LogSpec> {
  const run = { [ATTR.pipelineName]: 'orders-red', [ATTR.runId]: runId };
  const stage = (name: string) => ({ ...run, [ATTR.stageName]: name, [ATTR.stageRunId]: `${runId}-${name}` });
  return {
    extractStart: { eventName: EVENT.stageStart, attributes: stage('extract'), timestampMs: T0 + 1000 },
    extractEnd: { eventName: EVENT.stageEnd, attributes: { ...stage('extract'), [ATTR.stageResult]: 'success', [ATTR.rowsWritten]: 5 }, timestampMs: T0 + 5000 },
    loadStart: { eventName: EVENT.stageStart, attributes: stage('load'), timestampMs: T0 + 6000 },
    loadFail: {
      eventName: EVENT.stageEnd,
      severityNumber: SeverityNumber.ERROR,
      attributes: { ...stage('load'), [ATTR.stageResult]: 'failure', [ATTR.errorType]: 'ValueError', [ATTR.exceptionMessage]: 'bad row 3', [ATTR.rowsWritten]: 3 },
      timestampMs: T0 + 8000,
    },
    loadComplete: { eventName: EVENT.stageEnd, attributes: { ...stage('load'), [ATTR.stageResult]: 'success' }, timestampMs: T0 + 8009 },
    orphanStart: { eventName: EVENT.stageStart, attributes: stage('orphan'), timestampMs: T0 + 7000 },
    end: {
      eventName: EVENT.runEnd,
      attributes: { ...run, [ATTR.runResult]: 'success', [ATTR.runStartHint]: new Date(T0 + 500).toISOString() },
      timestampMs: T0 + 20_000,
    },
  };
}

const SCENARIOS = { plain: records, red: redRecords };
type Scenario = keyof typeof SCENARIOS;

/** Every order of a run's records would be thousands; these 40 cover each record first and last, and more. */
function orders(scenario: Scenario): string[][] {
  const NAMES = Object.keys(SCENARIOS[scenario]('x'));
  const picked: string[][] = [NAMES, [...NAMES].reverse()];
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  while (picked.length < 40) picked.push([...NAMES].sort(() => random() - 0.5));
  for (const name of NAMES) picked.push([name, ...NAMES.filter((n) => n !== name)], [...NAMES.filter((n) => n !== name), name]);
  return picked;
}

const RUN_COLUMNS = `state, result, started_at, start_estimated, ended_at, duration_seconds, rows_read::int, rows_written::int, error_type,
  last_seen_at`;
const STAGE_COLUMNS = `stage, state, result, started_at, start_estimated, ended_at, duration_seconds, rows_written::int, error_type, error_message`;

describe.each(receiverBackends())('runs whatever order their records arrive in, on $name', (backend) => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver(await backend.options());
  });
  afterAll(() => r?.close());

  const send = async (spec: LogSpec) => {
    const answer = await post(r.url, '/v1/logs', logsRequest([spec]), { key: r.key });
    expect(answer.status).toBe(200);
  };
  const stored = async (runId: string) => ({
    run: (await r.receiver.db.query(`SELECT ${RUN_COLUMNS} FROM pipeline_runs WHERE run_id = $1`, [runId])).rows,
    stage: (await r.receiver.db.query(`SELECT ${STAGE_COLUMNS} FROM pipeline_stages WHERE run_id = $1 ORDER BY stage`, [runId])).rows,
  });

  it('stores the in-order run with its measured duration', async () => {
    for (const spec of Object.values(records('in-order'))) await send(spec);
    const { run, stage } = await stored('in-order');
    expect(run).toEqual([
      {
        state: 'ended',
        result: 'failure',
        started_at: new Date(T0),
        start_estimated: false,
        ended_at: new Date(T0 + 90_000),
        duration_seconds: 90,
        rows_read: 100,
        // Its own end reported none: its stage's.
        rows_written: 90,
        error_type: 'TimeoutError',
        last_seen_at: new Date(T0 + 95_000),
      },
    ]);
    expect(stage).toEqual([
      {
        stage: 'load',
        state: 'ended',
        result: 'success',
        started_at: new Date(T0 + 10_000),
        start_estimated: false,
        ended_at: new Date(T0 + 40_000),
        duration_seconds: 30,
        rows_written: 90,
        error_type: null,
        error_message: null,
      },
    ]);
  });

  it("shows the in-order red run as failed by its stage, from the earliest start it knows, its open stage closed", async () => {
    for (const spec of Object.values(redRecords('red-in-order'))) await send(spec);
    const { run, stage } = await stored('red-in-order');
    expect(run).toEqual([
      {
        state: 'ended',
        result: 'failure',
        started_at: new Date(T0 + 500),
        start_estimated: true,
        ended_at: new Date(T0 + 20_000),
        duration_seconds: 19.5,
        rows_read: null,
        rows_written: 8,
        error_type: 'ValueError',
        last_seen_at: new Date(T0 + 20_000),
      },
    ]);
    const at = (ms: number) => new Date(T0 + ms);
    const common = { state: 'ended', start_estimated: false };
    expect(stage).toEqual([
      { ...common, stage: 'extract', result: 'success', started_at: at(1000), ended_at: at(5000), duration_seconds: 4, rows_written: 5, error_type: null, error_message: null },
      { ...common, stage: 'load', result: 'failure', started_at: at(6000), ended_at: at(8009), duration_seconds: 2.009, rows_written: 3, error_type: 'ValueError', error_message: 'bad row 3' },
      // Closed by its run's end: when it would have ended, and so how long it ran, is not known.
      { ...common, stage: 'orphan', result: null, started_at: at(7000), ended_at: at(20_000), duration_seconds: null, rows_written: null, error_type: ERROR_TYPE.noEndReported, error_message: 'no end was reported before its run ended' },
    ]);
  });

  it.each(Object.keys(SCENARIOS) as Scenario[])('stores the same %s run for every order, one request per record', async (scenario) => {
    const make = SCENARIOS[scenario];
    for (const spec of Object.values(make(`${scenario}-expected`))) await send(spec);
    const expected = await stored(`${scenario}-expected`);
    const all = orders(scenario);
    // Orders run side by side (each its own run), records of one order one after the other.
    await Promise.all(
      all.map(async (order, i) => {
        for (const name of order) await send(make(`${scenario}-order-${i}`)[name]!);
      }),
    );
    for (const [i, order] of all.entries()) expect([order.join(','), await stored(`${scenario}-order-${i}`)]).toEqual([order.join(','), expected]);
  });

  it.each(Object.keys(SCENARIOS) as Scenario[])('stores the same %s run when its records arrive all at once, and again', async (scenario) => {
    const make = SCENARIOS[scenario];
    const expected = await stored(`${scenario}-expected`);
    for (const round of [1, 2]) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => Promise.all(Object.values(make(`${scenario}-concurrent-${i}`)).map(send))));
      for (let i = 0; i < 10; i++) expect([round, await stored(`${scenario}-concurrent-${i}`)]).toEqual([round, expected]);
    }
  });

  it.each([
    { unit: 'day', sums: 'pipeline_days', durations: 'pipeline_day_durations', of: "(started_at AT TIME ZONE 'UTC')::date" },
    { unit: 'hour', sums: 'pipeline_hours', durations: 'pipeline_hour_durations', of: "date_trunc('hour', started_at AT TIME ZONE 'UTC')" },
  ])("sums each run into its $unit's figures once, as it stands after every order", async ({ unit, sums, durations, of }) => {
    const db = r.receiver.db;
    const figures = (await db.query(`SELECT pipeline, ${unit}::text AS unit, ${FIGURE_NAMES.map((name) => `${name}::float8`).join(', ')} FROM ${sums} WHERE runs <> 0 ORDER BY 1, 2`)).rows;
    // The plain statement of what each run adds, over the runs as stored.
    const runs = await db.query(
      `SELECT pipeline, ${of}::text AS unit, count(*)::float8 AS runs,
              count(*) FILTER (WHERE state = 'running')::float8 AS running, count(*) FILTER (WHERE state = 'ended')::float8 AS ended,
              count(*) FILTER (WHERE result = 'success')::float8 AS successes, count(*) FILTER (WHERE result IN ('failure', 'error', 'timeout'))::float8 AS errors,
              count(duration_seconds) FILTER (WHERE state = 'ended')::float8 AS timed, coalesce(sum(duration_seconds) FILTER (WHERE state = 'ended'), 0)::float8 AS duration_sum,
              coalesce(sum(rows_read), 0)::float8 AS rows_read, coalesce(sum(rows_written), 0)::float8 AS rows_written, coalesce(sum(rows_rejected), 0)::float8 AS rows_rejected
         FROM pipeline_runs WHERE started_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(figures).toEqual(runs.rows);
    expect((await db.query(`SELECT count(*)::int AS n FROM ${sums} WHERE runs = 0 AND (${FIGURE_NAMES.map((name) => `${name} <> 0`).join(' OR ')})`)).rows).toEqual([{ n: 0 }]);
    const buckets = (await db.query(`SELECT pipeline, ${unit}::text AS unit, bucket, runs::int FROM ${durations} WHERE runs <> 0 ORDER BY 1, 2, 3`)).rows;
    const counted = await db.query(
      `SELECT pipeline, ${of}::text AS unit, ${DURATION_BUCKET} AS bucket, count(*)::int AS runs
         FROM pipeline_runs WHERE started_at IS NOT NULL AND ${TIMED} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    expect(buckets).toEqual(counted.rows);
    expect(buckets.length).toBeGreaterThan(0);
  });

  const runsTotal = async (pipeline: string, result: string) => {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`pipemon_pipeline_runs_total{tenant="acme",pipeline="${pipeline}",result="${result}"}`));
    return Number(line?.split(' ')[1] ?? 0);
  };

  it('counts a run that ended once, whatever came after its end', async () => {
    const before = await runsTotal('orders', 'failure');
    const specs = records('counted');
    for (const name of ['end', 'lateHeartbeat', 'start', 'heartbeat']) await send(specs[name]!);
    await send(specs.end!);
    expect((await runsTotal('orders', 'failure')) - before).toBe(1);
  });

  it('counts a run whose stage failure arrived after its end as failed too, once', async () => {
    const before = { success: await runsTotal('orders-red', 'success'), failure: await runsTotal('orders-red', 'failure') };
    const specs = redRecords('counted-red');
    for (const name of ['end', 'loadComplete', 'loadFail', 'loadFail', 'extractEnd']) await send(specs[name]!);
    // It showed as a success until its failed stage arrived: a counter cannot take that back, so both count.
    expect((await runsTotal('orders-red', 'success')) - before.success).toBe(1);
    expect((await runsTotal('orders-red', 'failure')) - before.failure).toBe(1);
  });
});
