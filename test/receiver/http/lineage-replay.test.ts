/**
 * What Spark's OpenLineage listener and Airflow's OpenLineage provider really send (recorded in
 * test/fixtures/openlineage/, versions in its README), replayed through the real OpenLineage Python
 * client in many orders: every failure the producer knew of shows as a failure, with its cause in the
 * producer's words, and each order shows the same run.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { ATTR, ERROR_TYPE } from '../../../contract/vocabulary.js';
import { openlineageClient } from '../../helpers/openlineage.js';
import { fixturePath } from '../../helpers/repo.js';
import { getJson, receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { required, withTools } from '../../helpers/tools.js';
import { tempDir } from '../../helpers/temp.js';

const FIXTURES = fixturePath();
const { python, hint } = openlineageClient('test/receiver/http/lineage-replay.test.ts');
// One end for every replay, so that each order's run has the same times.
const END_MS = Date.now() - 60_000;

const eventsOf = (fixture: string) =>
  fs.readFileSync(path.join(FIXTURES, 'openlineage', `${fixture}.jsonl`), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));

/** In order, reversed, every end before every other event, and seeded shuffles. */
function ordersOf(fixture: string): number[][] {
  const indexes = eventsOf(fixture).map((_, i) => i);
  const isEnd = (i: number) => ['COMPLETE', 'FAIL', 'ABORT'].includes(eventsOf(fixture)[i].eventType);
  const picked = [indexes, [...indexes].reverse(), [...indexes.filter(isEnd), ...indexes.filter((i) => !isEnd(i))]];
  let seed = 11;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  while (picked.length < 6) picked.push([...indexes].sort(() => random() - 0.5));
  return picked;
}

/** A run's detail without what differs between replays (ids, which record came last, its first log page). */
function comparable(run: any) {
  const { run_id: _r, trace_id: _t, logs: _l, spans: _s, attributes: _a, ...rest } = run;
  const withoutIds = ({ stage_run_id: _i, attributes: _sa, ...item }: any) => item;
  return { ...rest, stages: run.stages.map(withoutIds), datasets: run.datasets.map(withoutIds) };
}

