import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR, EVENT } from '../../contract/vocabulary.js';
import {
  SeverityNumber,
  SpanKind,
  encodeLogs,
  getJson,
  holdBudget,
  makeLogRecords,
  logsRequest,
  post,
  receiverBackends,
  startTestReceiver,
  startWithTightBudget,
  tracesRequest,
  type TestReceiver,
} from '../helpers/receiver.js';

const JSON_TYPE = 'application/json';

describe.each(receiverBackends())('receiver on $name', (backend) => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await backend.options()), maxBodyBytes: 1024 * 1024 });
  });
  afterAll(() => r?.close());

  async function logsOf(query: string, key = r.key) {
    const { status, body } = await getJson(r.url, `/api/v1/logs?${query}`, key);
    expect(status).toBe(200);
    return body.items as any[];
  }

  async function metric(name: string, labels: string): Promise<number> {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  it('stores what the official OpenTelemetry exporters send, attribute for attribute', async () => {
    const resource = resourceFromAttributes({ 'service.name': 'exporter-test', 'service.version': '2.1.0' });
    const headers = { Authorization: `Bearer ${r.key}` };
    for (const [name, Exporter] of [['proto', ProtoLogExporter], ['json', JsonLogExporter]] as const) {
      const provider = new LoggerProvider({
        resource,
        processors: [new BatchLogRecordProcessor({ exporter: new Exporter({ url: `${r.url}/v1/logs`, headers }) })],
      });
      provider.getLogger('exporter-scope', '0.9.0').emit({
        body: `loaded orders via ${name}`,
        severityNumber: SeverityNumber.WARN,
        severityText: 'WARN',
        eventName: 'orders.loaded',
        attributes: { via: name, 'rows.count': 1234, ratio: 0.25, ok: true, tags: ['a', 'b'], 'big.int': 2 ** 40 },
      });
      await provider.forceFlush();
      await provider.shutdown();
    }
    for (const name of ['proto', 'json']) {
      const logs = (await logsOf('limit=100')).filter((log) => log.attributes.via === name);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({
        body: `loaded orders via ${name}`,
        severity_number: SeverityNumber.WARN,
        severity_text: 'WARN',
        event_name: 'orders.loaded',
        service_name: 'exporter-test',
        attributes: { via: name, 'rows.count': 1234, ratio: 0.25, ok: true, tags: ['a', 'b'], 'big.int': 2 ** 40 },
        resource: { attributes: { 'service.name': 'exporter-test', 'service.version': '2.1.0' } },
        scope: { name: 'exporter-scope', version: '0.9.0' },
      });
      expect(logs[0].time_unix_nano).toMatch(/^\d{19}$/);
    }

    for (const [name, Exporter] of [['proto', ProtoTraceExporter], ['json', JsonTraceExporter]] as const) {
      const provider = new BasicTracerProvider({
        resource,
        spanProcessors: [new BatchSpanProcessor(new Exporter({ url: `${r.url}/v1/traces`, headers }))],
      });
      const span = provider.getTracer('exporter-scope').startSpan(`load ${name}`, { kind: SpanKind.CLIENT, attributes: { via: name, n: 7 } });
      span.addEvent('checkpoint', { at: 3 });
      const traceId = span.spanContext().traceId;
      span.end();
      await provider.forceFlush();
      await provider.shutdown();
      const { status, body } = await getJson(r.url, `/api/v1/traces/${traceId}`, r.key);
      expect(status).toBe(200);
      expect(body.spans).toHaveLength(1);
      expect(body.spans[0]).toMatchObject({
        trace_id: traceId,
        span_id: span.spanContext().spanId,
        name: `load ${name}`,
        kind: 3,
        attributes: { via: name, n: 7 },
        events: [{ name: 'checkpoint', attributes: { at: 3 } }],
        resource: { attributes: { 'service.name': 'exporter-test' } },
      });
    }
  });

  it('answers an empty request with 200', async () => {
    expect((await post(r.url, '/v1/logs', Buffer.alloc(0), { key: r.key })).status).toBe(200);
    expect((await post(r.url, '/v1/traces', '{}', { key: r.key, contentType: JSON_TYPE })).status).toBe(200);
  });

  it('stores a resent batch once, in either encoding, and counts it once', async () => {
    const now = Date.now();
    const specs = Array.from({ length: 50 }, (_, i) => ({ body: `resend ${i}`, attributes: { batch: 'resend' }, timestampMs: now - 60_000 + i }));
    const before = await metric('pipemon_receiver_accepted_records_total', 'signal="logs"');
    // The same records sent three times: as protobuf, gzipped protobuf and JSON.
    const records = makeLogRecords(specs);
    const bodies = [encodeLogs(records, 'protobuf'), encodeLogs(records, 'protobuf'), encodeLogs(records, 'json')];
    expect((await post(r.url, '/v1/logs', bodies[0]!, { key: r.key })).status).toBe(200);
    expect((await post(r.url, '/v1/logs', bodies[1]!, { key: r.key, encoding: 'gzip' })).status).toBe(200);
    expect((await post(r.url, '/v1/logs', bodies[2]!, { key: r.key, contentType: JSON_TYPE })).status).toBe(200);
    const stored = (await logsOf('limit=1000')).filter((log) => log.attributes.batch === 'resend');
    expect(stored).toHaveLength(50);
    expect((await metric('pipemon_receiver_accepted_records_total', 'signal="logs"')) - before).toBe(50);
    expect(await metric('pipemon_receiver_duplicate_records_total', 'signal="logs"')).toBeGreaterThanOrEqual(100);

    const spans = tracesRequest([{ name: 'resent span', attributes: { batch: 'resend' } }]);
    for (let i = 0; i < 3; i++) expect((await post(r.url, '/v1/traces', spans, { key: r.key })).status).toBe(200);
    expect(await metric('pipemon_receiver_duplicate_records_total', 'signal="traces"')).toBe(2);
  });

  it('stores the valid records and reports the invalid ones as a partial success', async () => {
    const now = `${Date.now()}000000`;
    const body = JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'partial' } }] },
          scopeLogs: [
            {
              logRecords: [
                { timeUnixNano: now, body: { stringValue: 'good one' }, attributes: [{ key: 'case', value: { stringValue: 'partial' } }] },
                { timeUnixNano: now, traceId: 'abcd', body: { stringValue: 'short trace id' } },
                { body: { stringValue: 'no time at all' } },
              ],
            },
          ],
        },
      ],
    });
    const response = await post(r.url, '/v1/logs', body, { key: r.key, contentType: JSON_TYPE });
    expect(response.status).toBe(200);
    const answer = JSON.parse(response.body.toString());
    expect(answer.partialSuccess.rejectedLogRecords).toBe('2');
    expect(answer.partialSuccess.errorMessage).toMatch(/trace_id/);
    expect(answer.partialSuccess.errorMessage).toMatch(/no timestamp/);
    const stored = (await logsOf('limit=1000')).filter((log) => log.attributes.case === 'partial');
    expect(stored.map((log) => log.body)).toEqual(['good one']);
  });

  it('leaves out records whose names no index can hold, and stores a huge body beside them, searchable', async () => {
    const refusedBefore = await metric('pipemon_receiver_refused_records_total', 'signal="logs",reason="a pipeline, run or stage name over 1024 bytes"');
    // A run id past the index row limit (about 2,700 bytes): stored, it would fail the whole request.
    const runId = randomBytes(8_000).toString('base64');
    // A body whose words make a tsvector past PostgreSQL's 1 MB: only its first 100,000 characters are indexed.
    const huge = Array.from({ length: 150_000 }, (_, i) => `w${i.toString(36)}`).join(' ');
    const answer = await post(
      r.url,
      '/v1/logs',
      logsRequest([
        { eventName: EVENT.runStart, attributes: { [ATTR.pipelineName]: 'too-long', [ATTR.runId]: runId } },
        { body: huge, attributes: { case: 'huge-body' } },
      ], 'json'),
      { key: r.key, contentType: JSON_TYPE },
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString()).partialSuccess).toMatchObject({ rejectedLogRecords: '1' });
    expect((await metric('pipemon_receiver_refused_records_total', 'signal="logs",reason="a pipeline, run or stage name over 1024 bytes"')) - refusedBefore).toBe(1);
    const found = await logsOf(`q=${huge.split(' ')[5]}`);
    expect(found.map((log) => log.attributes.case)).toEqual(['huge-body']);
    expect(found[0].body).toHaveLength(huge.length);
  });

  it('stores the good records beside values no column can hold, and never retries them forever', async () => {
    const now = `${Date.now()}000000`;
    const record = (extra: object) => ({ timeUnixNano: now, attributes: [{ key: 'case', value: { stringValue: 'ranges' } }], ...extra });
    const body = JSON.stringify({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                record({ body: { stringValue: 'flags at uint32 max' }, flags: 4294967295 }),
                record({ body: { stringValue: 'observed past int64' }, observedTimeUnixNano: '18446744073709551615' }),
                record({
                  body: { stringValue: 'a run that lasted 1e303 seconds' },
                  eventName: EVENT.runEnd,
                  attributes: [
                    { key: ATTR.pipelineName, value: { stringValue: 'ranges' } },
                    { key: ATTR.runId, value: { stringValue: 'run-ranges' } },
                    { key: ATTR.durationSeconds, value: { doubleValue: 1e303 } },
                    { key: ATTR.rowsRead, value: { doubleValue: 1e300 } },
                  ],
                }),
              ],
            },
          ],
        },
      ],
    });
    const response = await post(r.url, '/v1/logs', body, { key: r.key, contentType: JSON_TYPE });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString()).partialSuccess).toEqual({ rejectedLogRecords: '1', errorMessage: expect.stringMatching(/int64/) });
    const stored = await logsOf('limit=1000');
    expect(stored.find((log) => log.body === 'flags at uint32 max')?.flags).toBe(4294967295);
    const run = await getJson(r.url, '/api/v1/runs/run-ranges', r.key);
    expect(run.body).toMatchObject({ state: 'ended', duration_seconds: null, rows: { read: null } });

    const spans = JSON.parse(tracesRequest([{ name: 'odd status' }], 'json').toString());
    spans.resourceSpans[0].scopeSpans[0].spans[0].status = { code: 7 };
    const refused = await post(r.url, '/v1/traces', JSON.stringify(spans), { key: r.key, contentType: JSON_TYPE });
    expect(JSON.parse(refused.body.toString()).partialSuccess).toEqual({ rejectedSpans: '1', errorMessage: expect.stringMatching(/status code/) });
  });

  describe('refuses bad requests with a clear status and keeps serving', () => {
    const valid = () => logsRequest([{ body: 'still serving' }]);
    const cases: [string, () => Promise<Awaited<ReturnType<typeof post>>>, number, RegExp][] = [
      ['PUT on an OTLP path', () => post(r.url, '/v1/logs', '', { key: r.key, method: 'PUT' }), 405, /use POST/],
      ['no API key', () => post(r.url, '/v1/logs', valid(), { key: null }), 401, /missing API key/],
      ['an unknown API key', () => post(r.url, '/v1/logs', valid(), { key: 'pm_1_000000000000_' + '0'.repeat(64) }), 401, /unknown or revoked/],
      ['a malformed key', () => post(r.url, '/v1/logs', valid(), { key: 'hunter2' }), 401, /unknown or revoked/],
      ['text/plain', () => post(r.url, '/v1/logs', 'hello', { key: r.key, contentType: 'text/plain' }), 415, /Content-Type/],
      ['malformed protobuf', () => post(r.url, '/v1/logs', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1]), { key: r.key }), 400, /protobuf/],
      ['truncated protobuf', () => post(r.url, '/v1/logs', valid().subarray(0, 40), { key: r.key }), 400, /truncated|protobuf/],
      ['invalid JSON', () => post(r.url, '/v1/logs', '{"resourceLogs": [', { key: r.key, contentType: JSON_TYPE }), 400, /JSON/],
      ['JSON of the wrong types', () => post(r.url, '/v1/logs', '{"resourceLogs": {"a": 1}}', { key: r.key, contentType: JSON_TYPE }), 400, /resourceLogs/],
      ['an unknown encoding', () => post(r.url, '/v1/logs', valid(), { key: r.key, headers: { 'content-encoding': 'br' } }), 400, /Content-Encoding/],
      ['invalid gzip', () => post(r.url, '/v1/logs', valid(), { key: r.key, headers: { 'content-encoding': 'gzip' } }), 400, /gzip/],
      ['a body over the limit', () => post(r.url, '/v1/logs', Buffer.alloc(2 * 1024 * 1024), { key: r.key }), 413, /exceeds the limit/],
      [
        'a gzip bomb',
        () => post(r.url, '/v1/logs', gzipSync(Buffer.alloc(200 * 1024 * 1024)), { key: r.key, headers: { 'content-encoding': 'gzip' } }),
        413,
        /once decompressed/,
      ],
    ];
    it.each(cases)('%s', async (_name, send, status, message) => {
      const response = await send();
      expect(response.status).toBe(status);
      const text = response.headers.get('content-type')?.includes('json')
        ? JSON.parse(response.body.toString()).message
        : response.body.toString('latin1');
      expect(text).toMatch(message);
      expect((await post(r.url, '/v1/logs', valid(), { key: r.key })).status).toBe(200);
    });
  });

  it('answers 400 for a NUL byte in any path or query parameter of the API, naming it, and keeps serving', async () => {
    const admin = await r.keyFor('acme', ['admin']);
    const cases: [string, string, string][] = [
      ['/api/v1/runs/%00', r.key, 'runId'],
      ['/api/v1/runs/run%00x', r.key, 'runId'],
      ['/api/v1/logs?pipeline=a%00b', r.key, 'pipeline'],
      ['/api/v1/logs?run_id=%00', r.key, 'run_id'],
      ['/api/v1/runs?pipeline=%00', r.key, 'pipeline'],
      ['/api/v1/logs?cursor=%00', r.key, 'cursor'],
    ];
    for (const [path, key, name] of cases) {
      const answer = await getJson(r.url, path, key);
      expect([path, answer.status, answer.body.error]).toEqual([path, 400, `"${name}" contains a NUL byte (%00), which no stored value holds: remove it`]);
    }
    const revoke = await fetch(`${r.url}/api/v1/keys/%00`, { method: 'DELETE', headers: { 'x-api-key': admin } });
    expect(revoke.status).toBe(400);
    expect((await getJson(r.url, '/api/v1/runs?limit=1', r.key)).status).toBe(200);
  });

  it('keeps tenants apart: a key reads and writes only its own tenant', async () => {
    const other = await r.keyFor('globex', ['ingest', 'read']);
    expect((await post(r.url, '/v1/logs', logsRequest([{ body: 'globex secret', attributes: { tenant: 'globex' } }]), { key: other })).status).toBe(200);
    expect((await logsOf('limit=1000', other)).map((log) => log.body)).toEqual(['globex secret']);
    expect((await logsOf('limit=1000')).filter((log) => log.body === 'globex secret')).toHaveLength(0);
    const readOnly = await r.keyFor('globex', ['read']);
    expect((await post(r.url, '/v1/logs', logsRequest([{ body: 'x' }]), { key: readOnly })).status).toBe(403);
    const ingestOnly = await r.keyFor('globex', ['ingest']);
    expect((await getJson(r.url, '/api/v1/logs', ingestOnly)).status).toBe(403);
  });

  it('lets an admin key manage the keys of its own tenant only', async () => {
    const admin = await r.keyFor('initech', ['admin']);
    const headers = { 'x-api-key': admin, 'content-type': 'application/json' };
    const created = await fetch(`${r.url}/api/v1/keys`, { method: 'POST', headers, body: JSON.stringify({ scopes: ['ingest'] }) });
    expect(created.status).toBe(201);
    const { key, key_id } = (await created.json()) as { key: string; key_id: string };
    expect((await post(r.url, '/v1/logs', logsRequest([{ body: 'initech' }]), { key })).status).toBe(200);
    const listed = await getJson(r.url, '/api/v1/keys', admin);
    expect(listed.body.items.map((k: any) => k.key_id)).toContain(key_id);
    expect(listed.body.items).toHaveLength(2);
    const bad = await fetch(`${r.url}/api/v1/keys`, { method: 'POST', headers, body: JSON.stringify({ scopes: ['root'] }) });
    expect(bad.status).toBe(400);
    const malformed = await fetch(`${r.url}/api/v1/keys`, { method: 'POST', headers, body: '{"scopes": [' });
    expect(malformed.status).toBe(400);
    // Another tenant's key id is not found, not revoked.
    const acmeKeyId = r.key.split('_')[2];
    expect((await fetch(`${r.url}/api/v1/keys/${acmeKeyId}`, { method: 'DELETE', headers })).status).toBe(404);
    expect((await fetch(`${r.url}/api/v1/keys/${key_id}`, { method: 'DELETE', headers })).status).toBe(200);
    const after = await getJson(r.url, '/api/v1/keys', admin);
    expect(after.body.items.find((k: any) => k.key_id === key_id).revoked_at).not.toBeNull();
    expect((await getJson(r.url, '/api/v1/keys', r.key)).status).toBe(403);
  });

  it('pages through logs with a cursor, newest first, without repeats', async () => {
    const base = Date.now() - 3_600_000;
    await post(r.url, '/v1/logs', logsRequest(Array.from({ length: 25 }, (_, i) => ({ body: `page ${i}`, attributes: { [ATTR.pipelineName]: 'pager' }, timestampMs: base + i }))), { key: r.key });
    const seen: string[] = [];
    let cursor = '';
    for (let page = 0; page < 5; page++) {
      const { body } = await getJson(r.url, `/api/v1/logs?pipeline=pager&limit=10${cursor ? `&cursor=${cursor}` : ''}`, r.key);
      seen.push(...body.items.map((log: any) => log.body));
      if (!body.next_cursor) break;
      cursor = body.next_cursor;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `page ${24 - i}`));
    expect((await getJson(r.url, '/api/v1/logs?cursor=garbage', r.key)).status).toBe(400);
    const tampered = Buffer.from(JSON.stringify(['2026-13-45T99:00:00.000Z', 'x'])).toString('base64url');
    expect((await getJson(r.url, `/api/v1/logs?cursor=${tampered}`, r.key)).status).toBe(400);
    expect((await getJson(r.url, `/api/v1/runs?cursor=${tampered}`, r.key)).status).toBe(400);
    expect((await getJson(r.url, '/api/v1/logs?severity_min=LOUD', r.key)).status).toBe(400);
  });

  it.each(['protobuf', 'json'] as const)('derives runs from records whose event name is in the event.name attribute (%s)', async (format) => {
    // A tenant of its own: the suite's other tests list the shared tenant's failed runs.
    const key = await r.keyFor('legacy-sdk', ['ingest', 'read']);
    const run = { [ATTR.pipelineName]: `legacy-${format}`, [ATTR.runId]: `legacy-${format}-1` };
    const at = Date.now() - 60_000;
    const records = logsRequest(
      [
        { attributes: { ...run, 'event.name': EVENT.runStart }, timestampMs: at },
        { attributes: { ...run, 'event.name': EVENT.runEnd, [ATTR.runResult]: 'failure' }, timestampMs: at + 5_000 },
      ],
      format,
    );
    expect((await post(r.url, '/v1/logs', records, { key, contentType: format === 'json' ? JSON_TYPE : undefined })).status).toBe(200);
    const { body } = await getJson(r.url, `/api/v1/runs/legacy-${format}-1`, key);
    expect(body).toMatchObject({ pipeline: `legacy-${format}`, state: 'ended', result: 'failure', duration_seconds: 5 });
    const logs = await getJson(r.url, `/api/v1/logs?run_id=legacy-${format}-1`, key);
    expect(logs.body.items.map((log: { event_name: string }) => log.event_name).sort()).toEqual([EVENT.runEnd, EVENT.runStart]);
  });

  it('derives pipeline runs and stages from records and spans, and counts them once', async () => {
    const run = { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'run-1' };
    const started = Date.now() - 120_000;
    await post(r.url, '/v1/logs', logsRequest([{ eventName: EVENT.runStart, body: 'run started', attributes: run, timestampMs: started }]), { key: r.key });
    const running = await getJson(r.url, '/api/v1/runs/run-1', r.key);
    expect(running.body).toMatchObject({ run_id: 'run-1', pipeline: 'orders', state: 'running', result: null });

    const ends = logsRequest([
      {
        eventName: EVENT.stageEnd,
        attributes: { ...run, [ATTR.stageName]: 'extract', [ATTR.stageResult]: 'success', [ATTR.rowsRead]: 100, [ATTR.rowsWritten]: 98, [ATTR.rowsRejected]: 2, [ATTR.dbCollection]: 'orders_raw', [ATTR.durationSeconds]: 30 },
        timestampMs: started + 30_000,
      },
      { eventName: EVENT.runEnd, attributes: { ...run, [ATTR.runResult]: 'success', [ATTR.durationSeconds]: 60, [ATTR.rowsWritten]: 98 }, timestampMs: started + 60_000 },
    ]);
    for (let i = 0; i < 2; i++) expect((await post(r.url, '/v1/logs', ends, { key: r.key })).status).toBe(200);
    const ended = await getJson(r.url, '/api/v1/runs/run-1', r.key);
    expect(ended.body).toMatchObject({ state: 'ended', result: 'success', duration_seconds: 60, rows: { written: 98 } });
    expect(ended.body.stages).toHaveLength(1);
    expect(ended.body.stages[0]).toMatchObject({ stage: 'extract', result: 'success', rows: { read: 100, written: 98, rejected: 2 }, target: { collection: 'orders_raw' } });
    expect(await metric('pipemon_pipeline_runs_total', 'tenant="acme",pipeline="orders",result="success"')).toBe(1);
    expect(await metric('pipemon_pipeline_rows_total', 'tenant="acme",pipeline="orders",stage="extract",kind="read"')).toBe(100);
    expect(await metric('pipemon_pipeline_last_success_timestamp_seconds', 'tenant="acme",pipeline="orders"')).toBeCloseTo((started + 60_000) / 1000, 0);

    // A run known only from its spans: a failed SERVER span with a failed stage child.
    const spans = tracesRequest([
      {
        name: 'run nightly',
        kind: SpanKind.SERVER,
        attributes: { [ATTR.pipelineName]: 'nightly', [ATTR.runId]: 'run-2' },
        error: new TypeError('column "amount" does not exist'),
        children: [{ name: 'load', attributes: { [ATTR.pipelineName]: 'nightly', [ATTR.runId]: 'run-2', [ATTR.stageName]: 'load' }, error: new TypeError('boom') }],
      },
    ]);
    expect((await post(r.url, '/v1/traces', spans, { key: r.key })).status).toBe(200);
    const failed = await getJson(r.url, '/api/v1/runs/run-2', r.key);
    expect(failed.body).toMatchObject({ pipeline: 'nightly', state: 'ended', result: 'failure', error: { type: 'TypeError', message: 'column "amount" does not exist' } });
    expect(failed.body.stages[0]).toMatchObject({ stage: 'load', result: 'failure' });
    const listed = await getJson(r.url, '/api/v1/runs?result=failure', r.key);
    expect(listed.body.items.map((run: any) => run.run_id)).toEqual(['run-2']);
    expect(await metric('pipemon_pipeline_errors_total', 'tenant="acme",pipeline="nightly",error_type="TypeError"')).toBe(1);
    expect(await metric('pipemon_pipeline_runs_in_progress', 'tenant="acme",pipeline="orders"')).toBe(0);
  });

  it("shows a run known only from the official SDK's spans as its stages say: their rows, and a failed stage's failure", async () => {
    const run = { [ATTR.pipelineName]: 'spans-only', [ATTR.runId]: 'spans-run' };
    const stage = (name: string, rows: number, error?: Error) => ({ name, attributes: { ...run, [ATTR.stageName]: name, [ATTR.rowsWritten]: rows }, error });
    const spans = tracesRequest([
      { name: 'run spans-only', kind: SpanKind.SERVER, attributes: run, children: [stage('extract', 5), stage('load', 3, new ValueError('warehouse refused 2 rows'))] },
    ]);
    expect((await post(r.url, '/v1/traces', spans, { key: r.key })).status).toBe(200);
    const { body } = await getJson(r.url, '/api/v1/runs/spans-run', r.key);
    // The root span ended without an error status: its own result was success.
    expect(body).toMatchObject({
      result: 'failure',
      rows: { read: null, written: 8, rejected: null },
      error: { type: 'ValueError', message: 'warehouse refused 2 rows' },
      reported: { result: 'success', error: null },
    });
  });

  it('counts a run once when its end record and its span arrive at the same moment', async () => {
    const before = await metric('pipemon_pipeline_runs_total', 'tenant="acme",pipeline="racing",result="success"');
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const attributes = { [ATTR.pipelineName]: 'racing', [ATTR.runId]: `race-${i}` };
        const end = logsRequest([{ eventName: EVENT.runEnd, attributes: { ...attributes, [ATTR.runResult]: 'success' } }]);
        const span = tracesRequest([{ name: 'run racing', kind: SpanKind.SERVER, attributes }]);
        return Promise.all([post(r.url, '/v1/logs', end, { key: r.key }), post(r.url, '/v1/traces', span, { key: r.key })]);
      }),
    );
    expect((await metric('pipemon_pipeline_runs_total', 'tenant="acme",pipeline="racing",result="success"')) - before).toBe(50);
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    expect((await fetch(`${r.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${r.url}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${r.url}/metrics`)).text();
    expect(text).toMatch(/pipemon_writer_commit_duration_seconds_bucket/);
    expect(text).toMatch(/pipemon_pipeline_run_duration_seconds_bucket\{.*le="3600"/);
  });
});

