import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVITY } from '../../../contract/vocabulary.js';
import { getJson, receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { checkAnswer } from '../../helpers/api.js';

const HOUR = 3_600_000;
/** A time within the retention window, distinct per call so that runs never collide across tests. */
let clock = Date.now() - 10 * HOUR;
const at = () => new Date((clock += 1000)).toISOString();

/** A notebook record, as a Fabric notebook's logging SDK posts it. */
const notebook = (overrides: Record<string, unknown> = {}) => ({
  source_system: 'zephyr',
  stage: 'source',
  notebook_name: 'sourceZephyr',
  workspace_id: 'ws-1',
  lakehouse_id: 'lh-1',
  status: 'Success',
  logged_at: at(),
  duration: 45.2,
  capabilities: ['authVerified', 'bootstrapped'],
  entity_name: 'issues',
  target_table: 'source.issues',
  row_count: 1200,
  additional_metadata: { attempt: 1 },
  ...overrides,
});

/** A workflow record, as the workflow's log shipper posts it. */
const workflow = (overrides: Record<string, unknown> = {}) => ({
  environment: 'production',
  executed_at: at(),
  ticket_id: `TICKET-${clock}`,
  status: 'SUCCESS',
  execution_time_seconds: 5.2,
  category: 'billing_issue',
  metrics: { confidence: 0.95 },
  payload: { trace: [{ node: 'classify' }] },
  ...overrides,
});

describe.each(receiverBackends())('activity records on $name', (backend) => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await backend.options()), maxBodyBytes: 4 * 1024 * 1024 });
  });
  afterAll(() => r?.close());

  /** POSTs as the loggers' clients do: requests.post(url, json=record, headers={"X-API-Key": key}). */
  async function postJson(path: string, body: unknown, options: { key?: string | null; raw?: string; contentType?: string } = {}) {
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
    const key = options.key === undefined ? r.key : options.key;
    if (key !== null) headers['x-api-key'] = key;
    const response = await fetch(r.url + path, { method: 'POST', headers, body: options.raw ?? JSON.stringify(body) });
    const text = await response.text();
    // Every answer as the OpenAPI document says (test/helpers/api.ts).
    const answer = await checkAnswer(r.url, 'POST', path, { status: response.status, headers: response.headers, body: JSON.parse(text), text });
    return { status: answer.status, body: answer.body as any };
  }

  async function metric(name: string, ...labels: string[]): Promise<number> {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  const runsMetric = (pipeline: string, result: string) => metric('pipemon_pipeline_runs_total', `pipeline="${pipeline}"`, `result="${result}"`);

  async function run(id: string) {
    const { status, body } = await getJson(r.url, `/api/v1/runs/${encodeURIComponent(id)}`, r.key);
    expect(status).toBe(200);
    return body;
  }

  async function logCount(runId: string): Promise<number> {
    const { status, body } = await getJson(r.url, `/api/v1/logs?run_id=${encodeURIComponent(runId)}`, r.key);
    expect(status).toBe(200);
    return body.items.length;
  }

  async function stillServing() {
    const { status } = await postJson('/api/v1/logs', notebook({ source_system: 'canary' }));
    expect(status).toBe(201);
  }

  it("turns notebook records into runs with their stage, result, duration, rows and target", async () => {
    const before = await runsMetric('zephyr', 'success');
    const record = notebook();
    const { status, body } = await postJson('/api/v1/logs', record);
    expect(status).toBe(201);
    expect(body).toEqual({ id: `zephyr/sourceZephyr@${record.logged_at}`, pipeline: 'zephyr', stage: 'source' });

    const stored = await run(body.id);
    expect(stored).toMatchObject({
      pipeline: 'zephyr',
      state: 'ended',
      result: 'success',
      duration_seconds: 45.2,
      rows: { written: 1200 },
      target: { collection: 'source.issues' },
      source_system: 'zephyr',
      service_name: 'sourceZephyr',
    });
    expect(stored.attributes).toMatchObject({ [ACTIVITY.workspaceId]: 'ws-1', [ACTIVITY.additionalMetadata]: { attempt: 1 } });
    expect(stored.stages).toHaveLength(1);
    expect(stored.stages[0]).toMatchObject({ stage: 'source', stage_run_id: 'sourceZephyr', result: 'success', duration_seconds: 45.2 });
    expect(Date.parse(stored.ended_at) - Date.parse(stored.started_at)).toBe(45_200);

    const listed = await getJson(r.url, '/api/v1/runs?pipeline=zephyr', r.key);
    expect(listed.body.items.map((item: { run_id: string }) => item.run_id)).toContain(body.id);
    expect((await runsMetric('zephyr', 'success')) - before).toBe(1);

    const failed = await postJson('/api/v1/logs', notebook({ stage: 'prepare', notebook_name: 'prepareZephyr', status: 'Failed' }));
    expect(failed.status).toBe(201);
    expect(await run(failed.body.id)).toMatchObject({ result: 'failure', stages: [{ stage: 'prepare', result: 'failure' }] });
  });

  it("turns workflow records into runs, one by one and in batches", async () => {
    const before = await runsMetric('workflow', 'success');
    const single = await postJson('/api/v1/logs', workflow());
    expect(single.status).toBe(201);
    expect(await run(single.body.id)).toMatchObject({ pipeline: 'workflow', result: 'success', duration_seconds: 5.2, stages: [] });

    const records = [workflow(), workflow({ status: 'FAILED' }), workflow({ status: 'ERROR', ticket_id: null })];
    const batch = await postJson('/api/v1/logs/batch', { logs: records });
    expect(batch.status).toBe(201);
    expect(batch.body).toMatchObject({ accepted: 3, rejected: 0 });
    expect(batch.body.ids).toHaveLength(3);
    expect(batch.body.results.map((result: { status: string }) => result.status)).toEqual(['created', 'created', 'created']);
    const results = await Promise.all(batch.body.ids.map(async (id: string) => (await run(id)).result));
    expect(results).toEqual(['success', 'failure', 'error']);
    expect((await runsMetric('workflow', 'success')) - before).toBe(2);

    const bare = await postJson('/api/v1/logs/batch', [notebook({ source_system: 'xero' }), workflow()]);
    expect(bare.status).toBe(201);
    expect(bare.body.results[0]).toMatchObject({ index: 0, status: 'created', pipeline: 'xero', stage: 'source' });
  });

  it('answers a batch per record, storing the good ones', async () => {
    const good = [notebook({ source_system: 'jira' }), workflow()];
    const batch = await postJson('/api/v1/logs/batch', [
      good[0],
      notebook({ row_count: -1 }),
      workflow({ status: 'Finished' }),
      good[1],
      notebook({ logged_at: '2020-01-01T00:00:00Z' }),
      'not a record',
    ]);
    expect(batch.status).toBe(207);
    expect(batch.body).toMatchObject({ accepted: 2, rejected: 4 });
    const [r0, r1, r2, r3, r4, r5] = batch.body.results;
    expect(r0).toMatchObject({ index: 0, status: 'created' });
    expect(r1).toEqual({ index: 1, status: 'rejected', error: '"row_count" must be a non-negative integer, got number -1' });
    expect(r2).toMatchObject({ index: 2, status: 'rejected', error: expect.stringContaining('"status" must be one of started') });
    expect(r3).toMatchObject({ index: 3, status: 'created' });
    expect(r4).toEqual({ index: 4, status: 'rejected', error: '"logged_at": timestamp older than the retention window' });
    expect(r5).toMatchObject({ index: 5, status: 'rejected', error: expect.stringContaining('must be a JSON object') });
    for (const id of batch.body.ids) expect((await run(id)).state).toBe('ended');

    const none = await postJson('/api/v1/logs/batch', [notebook({ status: 'meh' })]);
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ accepted: 0, rejected: 1, error: expect.stringContaining('refused') });
  });

  it('stores a resent record or batch once', async () => {
    const record = notebook({ source_system: 'resend' });
    const before = await runsMetric('resend', 'success');
    const first = await postJson('/api/v1/logs', record);
    // Resent with its keys in another order, as another client library might.
    const again = await postJson('/api/v1/logs', Object.fromEntries(Object.entries(record).reverse()));
    expect(again).toEqual(first);
    expect(await logCount(first.body.id)).toBe(2); // the run's record and its stage's

    const batch = [workflow({ ticket_id: 'RESEND-1' }), workflow({ ticket_id: 'RESEND-2' })];
    const one = await postJson('/api/v1/logs/batch', batch);
    const two = await postJson('/api/v1/logs/batch', { logs: batch });
    expect(two.body).toEqual(one.body);
    for (const id of one.body.ids) expect(await logCount(id)).toBe(1);
    expect((await runsMetric('resend', 'success')) - before).toBe(1);
  });

  it('refuses a batch over 1,000 records, saying the limit', async () => {
    const records = Array.from({ length: 1001 }, () => workflow());
    const { status, body } = await postJson('/api/v1/logs/batch', records);
    expect(status).toBe(413);
    expect(body.error).toBe('a batch holds at most 1000 records, got 1001: split it');
    expect((await postJson('/api/v1/logs/batch', records.slice(0, 1000))).status).toBe(201);
    await stillServing();
  });

  it('takes the key as Authorization: Bearer too', async () => {
    const response = await fetch(`${r.url}/api/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${r.key}` },
      body: JSON.stringify(workflow()),
    });
    expect(response.status).toBe(201);
  });

  it('answers bad input with a 4xx naming the problem, and keeps serving', async () => {
    const refusedBefore = await metric('pipemon_receiver_refused_records_total', 'reason="invalid activity field duration"');
    const cases: [string, () => ReturnType<typeof postJson>, number, string][] = [
      ['malformed JSON', () => postJson('/api/v1/logs', null, { raw: '{"status": "Success",' }), 400, 'the request body is not valid JSON'],
      ['malformed batch JSON', () => postJson('/api/v1/logs/batch', null, { raw: '[{' }), 400, 'not valid JSON'],
      ['a wrong type', () => postJson('/api/v1/logs', notebook({ duration: '45s' })), 400, '"duration" must be a number of seconds'],
      ['a missing field', () => postJson('/api/v1/logs', workflow({ environment: undefined })), 400, '"environment" is required'],
      ['a missing time', () => postJson('/api/v1/logs', notebook({ logged_at: null })), 400, '"logged_at" is required'],
      ['a NUL byte', () => postJson('/api/v1/logs', notebook({ notebook_name: 'a\u0000b' })), 400, '"notebook_name" contains a NUL byte'],
      ['an unknown status', () => postJson('/api/v1/logs', workflow({ status: 'OK!' })), 400, '"status" must be one of'],
      ['an old record', () => postJson('/api/v1/logs', workflow({ executed_at: '2020-01-01T00:00:00Z' })), 400, '"executed_at": timestamp older than the retention window'],
      ['an array to the single route', () => postJson('/api/v1/logs', [notebook()]), 400, 'post arrays to /api/v1/logs/batch'],
      ['a batch that is no array', () => postJson('/api/v1/logs/batch', { records: [] }), 400, 'a batch is a JSON array of records'],
      ['a form body', () => postJson('/api/v1/logs', null, { raw: 'a=1', contentType: 'application/x-www-form-urlencoded' }), 415, 'Content-Type: application/json'],
      ['no key', () => postJson('/api/v1/logs', notebook(), { key: null }), 401, 'missing API key'],
      ['a wrong key', () => postJson('/api/v1/logs', notebook(), { key: 'pm_wrong' }), 401, 'unknown or revoked API key'],
    ];
    for (const [name, send, status, message] of cases) {
      const answer = await send();
      expect({ name, status: answer.status }).toEqual({ name, status });
      expect(answer.body.error).toContain(message);
      await stillServing();
    }
    expect((await metric('pipemon_receiver_refused_records_total', 'reason="invalid activity field duration"')) - refusedBefore).toBe(1);
    const readOnly = await r.keyFor('acme', ['read']);
    const refused = await postJson('/api/v1/logs/batch', [workflow()], { key: readOnly });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toContain('lacks the "ingest" scope');
    await stillServing();
  });

  it('keeps GET /api/v1/logs the query route, and each tenant to its own runs', async () => {
    const { status, body } = await postJson('/api/v1/logs', notebook({ source_system: 'private' }));
    expect(status).toBe(201);
    const query = await getJson(r.url, '/api/v1/logs?pipeline=private', r.key);
    expect(query.status).toBe(200);
    expect(query.body.items).toHaveLength(2);
    const other = await r.keyFor('globex', ['ingest', 'read']);
    expect((await getJson(r.url, `/api/v1/runs/${encodeURIComponent(body.id)}`, other)).status).toBe(404);
  });
});
