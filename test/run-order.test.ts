/**
 * A run's state, result, times and duration do not depend on the order its records arrive in: each of
 * a run's records goes in its own request, in many orders (end before start included), all at once, and
 * twice; every run must come out as the in-order one does, on both databases. The run's end reports no
 * duration, so the stored one is measured (end minus start) whenever the start arrives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, EVENT } from '../sdk/vocabulary.js';
import { DURATION_BUCKET, FIGURE_NAMES, TIMED } from '../receiver/storage/run-days.js';
import { logsRequest, post, receiverBackends, SeverityNumber, startTestReceiver, type LogSpec, type TestReceiver } from './helpers/receiver.js';

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
const NAMES = Object.keys(records('x'));

/** Every order of the records would be 720; these 40 cover each record first and last, and more. */
function orders(): string[][] {
  const picked: string[][] = [NAMES, [...NAMES].reverse()];
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  while (picked.length < 40) picked.push([...NAMES].sort(() => random() - 0.5));
  for (const name of NAMES) picked.push([name, ...NAMES.filter((n) => n !== name)], [...NAMES.filter((n) => n !== name), name]);
  return picked;
}

const RUN_COLUMNS = `state, result, started_at, start_estimated, ended_at, duration_seconds, rows_read::int, rows_written::int, error_type,
  last_seen_at`;
const STAGE_COLUMNS = `state, result, started_at, start_estimated, ended_at, duration_seconds, rows_written::int`;

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
    stage: (await r.receiver.db.query(`SELECT ${STAGE_COLUMNS} FROM pipeline_stages WHERE run_id = $1`, [runId])).rows,
  });

  it('stores the in-order run with its measured duration', async () => {
    for (const name of NAMES) await send(records('in-order')[name]!);
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
        rows_written: null,
        error_type: 'TimeoutError',
        last_seen_at: new Date(T0 + 95_000),
      },
    ]);
    expect(stage).toEqual([
      {
        state: 'ended',
        result: 'success',
        started_at: new Date(T0 + 10_000),
        start_estimated: false,
        ended_at: new Date(T0 + 40_000),
        duration_seconds: 30,
        rows_written: 90,
      },
    ]);
  });

  it('stores the same run for every order, one request per record', async () => {
    const expected = await stored('in-order');
    const all = orders();
    // Orders run side by side (each its own run), records of one order one after the other.
    await Promise.all(
      all.map(async (order, i) => {
        for (const name of order) await send(records(`order-${i}`)[name]!);
      }),
    );
    for (const [i, order] of all.entries()) expect([order.join(','), await stored(`order-${i}`)]).toEqual([order.join(','), expected]);
  });

  it('stores the same run when its records arrive all at once, and again', async () => {
    const expected = await stored('in-order');
    for (const round of [1, 2]) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => Promise.all(NAMES.map((name) => send(records(`concurrent-${i}`)[name]!)))),
      );
      for (let i = 0; i < 10; i++) expect([round, await stored(`concurrent-${i}`)]).toEqual([round, expected]);
    }
  });

  it("sums each run into its day's figures once, as it stands after every order", async () => {
    const db = r.receiver.db;
    const figures = (await db.query(`SELECT pipeline, day::text, ${FIGURE_NAMES.map((name) => `${name}::float8`).join(', ')} FROM pipeline_days WHERE runs <> 0 ORDER BY 1, 2`)).rows;
    // The plain statement of what each run adds, over the runs as stored.
    const runs = await db.query(
      `SELECT pipeline, (started_at AT TIME ZONE 'UTC')::date::text AS day, count(*)::float8 AS runs,
              count(*) FILTER (WHERE state = 'running')::float8 AS running, count(*) FILTER (WHERE state = 'ended')::float8 AS ended,
              count(*) FILTER (WHERE result = 'success')::float8 AS successes, count(*) FILTER (WHERE result IN ('failure', 'error', 'timeout'))::float8 AS errors,
              count(duration_seconds) FILTER (WHERE state = 'ended')::float8 AS timed, coalesce(sum(duration_seconds) FILTER (WHERE state = 'ended'), 0)::float8 AS duration_sum,
              coalesce(sum(rows_read), 0)::float8 AS rows_read, coalesce(sum(rows_written), 0)::float8 AS rows_written, coalesce(sum(rows_rejected), 0)::float8 AS rows_rejected
         FROM pipeline_runs WHERE started_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(figures).toEqual(runs.rows);
    expect((await db.query(`SELECT count(*)::int AS n FROM pipeline_days WHERE runs = 0 AND (${FIGURE_NAMES.map((name) => `${name} <> 0`).join(' OR ')})`)).rows).toEqual([{ n: 0 }]);
    const buckets = (await db.query('SELECT pipeline, day, bucket, runs::int FROM pipeline_day_durations WHERE runs <> 0 ORDER BY 1, 2, 3')).rows;
    const durations = await db.query(
      `SELECT pipeline, (started_at AT TIME ZONE 'UTC')::date AS day, ${DURATION_BUCKET} AS bucket, count(*)::int AS runs
         FROM pipeline_runs WHERE started_at IS NOT NULL AND ${TIMED} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    expect(buckets).toEqual(durations.rows);
    expect(buckets.length).toBeGreaterThan(0);
  });

  it('counts a run that ended once, whatever came after its end', async () => {
    const metric = async () => {
      const text = await (await fetch(`${r.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('pipemon_pipeline_runs_total{tenant="acme",pipeline="orders",result="failure"}'));
      return Number(line?.split(' ')[1] ?? 0);
    };
    const before = await metric();
    const specs = records('counted');
    for (const name of ['end', 'lateHeartbeat', 'start', 'heartbeat']) await send(specs[name]!);
    await send(specs.end!);
    expect((await metric()) - before).toBe(1);
  });
});