/** An exception named as Python names it, as an OpenTelemetry Python pipeline would record it. */
class ValueError extends Error {
  override name = 'ValueError';
}

describe.each(receiverBackends())('receiver under memory pressure on $name', (backend) => {
  it('answers 503 with Retry-After while the writer budget is held, and serves again after', async () => {
    const { r, body } = await startWithTightBudget(await backend.options());
    try {
      const slow = await holdBudget(r, body);

      const refused = await post(r.url, '/v1/logs', body, { key: r.key });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body.toString('latin1')).toMatch(/memory budget full/);
      // Small as sent, large once inflated: refused while inflating, not after.
      const inflated = await post(r.url, '/v1/logs', body, { key: r.key, encoding: 'gzip' });
      expect(inflated.status).toBe(503);

      expect(await slow.finish()).toBe(200);
      expect((await post(r.url, '/v1/logs', body, { key: r.key })).status).toBe(200);
    } finally {
      await r.close();
    }
  });
});

describe.each(receiverBackends())('metrics on a listener of their own on $name', (backend) => {
  it('serves /metrics only there, and nothing else there', async () => {
    const r = await startTestReceiver({ ...(await backend.options()), metricsPort: 0 });
    try {
      const metricsUrl = new URL(r.receiver.metricsUrl);
      expect(metricsUrl.port).not.toBe(new URL(r.url).port);
      expect((await fetch(`${r.url}/metrics`)).status).toBe(404);
      const scraped = await fetch(metricsUrl);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('pipemon_receiver_accepted_records_total');
      // The metrics listener carries no ingest and no query API, whatever the key.
      expect((await fetch(`${metricsUrl.origin}/api/v1/runs`, { headers: { 'x-api-key': r.key } })).status).toBe(404);
      expect((await post(metricsUrl.origin, '/v1/logs', logsRequest([{ body: 'x' }]), { key: r.key })).status).toBe(404);
      expect((await post(r.url, '/v1/logs', logsRequest([{ body: 'x' }]), { key: r.key })).status).toBe(200);
    } finally {
      await r.close();
    }
  });

  it('refuses a metrics port already in use, naming the flag', async () => {
    const first = await startTestReceiver({ ...(await backend.options()), metricsPort: 0 });
    try {
      const taken = Number(new URL(first.receiver.metricsUrl).port);
      await expect(startTestReceiver({ ...(await backend.options()), metricsPort: taken })).rejects.toThrow(
        new RegExp(`port ${taken} on 127\\.0\\.0\\.1 is already in use: stop the other process or pass --metrics-port`),
      );
    } finally {
      await first.close();
    }
  });
});

