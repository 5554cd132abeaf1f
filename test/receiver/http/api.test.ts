import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { ROUTES } from '../../../receiver/http/routes.js';
import { api } from '../../helpers/api.js';
import { lineageGraphRecords } from '../../helpers/lineage-graph.js';
import { otlpJsonLogs, type JsonRecord, type Value } from '../../helpers/otlp-json.js';
import { post, receiverBackends, SpanKind, startTestReceiver, tracesRequest, type TestReceiver } from '../../helpers/receiver.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe.each(receiverBackends())('query API on $name', (backend) => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await backend.options()), maxBodyBytes: 64 * 1024 * 1024 });
  });
  afterAll(() => r?.close());

  /** A tenant of the test's own, so that its counts start from zero. */
  const tenant = async (name: string) => r.keyFor(`${name}-${hex(3)}`, ['ingest', 'read', 'admin']);

  async function send(key: string, records: JsonRecord[], resource: Record<string, Value> = { 'service.name': 'orders-etl', 'deployment.environment.name': 'prod' }) {
    const answer = await post(r.url, '/v1/logs', otlpJsonLogs(resource, records), { key, contentType: 'application/json' });
    expect([answer.status, answer.body.toString()]).toEqual([200, '{}']);
  }

  const get = (path: string, key: string, accept?: string) => api(r.url, path, { key, accept });
  const items = async (path: string, key: string) => {
    const answer = await get(path, key);
    expect([path, answer.status]).toEqual([path, 200]);
    return answer.body.items as any[];
  };
  const bodies = async (query: string, key: string) => (await items(`/api/v1/logs?${query}`, key)).map((log) => log.body);

  // One clock for every run the tests make: runs meant to start at the same moment (o-2 and b-1 below) do.
  const NOW = Date.now();

  /** A run's start and end records, `minutes` long, ending `endedAgoMs` before NOW. */
  function runRecords(pipeline: string, runId: string, result: string, minutes: number, endedAgoMs: number, extra: Record<string, Value> = {}): JsonRecord[] {
    const attributes = { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId, ...extra };
    const end = NOW - endedAgoMs;
    return [
      { eventName: EVENT.runStart, timeMs: end - minutes * MINUTE, attributes },
      { eventName: EVENT.runEnd, timeMs: end, attributes: { ...attributes, [ATTR.runResult]: result, [ATTR.durationSeconds]: minutes * 60 } },
    ];
  }

  it('filters logs by pipeline, stage, run, trace, severity, service, environment, time and words of the body, newest or oldest first', async () => {
    const key = await tenant('filters');
    const now = Date.now();
    const traceId = hex(16);
    const at = (pipeline: string, stage: string, runId: string) => ({ [ATTR.pipelineName]: pipeline, [ATTR.stageName]: stage, [ATTR.runId]: runId });
    await send(key, [
      { body: 'loaded 42 rows into warehouse.orders', timeMs: now - 5 * MINUTE, attributes: at('orders', 'load', 'o-1'), traceId, spanId: hex(8) },
      { body: 'extracted rows from the partner API', timeMs: now - 4 * MINUTE, attributes: at('orders', 'extract', 'o-1'), severityNumber: 13 },
      { body: 'connection refused by warehouse', timeMs: now - 3 * MINUTE, attributes: at('billing', 'load', 'b-1'), severityNumber: 17 },
    ]);
    await send(key, [{ body: 'old sdk warehouse record', timeMs: now - 2 * MINUTE }], { 'service.name': 'legacy', 'deployment.environment': 'staging' });

    expect(await bodies('pipeline=orders', key)).toEqual(['extracted rows from the partner API', 'loaded 42 rows into warehouse.orders']);
    expect(await bodies('stage=load', key)).toEqual(['connection refused by warehouse', 'loaded 42 rows into warehouse.orders']);
    expect(await bodies('run_id=b-1', key)).toEqual(['connection refused by warehouse']);
    expect(await bodies(`trace_id=${traceId.toUpperCase()}`, key)).toEqual(['loaded 42 rows into warehouse.orders']);
    expect(await bodies('severity_min=WARN', key)).toEqual(['connection refused by warehouse', 'extracted rows from the partner API']);
    expect(await bodies('service=legacy', key)).toEqual(['old sdk warehouse record']);
    expect(await bodies('environment=staging', key)).toEqual(['old sdk warehouse record']);
    expect(await bodies('environment=prod&severity_min=17', key)).toEqual(['connection refused by warehouse']);
    expect(await bodies(`since=${now - 4 * MINUTE}&until=${new Date(now - 3 * MINUTE).toISOString()}`, key)).toEqual(['extracted rows from the partner API']);
    // Word search: every word, in any order; "quoted phrases"; -excluded words. A dotted name is one word
    // to the parser (it reads it as a host name): warehouse.orders is found whole, not by its parts.
    expect(await bodies('q=warehouse', key)).toEqual(['old sdk warehouse record', 'connection refused by warehouse']);
    expect(await bodies('q=warehouse.orders', key)).toEqual(['loaded 42 rows into warehouse.orders']);
    expect(await bodies('q=warehouse%20refused', key)).toEqual(['connection refused by warehouse']);
    expect(await bodies('q=%22rows%20into%22', key)).toEqual(['loaded 42 rows into warehouse.orders']);
    expect(await bodies('q=warehouse%20-refused', key)).toEqual(['old sdk warehouse record']);
    expect(await bodies('q=nothing-like-this', key)).toEqual([]);
    // Oldest first, and paged so; a cursor of one order is refused by the other.
    expect(await bodies('sort=timestamp&pipeline=orders', key)).toEqual(['loaded 42 rows into warehouse.orders', 'extracted rows from the partner API']);
    const oldest = await get('/api/v1/logs?sort=timestamp&limit=1', key);
    const next = await get(`/api/v1/logs?sort=timestamp&limit=1&cursor=${oldest.body.next_cursor}`, key);
    expect([...oldest.body.items, ...next.body.items].map((log: any) => log.body)).toEqual((await bodies('sort=timestamp', key)).slice(0, 2));
    const wrongSort = await get(`/api/v1/logs?limit=1&cursor=${oldest.body.next_cursor}`, key);
    expect([wrongSort.status, wrongSort.body.error]).toEqual([400, expect.stringMatching(/invalid cursor.*same sort/)]);
  });

  it('lists runs by pipeline, result, state and environment, sorted by start or duration, each sort paged exactly', async () => {
    const key = await tenant('runs');
    await send(key, [
      ...runRecords('orders', 'o-1', 'success', 5, 50 * MINUTE),
      ...runRecords('orders', 'o-2', 'failure', 20, 30 * MINUTE),
      ...runRecords('orders', 'o-3', 'success', 1, 10 * MINUTE),
      ...runRecords('billing', 'b-1', 'success', 10, 40 * MINUTE),
      { eventName: EVENT.runStart, timeMs: Date.now() - MINUTE, attributes: { [ATTR.pipelineName]: 'billing', [ATTR.runId]: 'b-2' } },
      // A running run's heartbeat gives it a time so far, longer than any ended run's: the duration sorts leave it out.
      { eventName: EVENT.runHeartbeat, timeMs: Date.now(), attributes: { [ATTR.pipelineName]: 'billing', [ATTR.runId]: 'b-2', [ATTR.durationSeconds]: 3600 } },
    ]);
    await send(key, runRecords('staging-job', 's-1', 'success', 2, 20 * MINUTE), { 'service.name': 'etl', 'deployment.environment.name': 'staging' });
    const ids = async (query: string) => (await items(`/api/v1/runs?${query}`, key)).map((run) => run.run_id);

    expect(await ids('')).toEqual(['b-2', 'o-3', 's-1', 'o-2', 'b-1', 'o-1']);
    expect(await ids('sort=started_at')).toEqual(['o-1', 'b-1', 'o-2', 's-1', 'o-3', 'b-2']);
    expect(await ids('sort=-duration')).toEqual(['o-2', 'b-1', 'o-1', 's-1', 'o-3']);
    expect(await ids('sort=duration&pipeline=orders')).toEqual(['o-3', 'o-1', 'o-2']);
    expect(await ids('result=success&pipeline=orders')).toEqual(['o-3', 'o-1']);
    expect(await ids('state=running')).toEqual(['b-2']);
    expect(await ids('environment=staging')).toEqual(['s-1']);
    expect(await ids('environment=prod&state=ended&sort=-duration')).toEqual(['o-2', 'b-1', 'o-1', 'o-3']);

    for (const sort of ['-started_at', 'started_at', '-duration', 'duration']) {
      const whole = await ids(`sort=${sort}`);
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const answer: any = await get(`/api/v1/runs?sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, key);
        paged.push(...answer.body.items.map((run: any) => run.run_id));
        cursor = answer.body.next_cursor;
      } while (cursor);
      expect([sort, paged]).toEqual([sort, whole]);
    }
    // A cursor belongs to its sort.
    const first = await get('/api/v1/runs?sort=-duration&limit=1', key);
    const wrongSort = await get(`/api/v1/runs?limit=1&cursor=${first.body.next_cursor}`, key);
    expect([wrongSort.status, wrongSort.body.error]).toEqual([400, expect.stringMatching(/invalid cursor.*same sort/)]);
  });

  it('shows a run with its stages, data-quality checks, first page of logs and span tree', async () => {
    const key = await tenant('detail');
    const run = { [ATTR.pipelineName]: 'nightly', [ATTR.runId]: 'n-1' };
    const spans = tracesRequest([
      { name: 'run nightly', kind: SpanKind.SERVER, attributes: run, children: [{ name: 'load', attributes: { ...run, [ATTR.stageName]: 'load' }, children: [{ name: 'insert' }] }] },
    ]);
    expect((await post(r.url, '/v1/traces', spans, { key })).status).toBe(200);
    const now = Date.now();
    const check = (name: string, passed: boolean) => ({ eventName: EVENT.check, timeMs: now - MINUTE, attributes: { ...run, [ATTR.stageName]: 'load', [ATTR.checkName]: name, [ATTR.checkPassed]: passed } });
    await send(key, [
      check('null_ratio', true),
      { ...check('duplicates', false), timeMs: now - MINUTE + 1 },
      ...Array.from({ length: 105 }, (_, i) => ({ body: `row batch ${i}`, timeMs: now - 2 * MINUTE + i, attributes: run })),
    ]);

    const { status, body } = await get('/api/v1/runs/n-1', key);
    expect(status).toBe(200);
    expect(body).toMatchObject({ run_id: 'n-1', pipeline: 'nightly', state: 'ended' });
    expect(body.stages.map((stage: any) => stage.stage)).toEqual(['load']);
    expect(body.checks.map(({ name, passed, stage }: any) => ({ name, passed, stage }))).toEqual([
      { name: 'null_ratio', passed: true, stage: 'load' },
      { name: 'duplicates', passed: false, stage: 'load' },
    ]);
    expect(body.logs.items).toHaveLength(100);
    const rest = await items(`/api/v1/logs?run_id=n-1&cursor=${body.logs.next_cursor}`, key);
    expect(rest).toHaveLength(107 - 100);
    expect(body.spans.map((span: any) => span.name)).toEqual(['run nightly']);
    expect(body.spans[0].children[0].name).toBe('load');
    expect(body.spans[0].children[0].children.map((span: any) => span.name)).toEqual(['insert']);
  });

  it('answers the overview and per-pipeline figures, late and stuck as the alerts judge them', async () => {
    const key = await tenant('metrics');
    const hourly = { [ATTR.expectedIntervalSeconds]: 3600 };
    await send(key, [
      ...runRecords('orders', 'o-1', 'success', 10, 3 * DAY, hourly),
      ...runRecords('orders', 'o-2', 'failure', 30, 2 * DAY, hourly),
      ...runRecords('billing', 'b-1', 'success', 2, 10 * MINUTE, { [ATTR.rowsWritten]: 500 }),
      ...runRecords('billing', 'b-2', 'timeout', 4, 5 * MINUTE, { [ATTR.rowsWritten]: 20 }),
      { eventName: EVENT.runStart, timeMs: Date.now() - 20 * MINUTE, attributes: { [ATTR.pipelineName]: 'billing', [ATTR.runId]: 'b-3' } },
    ]);
    const overview = await get('/api/v1/metrics/overview?days=7', key);
    expect(overview.status).toBe(200);
    expect(overview.body).toMatchObject({ days: 7, runs: 5, running: 1, ended: 4, successes: 2, errors: 2, success_rate: 0.5, rows: { written: 520 } });
    expect(overview.body.duration_seconds.mean).toBeCloseTo((10 + 30 + 2 + 4) * 15, 6);
    expect(overview.body.duration_seconds.p95).toBeGreaterThan(1200);
    expect((await get('/api/v1/metrics/overview?days=1', key)).body).toMatchObject({ runs: 3, errors: 1 });
    expect((await get('/api/v1/metrics/overview', key)).body.days).toBe(7);

    const pipelines = await items('/api/v1/metrics/pipelines?days=7', key);
    expect(pipelines.map(({ pipeline, runs, errors, late, stuck, consecutive_failures }) => ({ pipeline, runs, errors, late, stuck, consecutive_failures }))).toEqual([
      { pipeline: 'billing', runs: 3, errors: 1, late: false, stuck: true, consecutive_failures: 1 },
      { pipeline: 'orders', runs: 2, errors: 1, late: true, stuck: false, consecutive_failures: 1 },
    ]);
    expect(pipelines[1].last_success_at).toBe(new Date(Date.now() - 3 * DAY).toISOString().slice(0, 10) + pipelines[1].last_success_at.slice(10));
    expect(pipelines[0].rows.written).toBe(520);

    // The run whose heartbeats stopped is marked stuck itself, in the list and in its detail; ended runs never are.
    const runs = await items('/api/v1/runs?pipeline=billing', key);
    expect(runs.map(({ run_id, state, stuck }) => ({ run_id, state, stuck }))).toEqual([
      { run_id: 'b-2', state: 'ended', stuck: false },
      { run_id: 'b-1', state: 'ended', stuck: false },
      { run_id: 'b-3', state: 'running', stuck: true },
    ]);
    expect((await get('/api/v1/runs/b-3', key)).body.stuck).toBe(true);
  });

  it('sums whole days from the per-day figures and agrees with the runs themselves: counts exact, p95 within a bucket', async () => {
    const name = `days-${hex(3)}`;
    const key = await r.keyFor(name, ['ingest', 'read']);
    let seed = 11;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const results = ['success', 'success', 'success', 'failure', 'timeout', 'skip'];
    const records: JsonRecord[] = [];
    for (let i = 0; i < 300; i++) {
      const pipeline = ['orders', 'billing', 'events'][i % 3]!;
      const endedAgo = Math.floor(random() * 9 * DAY);
      if (i % 25 === 0) {
        records.push({ eventName: EVENT.runStart, timeMs: Date.now() - endedAgo, attributes: { [ATTR.pipelineName]: pipeline, [ATTR.runId]: `d-${i}` } });
        continue;
      }
      const minutes = 1 + Math.floor(random() ** 2 * 300);
      records.push(...runRecords(pipeline, `d-${i}`, results[i % results.length]!, minutes, endedAgo, { [ATTR.rowsRead]: i * 10 }));
    }
    await send(key, records);
    const { rows: [{ tenant_id }] } = await r.receiver.db.query<{ tenant_id: number }>('SELECT tenant_id FROM tenants WHERE name = $1', [name]);
    // The plain statement of the figures, over every run of the window.
    const exact = async (since: string) =>
      (
        await r.receiver.db.query<{ pipeline: string | null; runs: number; running: number; ended: number; successes: number; errors: number; mean: number; p95: number; read: number | null }>(
          `SELECT pipeline, count(*)::int AS runs, count(*) FILTER (WHERE state = 'running')::int AS running, count(*) FILTER (WHERE state = 'ended')::int AS ended,
                  count(*) FILTER (WHERE result = 'success')::int AS successes, count(*) FILTER (WHERE result IN ('failure', 'error', 'timeout'))::int AS errors,
                  avg(duration_seconds) FILTER (WHERE state = 'ended') AS mean,
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_seconds) FILTER (WHERE state = 'ended') AS p95, sum(rows_read)::float8 AS read
             FROM pipeline_runs WHERE tenant_id = $1 AND started_at >= $2 GROUP BY ROLLUP (pipeline) ORDER BY pipeline NULLS FIRST`,
          [tenant_id, since],
        )
      ).rows;
    for (const days of [1, 3, 7, 30]) {
      const overview = (await get(`/api/v1/metrics/overview?days=${days}`, key)).body;
      const pipelines = (await get(`/api/v1/metrics/pipelines?days=${days}`, key)).body.items;
      const expected = await exact(overview.since);
      const answered = [{ pipeline: null, ...overview }, ...pipelines.filter((p: any) => p.runs > 0)];
      expect(answered.map((a) => [days, a.pipeline, a.runs, a.running, a.ended, a.successes, a.errors, a.rows.read])).toEqual(
        expected.map((e) => [days, e.pipeline, e.runs, e.running, e.ended, e.successes, e.errors, e.read ?? 0]),
      );
      for (const [i, a] of answered.entries()) {
        expect(a.duration_seconds.mean).toBeCloseTo(expected[i]!.mean, 6);
        expect(Math.abs(a.duration_seconds.p95 / expected[i]!.p95 - 1)).toBeLessThan(0.09);
      }
    }
  });

  it("lists each pipeline's latest runs with recent=N, newest first, and marks a silent running run stuck there and in its detail", async () => {
    const key = await tenant('recent');
    await send(key, [
      ...runRecords('orders', 'o-1', 'success', 10, 3 * DAY),
      ...runRecords('orders', 'o-2', 'failure', 30, 2 * DAY),
      ...runRecords('orders', 'o-3', 'success', 20, DAY),
      { eventName: EVENT.runStart, timeMs: Date.now() - 20 * MINUTE, attributes: { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'o-4' } },
      { eventName: EVENT.runStart, timeMs: Date.now() - MINUTE, attributes: { [ATTR.pipelineName]: 'billing', [ATTR.runId]: 'b-1' } },
    ]);
    expect((await items('/api/v1/metrics/pipelines', key)).map((p) => p.recent_runs)).toEqual([[], []]);
    const [billing, orders] = await items('/api/v1/metrics/pipelines?recent=3', key);
    expect(orders.recent_runs.map((run: any) => [run.run_id, run.state, run.result, run.duration_seconds, run.stuck])).toEqual([
      ['o-4', 'running', null, null, true],
      ['o-3', 'ended', 'success', 1200, false],
      ['o-2', 'ended', 'failure', 1800, false],
    ]);
    expect(billing.recent_runs.map((run: any) => [run.run_id, run.stuck])).toEqual([['b-1', false]]);
    expect((await get('/api/v1/runs/o-4', key)).body.stuck).toBe(true);
    expect((await get('/api/v1/runs/o-3', key)).body.stuck).toBe(false);
    expect((await get('/api/v1/runs/b-1', key)).body.stuck).toBe(false);
    const tooMany = await get('/api/v1/metrics/pipelines?recent=101', key);
    expect([tooMany.status, tooMany.body.error]).toEqual([400, '"recent" must be an integer from 0 to 100, got "101"']);
  });

  it('lists datasets, pages them, shows one with its writes, and answers 404 for an id not of this tenant', async () => {
    const key = await tenant('datasets');
    const other = await tenant('datasets-other');
    await send(key, lineageGraphRecords(NOW));
    const listed = await items('/api/v1/datasets', key);
    expect(listed.map((d) => d.dataset)).toEqual(['dw://customers', 'dw://daily_report', 'dw://orders', 'dw://raw_orders', 'dw://scores', 'src://shop.orders']);
    expect((await items('/api/v1/datasets?pipeline=report', key)).map((d) => d.dataset)).toEqual(['dw://daily_report', 'dw://orders']);
    expect((await items('/api/v1/datasets?q=RAW&namespace=dw', key)).map((d) => [d.dataset, d.writers, d.freshness])).toEqual([['dw://raw_orders', ['extract', 'feedback'], 'unknown']]);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const answer: any = await get(`/api/v1/datasets?limit=4${cursor ? `&cursor=${cursor}` : ''}`, key);
      paged.push(...answer.body.items.map((d: any) => d.dataset));
      cursor = answer.body.next_cursor;
    } while (cursor);
    expect(paged).toEqual(listed.map((d) => d.dataset));

    const orders = listed.find((d) => d.dataset === 'dw://orders')!;
    const detail = await get(`/api/v1/datasets/${orders.id}?writes=1`, key);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ dataset: 'dw://orders', freshness: 'stale', last_write: { run_id: 't-1' }, writes: [{ run_id: 't-2', counted: false }] });
    expect(detail.body.read_by.map((e: any) => e.pipeline)).toEqual(['report']);
    for (const k of [other, key]) {
      const missing = await get(`/api/v1/datasets/${k === other ? orders.id : '999999999'}`, k);
      expect([missing.status, missing.body.error]).toEqual([404, `dataset ${k === other ? orders.id : '999999999'} not found for this tenant`]);
    }
    expect(await items('/api/v1/datasets', other)).toEqual([]);
  });

  it('draws the lineage graph around a pipeline or a dataset, and shows a failed run’s datasets and downstream impact', async () => {
    const key = await tenant('lineage');
    const other = await tenant('lineage-other');
    await send(key, lineageGraphRecords(NOW));
    const down = await get('/api/v1/lineage?pipeline=extract&direction=down&depth=2', key);
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ root: 'pipeline:extract', direction: 'down', depth: 2, truncated: false });
    expect(down.body.nodes.map((n: any) => n.id).filter((id: string) => id.startsWith('pipeline:'))).toEqual(['pipeline:extract', 'pipeline:transform', 'pipeline:ml', 'pipeline:report']);
    expect(down.body.nodes.find((n: any) => n.id === 'pipeline:ml').pipeline).toMatchObject({ stuck: true, running: 1 });
    // Defaults: both ways, two hops.
    const both = await get('/api/v1/lineage?pipeline=report', key);
    expect([both.body.direction, both.body.depth]).toEqual(['both', 2]);
    const orders = both.body.nodes.find((n: any) => n.kind === 'dataset' && n.dataset.dataset === 'dw://orders').dataset;
    const around = await get(`/api/v1/lineage?dataset=${orders.id}&depth=1`, key);
    expect(around.body.edges.map((e: any) => `${e.source} ${e.direction} ${e.target}`)).toEqual([
      `dataset:${orders.id} read pipeline:report`,
      `pipeline:transform write dataset:${orders.id}`,
    ]);
    for (const [path, k, what] of [
      ['/api/v1/lineage?pipeline=nowhere', key, 'pipeline nowhere'],
      ['/api/v1/lineage?pipeline=report', other, 'pipeline report'],
      [`/api/v1/lineage?dataset=${orders.id}`, other, `dataset ${orders.id}`],
    ]) {
      const missing = await get(path!, k!);
      expect([path, missing.status, missing.body.error]).toEqual([path, 404, `${what} not found for this tenant`]);
    }

    const failed = await get('/api/v1/runs/t-2', key);
    expect(failed.body.datasets.map((d: any) => [d.dataset, d.direction, d.stage])).toContainEqual(['dw://orders', 'write', 'build']);
    expect(failed.body.impact.pipelines).toEqual([{ pipeline: 'report', hops: 1 }, { pipeline: 'feedback', hops: 2 }]);
    expect((await get('/api/v1/runs/m-1', key)).body.impact.pipelines).toEqual([{ pipeline: 'dash', hops: 1 }]);
    expect((await get('/api/v1/runs/t-1', key)).body.impact).toBeNull();
  });

  it('exports every list as CSV, the same rows as the JSON pages, fields quoted as RFC 4180 wants', async () => {
    const key = await tenant('csv');
    await send(key, [
      { body: 'plain', timeMs: Date.now() - 2 * MINUTE, attributes: { [ATTR.pipelineName]: 'csv' } },
      { body: 'a "quoted", multi\nline body', timeMs: Date.now() - MINUTE, attributes: { [ATTR.pipelineName]: 'csv' } },
      ...runRecords('csv', 'c-1', 'success', 1, MINUTE),
    ]);
    const csv = await get('/api/v1/logs?pipeline=csv&format=csv', key);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const header = csv.text.split('\r\n')[0]!.split(',');
    expect(header.slice(0, 3)).toEqual(['timestamp', 'time_unix_nano', 'observed_time_unix_nano']);
    expect(header).toContain('resource.attributes');
    expect(csv.text).toContain('"a ""quoted"", multi\nline body"');
    const json = await items('/api/v1/logs?pipeline=csv', key);
    expect(csv.text.trimEnd().split('\r\n')).toHaveLength(1 + json.length);
    const viaAccept = await get('/api/v1/logs?pipeline=csv', key, 'text/csv');
    expect(viaAccept.text.split('\r\n').slice(1).map((line) => line.split(',')[0])).toEqual(csv.text.split('\r\n').slice(1).map((line) => line.split(',')[0]));

    await send(key, lineageGraphRecords(NOW));
    for (const path of ['/api/v1/runs', '/api/v1/metrics/pipelines', '/api/v1/keys', '/api/v1/datasets']) {
      const answer = await get(`${path}?format=csv`, key);
      expect([path, answer.status, answer.headers.get('content-type')]).toEqual([path, 200, 'text/csv; charset=utf-8; header=present']);
      const listed = (await items(path, key)).length;
      expect([path, answer.text.trimEnd().split('\r\n').length]).toEqual([path, 1 + listed]);
    }
    expect((await get('/api/v1/runs?format=csv', key)).text.split('\r\n')[0]).toContain('rows.written');
    expect((await get('/api/v1/datasets?format=csv', key)).text.split('\r\n')[0]).toContain('last_write.run_id');
  });

  it('answers 400 with a message for unknown filters, bad times, bad cursors, oversize limits and NUL bytes', async () => {
    const key = await tenant('bad');
    const badCursor = Buffer.from(JSON.stringify(['logs', 'not a time', 'x'])).toString('base64url');
    const cases: [string, RegExp][] = [
      ['/api/v1/logs?pipline=orders', /unknown parameter "pipline": this route takes pipeline, stage/],
      ['/api/v1/runs?sort=fastest', /unknown sort "fastest": use one of -started_at/],
      ['/api/v1/logs?sort=newest', /unknown sort "newest": use one of -timestamp, timestamp/],
      ['/api/v1/runs?state=paused', /unknown state "paused"/],
      ['/api/v1/runs?result=meh', /unknown result "meh"/],
      ['/api/v1/runs/x?limit=1', /unknown parameter "limit": this route takes none/],
      ['/api/v1/metrics/overview?since=1', /unknown parameter "since": this route takes days/],
      ['/api/v1/logs?since=yesterday', /"since" must be an RFC 3339 time/],
      ['/api/v1/runs?until=2024-02-30T99:00:00Z', /"until" must be an RFC 3339 time/],
      ['/api/v1/logs?since=10000-01-01T00:00:00Z', /years 1970-9999/],
      ['/api/v1/logs?until=999999999999999', /years 1970-9999/],
      [`/api/v1/logs?cursor=${badCursor}`, /invalid cursor/],
      ['/api/v1/runs?cursor=garbage', /invalid cursor/],
      ['/api/v1/logs?limit=1001', /"limit" must be an integer from 1 to 1000/],
      ['/api/v1/logs?limit=0', /"limit" must be an integer from 1 to 1000/],
      ['/api/v1/logs?limit=10&format=csv', /a CSV export holds every matching row/],
      ['/api/v1/logs?format=xml', /unknown format "xml"/],
      ['/api/v1/metrics/overview?days=367', /"days" must be an integer from 1 to 366/],
      ['/api/v1/metrics/pipelines?days=-1', /"days" must be an integer/],
      ['/api/v1/logs?q=a%00b', /"q" contains a NUL byte/],
      ['/api/v1/logs?environment=%00', /"environment" contains a NUL byte/],
      ['/api/v1/runs?pipeline=a&pipeline=b', /"pipeline" must be given once/],
      ['/api/v1/traces/xyz', /trace id must be 32 hex characters/],
      [`/api/v1/logs?q=${'w'.repeat(501)}`, /"q" is longer than 500 characters/],
      ['/api/v1/lineage', /give exactly one of "pipeline" \(a pipeline name\) and "dataset"/],
      ['/api/v1/lineage?pipeline=a&dataset=1', /give exactly one of "pipeline"/],
      ['/api/v1/lineage?pipeline=a&depth=11', /"depth" must be an integer from 1 to 10, got "11"/],
      ['/api/v1/lineage?pipeline=a&depth=0', /"depth" must be an integer from 1 to 10/],
      ['/api/v1/lineage?pipeline=a&direction=sideways', /unknown direction "sideways": use one of up, down, both/],
      ['/api/v1/lineage?dataset=orders', /"dataset" must be a dataset id as \/api\/v1\/datasets lists it \(digits\), got "orders"/],
      ['/api/v1/datasets/orders', /"datasetId" must be a dataset id/],
      ['/api/v1/datasets/1?writes=1001', /"writes" must be an integer from 1 to 1000/],
      ['/api/v1/datasets?pipline=x', /unknown parameter "pipline": this route takes q, namespace, pipeline, limit, cursor, format/],
      ['/api/v1/datasets?cursor=garbage', /invalid cursor/],
    ];
    for (const [path, message] of cases) {
      const answer = await get(path, key);
      expect([path, answer.status, answer.body.error]).toEqual([path, 400, expect.stringMatching(message)]);
    }
    const admin = (method: string, body: unknown) => api(r.url, '/api/v1/retention', { key, method, body });
    for (const days of [0, 31, 1.5, 'x']) expect((await admin('PUT', { retention_days: days })).status).toBe(400);
    expect((await get('/api/v1/runs?limit=1', key)).status).toBe(200);
  });

  it('keeps tenants apart on every route', async () => {
    const mine = await tenant('mine');
    const theirs = await tenant('theirs');
    const traceId = hex(16);
    await send(mine, [...runRecords('secret', 'secret-1', 'failure', 3, MINUTE), { body: 'secret words', timeMs: Date.now() - MINUTE, traceId, spanId: hex(8), attributes: { [ATTR.runId]: 'secret-1' } }]);
    expect((await items('/api/v1/runs', mine)).length).toBe(1);
    await send(mine, lineageGraphRecords(NOW));
    for (const path of ['/api/v1/logs', '/api/v1/logs?q=secret', '/api/v1/runs', '/api/v1/metrics/pipelines', `/api/v1/logs?trace_id=${traceId}`, '/api/v1/datasets']) {
      expect([path, await items(path, theirs)]).toEqual([path, []]);
      expect([path, (await get(`${path}${path.includes('?') ? '&' : '?'}format=csv`, theirs)).text.trimEnd().split('\r\n').length]).toEqual([path, 1]);
    }
    const [dataset] = await items('/api/v1/datasets', mine);
    for (const path of ['/api/v1/runs/secret-1', `/api/v1/traces/${traceId}`, `/api/v1/datasets/${dataset.id}`, '/api/v1/lineage?pipeline=transform', `/api/v1/lineage?dataset=${dataset.id}`]) {
      expect([path, (await get(path, mine)).status, (await get(path, theirs)).status]).toEqual([path, 200, 404]);
    }
    expect((await get('/api/v1/metrics/overview', theirs)).body).toMatchObject({ runs: 0, errors: 0, success_rate: null });
    const cleanup = await api(r.url, '/api/v1/retention/cleanup', { key: theirs, method: 'POST' });
    expect(cleanup.body.deleted).toEqual({ logs: 0, spans: 0, points: 0, runs: 0, stages: 0 });
    expect((await items('/api/v1/logs', mine)).length).toBe(3 + lineageGraphRecords(NOW).length);
  });

  it("lets an admin key set its tenant's retention and delete what is past it, and no other key", async () => {
    const key = await tenant('retention');
    const other = await tenant('retention-other');
    const old = Date.now() - 3 * DAY;
    for (const k of [key, other]) {
      await send(k, [{ body: 'old', timeMs: old }, { body: 'new', timeMs: Date.now() - MINUTE }, ...runRecords('p', 'old-run', 'success', 1, 3 * DAY)]);
    }
    expect((await api(r.url, '/api/v1/retention', { key: r.key })).status).toBe(403);
    expect((await api(r.url, '/api/v1/retention', { key: r.key, method: 'PUT', body: { retention_days: 1 } })).status).toBe(403);
    expect((await api(r.url, '/api/v1/retention/cleanup', { key: r.key, method: 'POST' })).status).toBe(403);
    expect((await api(r.url, '/api/v1/retention', { key })).body).toEqual({ retention_days: 30, tenant_retention_days: null, server_retention_days: 30 });
    const set = await api(r.url, '/api/v1/retention', { key, method: 'PUT', body: { retention_days: 2 } });
    expect(set.body).toEqual({ retention_days: 2, tenant_retention_days: 2, server_retention_days: 30 });

    const cleanup = await api(r.url, '/api/v1/retention/cleanup', { key, method: 'POST' });
    expect(cleanup.status).toBe(200);
    expect(cleanup.body).toMatchObject({ retention_days: 2, deleted: { logs: 3, runs: 1 } });
    const withBody = async (k: string) => (await bodies('', k)).filter((body) => body !== null);
    expect(await withBody(key)).toEqual(['new']);
    expect(await items('/api/v1/runs', key)).toEqual([]);
    expect(await withBody(other)).toEqual(['new', 'old']);
    expect(await items('/api/v1/runs', other)).toHaveLength(1);
    // Its resources and scopes of those days went with its records; the other tenant's stayed.
    const oldStreams = async (name: string) =>
      (await r.receiver.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM log_streams s JOIN tenants t USING (tenant_id) WHERE t.name ~ ('^' || $1 || '-[0-9a-f]+$') AND s.day < $2::date`,
        [name, new Date(Date.now() - 2 * DAY).toISOString()],
      )).rows[0]!.n;
    expect([await oldStreams('retention'), (await oldStreams('retention-other')) > 0]).toEqual([0, true]);
    expect((await api(r.url, '/api/v1/retention/cleanup', { key, method: 'POST' })).body.deleted).toEqual({ logs: 0, spans: 0, points: 0, runs: 0, stages: 0 });
    expect((await api(r.url, '/api/v1/retention', { key, method: 'PUT', body: { retention_days: null } })).body.retention_days).toBe(30);
  });

  it('serves an OpenAPI 3.1 document of every route, ingest included', async () => {
    const { status, body } = await api(r.url, '/api/v1/openapi.json');
    expect([status, body.openapi]).toEqual([200, '3.1.0']);
    for (const route of ROUTES) expect(body.paths[`/api/v1${route.path}`]?.[route.method], `${route.method} ${route.path}`).toBeDefined();
    for (const path of ['/v1/logs', '/v1/traces', '/v1/metrics', '/api/v1/logs', '/api/v1/logs/batch', '/api/v1/lineage']) expect(body.paths[path]?.post, path).toBeDefined();
    // Answers outside the JSON API are checked too: an OTLP partial success and a refusal.
    const missing = await api(r.url, '/api/v1/runs/none', { key: r.key });
    expect(missing.status).toBe(404);
  });
});
