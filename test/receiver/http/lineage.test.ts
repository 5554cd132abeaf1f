/**
 * POST /api/v1/lineage against the real receiver on both databases: the real OpenLineage Python client
 * reporting a DAG run with a failing task, the run states and results of each eventType, resends, static
 * lineage, bad input and tenants.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, LINEAGE } from '../../../contract/vocabulary.js';
import { checkAnswer } from '../../helpers/api.js';
import { datasetEvent, jobEvent, openlineageClient, runEvent } from '../../helpers/openlineage.js';
import { fixturePath } from '../../helpers/repo.js';
import { getJson, post, receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { required, withTools } from '../../helpers/tools.js';
import { tempDir } from '../../helpers/temp.js';

const FIXTURES = fixturePath();
const { version: VERSION, python, hint: PYTHON_HINT } = openlineageClient('test/receiver/http/lineage.test.ts');

const JSON_TYPE = 'application/json';
// One instant for every event time, so that durations come out exact.
const NOW = Date.now();
const minutesAgo = (n: number) => new Date(NOW - n * 60_000).toISOString();

describe.each(receiverBackends())('OpenLineage on $name', (backend) => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await backend.options()), maxBodyBytes: 1024 * 1024 });
  });
  afterAll(() => r?.close());

  async function lineage(body: unknown, options: { key?: string | null; contentType?: string; encoding?: 'gzip' } = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const { status, headers, body: answer } = await post(r.url, '/api/v1/lineage', text, {
      key: options.key === undefined ? r.key : options.key,
      contentType: options.contentType ?? JSON_TYPE,
      encoding: options.encoding,
    });
    const json = answer.length > 0 ? JSON.parse(answer.toString('utf8')) : null;
    // Every answer as the OpenAPI document says (test/helpers/api.ts).
    await checkAnswer(r.url, 'POST', '/api/v1/lineage', { status, headers, body: json, text: answer.toString('utf8') });
    return { status, headers, json };
  }

  /** The sum of a metric's series that carry all of `labels`. */
  async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    return text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) && wanted.every((pair) => line.includes(pair)))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  }

  async function run(runId: string, key = r.key) {
    const { status, body } = await getJson(r.url, `/api/v1/runs/${runId}`, key);
    expect(status).toBe(200);
    return body;
  }

  async function logs(query: string) {
    const { status, body } = await getJson(r.url, `/api/v1/logs?${query}`, r.key);
    expect(status).toBe(200);
    return body.items as any[];
  }

  withTools(python)(
    'takes a DAG run from the real OpenLineage Python client: the DAG run is a run, its tasks its stages, the failure and its error kept',
    async () => {
      const bin = required(`the OpenLineage Python client ${VERSION}`, python, PYTHON_HINT);
      const dag = `orders_dag_${randomUUID().slice(0, 8)}`;
      const pipeline = `pipemon-test/${dag}`;
      const before = {
        failures: await metric('pipemon_pipeline_runs_total', { pipeline, result: 'failure' }),
        runs: await metric('pipemon_receiver_lineage_events_total', { type: 'run' }),
        jobs: await metric('pipemon_receiver_lineage_events_total', { type: 'job' }),
        datasets: await metric('pipemon_receiver_lineage_events_total', { type: 'dataset' }),
      };
      // An empty directory and environment, so that no openlineage.yml or OPENLINEAGE_* setting of the machine applies.
      const cwd = tempDir('pipemon-openlineage-');
      const { stdout } = await promisify(execFile)(bin, [path.join(FIXTURES, 'openlineage_dag.py'), r.url, r.key, dag], {
        cwd,
        env: { PATH: process.env.PATH, HOME: cwd },
        timeout: 60_000,
      });
      const ids = JSON.parse(stdout) as { dag: string; extract: string; load: string };

      const dagRun = await run(ids.dag);
      expect(dagRun).toMatchObject({ pipeline, state: 'ended', result: 'failure', source_system: 'openlineage', service_name: 'pipemon-test' });
      expect(dagRun.duration_seconds).toBeGreaterThanOrEqual(0);
      const stages = Object.fromEntries(dagRun.stages.map((stage: any) => [stage.stage, stage]));
      expect(Object.keys(stages).sort()).toEqual(['extract', 'load']);
      expect(stages.extract).toMatchObject({
        stage_run_id: ids.extract,
        state: 'ended',
        result: 'success',
        rows: { read: 1200, written: 1180, rejected: null },
        target: { namespace: 'postgres://warehouse:5432', collection: 'staging.public.orders' },
        error: null,
      });
      expect(stages.load).toMatchObject({
        stage_run_id: ids.load,
        state: 'ended',
        result: 'failure',
        target: { namespace: 'postgres://warehouse:5432', collection: 'dw.public.orders' },
        error: { type: 'ValueError', message: 'duplicate key value violates unique constraint orders_pkey' },
      });
      expect(stages.load.attributes['exception.stacktrace']).toContain('Traceback (most recent call last)');

      expect(await metric('pipemon_pipeline_runs_total', { pipeline, result: 'failure' })).toBe(before.failures + 1);
      expect(await metric('pipemon_receiver_lineage_events_total', { type: 'run' })).toBe(before.runs + 6);
      expect(await metric('pipemon_receiver_lineage_events_total', { type: 'job' })).toBe(before.jobs + 1);
      expect(await metric('pipemon_receiver_lineage_events_total', { type: 'dataset' })).toBe(before.datasets + 1);
      const [publish] = await logs(`pipeline=${encodeURIComponent(`${pipeline}.publish`)}`);
      expect(publish).toMatchObject({ event_name: LINEAGE.jobEvent, attributes: { [ATTR.lineageOutputs]: ['postgres://warehouse:5432/dw.public.orders_daily'] } });
    },
  );

  it('answers 201 as Marquez does, and stores a resent event once', async () => {
    const event = runEvent({ eventType: 'COMPLETE', eventTime: minutesAgo(1), outputs: [{ namespace: 'pg', name: 'orders', rowCount: 7 }] });
    const duplicates = await metric('pipemon_receiver_duplicate_records_total', { signal: 'logs' });
    expect(await lineage(event)).toMatchObject({ status: 201, json: { accepted: 1, rejected: 0 } });
    expect(await lineage(event, { encoding: 'gzip' })).toMatchObject({ status: 201, json: { accepted: 1, rejected: 0 } });
    expect(await logs(`run_id=${event.run.runId}`)).toHaveLength(1);
    expect(await metric('pipemon_receiver_duplicate_records_total', { signal: 'logs' })).toBe(duplicates + 1);
    expect(await run(event.run.runId)).toMatchObject({ state: 'ended', result: 'success', rows: { written: 7 } });
  });

  it('makes ABORT a cancellation, whatever order START and ABORT arrive in', async () => {
    const runId = randomUUID();
    const pipeline = 'airflow/abort_dag';
    const cancelled = await metric('pipemon_pipeline_runs_total', { pipeline, result: 'cancellation' });
    const start = runEvent({ runId, name: 'abort_dag', eventType: 'START', eventTime: minutesAgo(3) });
    const abort = runEvent({ runId, name: 'abort_dag', eventType: 'ABORT', eventTime: minutesAgo(2) });
    expect((await lineage([abort, start])).status).toBe(201);
    expect(await run(runId)).toMatchObject({ pipeline, state: 'ended', result: 'cancellation', duration_seconds: 60 });
    expect(await metric('pipemon_pipeline_runs_total', { pipeline, result: 'cancellation' })).toBe(cancelled + 1);
  });

  it('takes RUNNING and OTHER as signs of life that change no state', async () => {
    const runId = randomUUID();
    await lineage(runEvent({ runId, eventType: 'START', eventTime: minutesAgo(5) }));
    await lineage(runEvent({ runId, eventType: 'RUNNING', eventTime: minutesAgo(4) }));
    const running = await run(runId);
    expect(running).toMatchObject({ state: 'running', result: null });
    expect(Date.parse(running.last_seen_at)).toBeGreaterThan(Date.parse(running.started_at));
    await lineage(runEvent({ runId, eventType: 'COMPLETE', eventTime: minutesAgo(3) }));
    await lineage(runEvent({ runId, eventType: 'OTHER', eventTime: minutesAgo(2) }));
    expect(await run(runId)).toMatchObject({ state: 'ended', result: 'success', duration_seconds: 120 });
    expect(await logs(`run_id=${runId}`)).toHaveLength(4);
  });

  it('accepts and counts job and dataset events (static lineage), storing them as records', async () => {
    const [jobs, datasets] = [
      await metric('pipemon_receiver_lineage_events_total', { type: 'job' }),
      await metric('pipemon_receiver_lineage_events_total', { type: 'dataset' }),
    ];
    const job = jobEvent(`static_${randomUUID().slice(0, 8)}`);
    expect(await lineage([job, datasetEvent()])).toMatchObject({ status: 201, json: { accepted: 2, rejected: 0 } });
    expect(await metric('pipemon_receiver_lineage_events_total', { type: 'job' })).toBe(jobs + 1);
    expect(await metric('pipemon_receiver_lineage_events_total', { type: 'dataset' })).toBe(datasets + 1);
    const [stored] = await logs(`pipeline=${encodeURIComponent(`airflow/${job.job.name}`)}`);
    expect(stored.event_name).toBe(LINEAGE.jobEvent);
    expect(JSON.parse(stored.body)).toEqual(job);
  });

  it('stores the valid events of an array and names the others by index', async () => {
    const good = runEvent({ eventType: 'START' });
    const answer = await lineage([good, { ...runEvent(), eventType: 'DONE' }, runEvent({ eventTime: '2001-01-01T00:00:00Z' })]);
    expect(answer.status).toBe(201);
    expect(answer.json).toEqual({
      accepted: 1,
      rejected: 2,
      errors: [
        { index: 1, error: expect.stringContaining('event 1: "eventType" must be one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER') },
        { index: 2, error: 'event 2: eventTime refused: timestamp older than the retention window' },
      ],
    });
    expect(await run(good.run.runId)).toMatchObject({ state: 'running' });
    const allBad = await lineage([{ ...runEvent(), run: { runId: 'x' } }]);
    expect(allBad.status).toBe(400);
    expect(allBad.json).toMatchObject({ error: 'all 1 events were refused: see errors', accepted: 0, rejected: 1 });
  });

  it.each([
    ['malformed JSON', '{"eventType": "START",', 400, 'request body is not valid JSON'],
    ['no eventTime', { ...runEvent(), eventTime: undefined }, 400, '"eventTime" is required'],
    ['no run id', { ...runEvent(), run: {} }, 400, '"run.runId" is required'],
    ['no job name', { ...runEvent(), job: { namespace: 'airflow' } }, 400, '"job.name" is required'],
    ['a run id that is no UUID', { ...runEvent(), run: { runId: 'run-1' } }, 400, '"run.runId" must be a UUID'],
    ['an unknown eventType', { ...runEvent(), eventType: 'DONE' }, 400, 'must be one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER'],
    ['a wrong type', { ...runEvent(), inputs: 'orders' }, 400, '"inputs" must be an array of JSON objects, got the string "orders"'],
    ['a NUL character', JSON.stringify({ ...runEvent(), job: { namespace: 'airflow', name: 'a\u0000b' } }), 400, '"job.name" contains a NUL byte'],
    ['an event too old to keep', runEvent({ eventTime: '2001-01-01T00:00:00Z' }), 400, 'eventTime refused: timestamp older than the retention window'],
    ['1,001 events', Array.from({ length: 1001 }, () => ({})), 413, 'a batch holds at most 1000 events, got 1001: split it'],
    ['a body that is no event', '"START"', 400, 'an OpenLineage event must be a JSON object, got the string'],
  ])('refuses %s with a clear 4xx, and keeps serving', async (_, body, status, message) => {
    const answer = await lineage(body);
    expect(answer.status).toBe(status);
    expect(answer.json.error).toContain(message);
    expect((await lineage(runEvent())).status).toBe(201);
  });

  it('refuses other media types, methods and keys', async () => {
    expect((await lineage(runEvent(), { contentType: 'application/x-www-form-urlencoded' })).status).toBe(415);
    // GET is the lineage graph's (the query API's); other methods but POST are refused here.
    const put = await fetch(`${r.url}/api/v1/lineage`, { method: 'PUT', headers: { authorization: `Bearer ${r.key}` } });
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'POST']);
    expect((await lineage(runEvent(), { key: null })).status).toBe(401);
    expect((await lineage(runEvent(), { key: 'pm_not_a_key' })).status).toBe(401);
    expect((await lineage(runEvent(), { key: await r.keyFor('acme', ['read']) })).status).toBe(403);
    expect((await lineage(runEvent(), { contentType: '' })).status).toBe(201);
    expect((await lineage(runEvent(), { contentType: 'text/plain;charset=UTF-8' })).status).toBe(201);
  });

  it("keeps a tenant's runs from another tenant's key", async () => {
    const event = runEvent({ eventType: 'START', name: 'private_dag' });
    expect((await lineage(event)).status).toBe(201);
    const other = await r.keyFor(`globex-${randomUUID().slice(0, 8)}`, ['ingest', 'read']);
    expect((await getJson(r.url, `/api/v1/runs/${event.run.runId}`, other)).status).toBe(404);
    const { body } = await getJson(r.url, '/api/v1/runs?pipeline=airflow%2Fprivate_dag', other);
    expect(body.items).toEqual([]);
    expect((await run(event.run.runId)).pipeline).toBe('airflow/private_dag');
  });
});