describe.each(receiverBackends())('pipeline metrics on $name', (backend) => {
  const runEnd = (pipeline: string, runId: string, endedMs: number) =>
    logsRequest([
      {
        eventName: EVENT.runEnd,
        attributes: { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId, [ATTR.runResult]: 'success', [ATTR.durationSeconds]: 5 },
        timestampMs: endedMs,
      },
    ]);
  const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();

  it('restores the last success time of each pipeline from the database at start', async () => {
    const options = await backend.options();
    const endedMs = Date.now() - 600_000;
    const first = await startTestReceiver(options);
    expect((await post(first.url, '/v1/logs', runEnd('restored', 'r-1', endedMs), { key: first.key })).status).toBe(200);
    await first.close();
    const second = await startTestReceiver(options);
    try {
      const line = (await scrape(second.url)).split('\n').find((l) => l.startsWith('pipemon_pipeline_last_success_timestamp_seconds{tenant="acme",pipeline="restored"}'));
      expect(Number(line?.split(' ').pop())).toBeCloseTo(endedMs / 1000, 0);
    } finally {
      await second.close();
    }
  });

  it('reports pipelines past the label cap as one overflow series, never a run id', async () => {
    const r = await startTestReceiver({ ...(await backend.options()), maxPipelines: 2 });
    try {
      for (const [i, pipeline] of ['p1', 'p2', 'p3', 'p4'].entries()) {
        expect((await post(r.url, '/v1/logs', runEnd(pipeline, `run-${i}`, Date.now() - 1000), { key: r.key })).status).toBe(200);
      }
      const text = await scrape(r.url);
      const runs = text.split('\n').filter((l) => l.startsWith('pipemon_pipeline_runs_total{'));
      expect(runs.filter((l) => !l.endsWith(' 0'))).toEqual([
        'pipemon_pipeline_runs_total{tenant="acme",pipeline="p1",result="success"} 1',
        'pipemon_pipeline_runs_total{tenant="acme",pipeline="p2",result="success"} 1',
        'pipemon_pipeline_runs_total{tenant="acme",pipeline="__overflow__",result="success"} 2',
      ]);
      // Each pipeline's failure series exist from its first run, at 0, so that increase() sees a first failure.
      expect(runs).toContain('pipemon_pipeline_runs_total{tenant="acme",pipeline="p1",result="failure"} 0');
      expect(runs).toContain('pipemon_pipeline_runs_total{tenant="acme",pipeline="__overflow__",result="timeout"} 0');
      expect(text).not.toMatch(/run-\d/);
    } finally {
      await r.close();
    }
  });
});