describe.each(receiverBackends())('recorded OpenLineage producers, replayed by the real client on $name', (backend) => {
  let r: TestReceiver;
  let cwd: string;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await backend.options()), maxBodyBytes: 1024 * 1024 });
    cwd = tempDir('pipemon-openlineage-replay-');
  });
  afterAll(async () => {
    await r?.close();
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });

  /** Replays `fixture` in `order`; returns the replayed id of the run the recording calls `recordedRunId`. */
  async function replay(fixture: string, order: number[]): Promise<Record<string, string>> {
    const bin = required('the OpenLineage Python client', python, hint);
    const { stdout } = await promisify(execFile)(
      bin,
      [path.join(FIXTURES, 'openlineage_replay.py'), r.url, r.key, path.join(FIXTURES, 'openlineage', `${fixture}.jsonl`), order.join(','), String(END_MS)],
      // An empty directory and environment, so that no openlineage.yml or OPENLINEAGE_* setting of the machine applies.
      { cwd, env: { PATH: process.env.PATH, HOME: cwd }, timeout: 60_000 },
    );
    return JSON.parse(stdout);
  }

  async function runDetail(runId: string) {
    const { status, body } = await getJson(r.url, `/api/v1/runs/${runId}`, r.key);
    expect(status).toBe(200);
    return body;
  }

  /** The id of the run (the event without a parent) in a recording. */
  const rootRunId = (fixture: string, job: string) => eventsOf(fixture).find((event) => event.job.name === job && !event.run.facets?.parent)!.run.runId;

  /** Replays every order; expects each to show the in-order run; returns it with its stages by name. */
  async function everyOrder(fixture: string, job: string) {
    const runs = [];
    for (const order of ordersOf(fixture)) runs.push(await runDetail((await replay(fixture, order))[rootRunId(fixture, job)]!));
    for (const [i, run] of runs.entries()) expect([i, comparable(run)]).toEqual([i, comparable(runs[0])]);
    return { run: runs[0], stages: Object.fromEntries(runs[0].stages.map((stage: any) => [stage.stage, stage])) };
  }

  const NO_END = { state: 'ended', result: null, error: { type: ERROR_TYPE.noEndReported, message: 'no end was reported before its run ended' } };

  withTools(python)("Spark: a job's FAIL then COMPLETE fails it and its application, with the exception's words", async () => {
    const { run, stages } = await everyOrder('spark-udf-failure', 'orders_udf_failure');
    expect(run).toMatchObject({ pipeline: 'spark-fixtures/orders_udf_failure', state: 'ended', result: 'failure', start_estimated: false });
    expect(run.error.type).toBe('org.apache.spark.api.python.PythonException');
    expect(run.error.message).toContain('ValueError: bad row 3');
    // The listener ended the application with COMPLETE: that is what it reported, and it shows failed.
    expect(run.reported).toEqual({ result: 'success', error: null });
    const write = stages['execute_insert_into_hadoop_fs_relation_command.out_checked'];
    expect(write).toMatchObject({ state: 'ended', result: 'failure', error: run.error });
    expect(write.attributes['exception.stacktrace']).toMatch(/^org\.apache\.spark\.api\.python\.PythonException/);
    expect(stages['map_partitions_sql_execution_map_partitions_file_scan']).toMatchObject(NO_END);
    expect(stages['collect_limit']).toMatchObject({ result: 'success' });
  });

  withTools(python)("Spark: a successful application shows its jobs' rows, its schema job closed by its end", async () => {
    const { run, stages } = await everyOrder('spark-success', 'orders_filter');
    expect(run).toMatchObject({ result: 'success', reported: null, rows: { written: 3 }, error: null });
    expect(stages['execute_insert_into_hadoop_fs_relation_command.out_big_orders']).toMatchObject({ result: 'success', rows: { written: 3 } });
    expect(stages['map_partitions_sql_execution_map_partitions_file_scan']).toMatchObject(NO_END);
  });

  withTools(python)("Airflow: a DAG run with no START fails with its task's error, from its own start date", async () => {
    const { run, stages } = await everyOrder('airflow-task-failure', 'ol_fixture_failure');
    const recorded = eventsOf('airflow-task-failure');
    const shift = END_MS - Math.max(...recorded.map((event) => Date.parse(event.eventTime)));
    const dagRunStart = Date.parse(recorded.at(-1).run.facets.airflowDagRun.dagRun.start_date) + shift;
    const end = Date.parse(recorded.at(-1).eventTime) + shift;
    expect(run).toMatchObject({
      pipeline: 'airflow-fixtures/ol_fixture_failure',
      result: 'failure',
      error: { type: 'ValueError', message: 'warehouse refused 2 rows' },
      reported: { result: 'failure', error: { type: '_OTHER', message: 'task_failure' } },
      start_estimated: true,
      started_at: new Date(dagRunStart).toISOString(),
    });
    expect(run.duration_seconds).toBeCloseTo((end - dagRunStart) / 1000, 3);
    expect(stages.extract).toMatchObject({ result: 'success' });
    expect(stages.load).toMatchObject({ result: 'failure', error: run.error });
    const { body } = await getJson(r.url, `/api/v1/logs?run_id=${run.run_id}&limit=100`, r.key);
    const outputs = body.items.flatMap((record: any) => record.attributes[ATTR.lineageOutputs] ?? []);
    expect(new Set(outputs)).toEqual(new Set(['file:///tmp/olrec/staged.csv', 'file:///tmp/olrec/warehouse/orders.csv']));
  });

  withTools(python)('Airflow: a successful DAG run of Assets, dataset names as the naming spec writes them', async () => {
    const { run } = await everyOrder('airflow-success', 'ol_fixture_success');
    expect(run).toMatchObject({ result: 'success', reported: null, error: null, start_estimated: true });
    const { body } = await getJson(r.url, `/api/v1/logs?run_id=${run.run_id}&limit=100`, r.key);
    const inputs = body.items.flatMap((record: any) => record.attributes[ATTR.lineageInputs] ?? []);
    expect(new Set(inputs)).toEqual(new Set(['file:///tmp/olrec/in.csv', 'file:///tmp/olrec/staged.csv']));
  });

  withTools(python)("Airflow's scheduler: two DAG runs at once, each with its own result", async () => {
    const fixture = 'airflow-scheduler-concurrent';
    const ids = await replay(fixture, eventsOf(fixture).map((_, i) => i));
    const failed = await runDetail(ids[rootRunId(fixture, 'ol_fixture_failure')]!);
    const succeeded = await runDetail(ids[rootRunId(fixture, 'ol_fixture_success')]!);
    expect(failed).toMatchObject({ result: 'failure', start_estimated: false, error: { message: 'warehouse refused 2 rows' } });
    expect(succeeded).toMatchObject({ result: 'success', start_estimated: false, error: null });
  });
});
