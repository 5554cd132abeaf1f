/**
 * The Collector gateway (otel-collector.yaml, collector/backends/*.yaml), run by the Collector that
 * collector/build.sh builds from collector/builder-config.yaml: every config validates and routes where
 * it says (and an overlay, run, delivers to pipemon and the backend both); what the official OpenTelemetry JS exporters send over OTLP/HTTP and OTLP/gRPC reaches
 * pipemon's database and its query API field for field; and neither a kill -9 of pipemon nor of the
 * Collector itself loses or duplicates an acknowledged record. Without the built Collector these tests
 * fail when CI is set and are skipped with a loud warning otherwise.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type HrTime } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sleep, until } from './helpers/async.js';
import { createTestDatabase, testServerUrl } from './helpers/backends.js';
import { listenOnLoopback } from './helpers/net.js';
import { spawnPipemon, tempDataDir, type PipemonProcess } from './helpers/pipemon-process.js';
import { REPO } from './helpers/repo.js';
import { getJson, makeLogRecords, startTestReceiver, type TestReceiver } from './helpers/receiver.js';
import {
  COLLECTOR_HINT,
  collectorBinary,
  collectorBuilt,
  GATEWAY_CONFIG,
  runCollectorCommand,
  startCollector,
  type Collector,
} from './helpers/collector.js';
import { warnSkipped } from './helpers/tools.js';

const built = collectorBuilt();
if (!built) warnSkipped('test/otel-collector.test.ts', `${collectorBinary()} is missing`, COLLECTOR_HINT);
/** `describe` when the Collector is built or CI must fail without it; `describe.skip` on a developer's machine without it. */
const withCollector = built || process.env.CI ? describe : describe.skip;

beforeAll(() => {
  if (!built && process.env.CI) throw new Error(`CI is set and the Collector is not built (${collectorBinary()} is missing): ${COLLECTOR_HINT}`);
});

/** The attribute that names each record uniquely, to count rows per record in the database. */
const RECORD = 'test.record';

const OVERLAYS_DIR = path.join(REPO, 'collector', 'backends');
/**
 * Each overlay with the variables it needs and the exporter it adds to each pipeline; `memoryQueue` when
 * the exporter has a queue of its own rather than a sending_queue (prometheus.yaml says why).
 */
const OVERLAYS: { name: string; env: Record<string, string>; exporter: string; pipelines: string[]; memoryQueue?: true }[] = [
  { name: 'loki', env: {}, exporter: 'otlp_http/loki', pipelines: ['logs'] },
  { name: 'tempo', env: {}, exporter: 'otlp_grpc/tempo', pipelines: ['traces'] },
  { name: 'jaeger', env: {}, exporter: 'otlp_http/jaeger', pipelines: ['traces'] },
  { name: 'elastic', env: { ELASTIC_AUTHORIZATION: 'ApiKey dGVzdDp0ZXN0' }, exporter: 'otlp_http/elastic', pipelines: ['logs', 'traces', 'metrics'] },
  {
    name: 'vendor',
    env: { OTLP_VENDOR_ENDPOINT: 'https://otlp.vendor.example', OTLP_VENDOR_HEADERS: '{x-honeycomb-team: hcaik_test, X-Extra: "two words"}' },
    exporter: 'otlp_http/vendor',
    pipelines: ['logs', 'traces', 'metrics'],
  },
  // Run end to end with Prometheus in test/collector/backends/prometheus.test.ts.
  { name: 'prometheus', env: {}, exporter: 'prometheus_remote_write', pipelines: ['metrics'], memoryQueue: true },
];
const PIPELINES = ['logs', 'metrics', 'traces'];
const PIPEMON_EXPORTERS = ['otlp_http/pipemon', 'debug'];

const configArgs = (overlay?: string) => ['--config', GATEWAY_CONFIG, ...(overlay ? ['--config', path.join(OVERLAYS_DIR, `${overlay}.yaml`)] : [])];

/** The merged configuration as the Collector resolves it (print-config validates it too). */
function resolvedConfig(overlay: string | undefined, env: Record<string, string>): any {
  const { code, output } = runCollectorCommand(['print-config', '--mode', 'unredacted', '--format', 'json', ...configArgs(overlay)], {
    PIPEMON_API_KEY: 'pm_test_key',
    ...env,
  });
  expect(code, output).toBe(0);
  return JSON.parse(output.slice(output.indexOf('{')));
}

withCollector('the gateway config, with the built Collector', () => {
  it('ships exactly the overlays tested here', () => {
    expect(fs.readdirSync(OVERLAYS_DIR).sort()).toEqual(OVERLAYS.map((o) => `${o.name}.yaml`).sort());
  });

  it('validates alone, and routes logs, traces and metrics to pipemon through memory_limiter, with no batch processor', () => {
    const { code, output } = runCollectorCommand(['validate', ...configArgs()], { PIPEMON_API_KEY: 'pm_test_key' });
    expect(code, output).toBe(0);
    const config = resolvedConfig(undefined, { PIPEMON_ENDPOINT: 'http://pipemon.test:4318' });
    expect(Object.keys(config.service.pipelines).sort()).toEqual(PIPELINES);
    for (const pipeline of Object.values<any>(config.service.pipelines)) {
      expect(pipeline).toEqual({ receivers: ['otlp'], processors: ['memory_limiter'], exporters: PIPEMON_EXPORTERS });
    }
    const pipemon = config.exporters['otlp_http/pipemon'];
    expect(pipemon.endpoint).toBe('http://pipemon.test:4318');
    expect(pipemon.headers).toEqual([{ name: 'Authorization', value: 'Bearer pm_test_key' }]);
    expect(pipemon.retry_on_failure).toMatchObject({ enabled: true, max_elapsed_time: 0 });
    expect(pipemon.sending_queue).toMatchObject({ storage: 'file_storage', batch: { min_size: 1000, max_size: 10000 } });
    expect(config.processors).not.toHaveProperty('batch');
    expect(config.service.extensions).toEqual(['health_check', 'file_storage']);
  });

  it.each(OVERLAYS)('validates with the $name overlay, which routes to pipemon and to $exporter', (overlay) => {
    const { code, output } = runCollectorCommand(['validate', ...configArgs(overlay.name)], { PIPEMON_API_KEY: 'pm_test_key', ...overlay.env });
    expect(code, output).toBe(0);
    const config = resolvedConfig(overlay.name, overlay.env);
    // A later --config replaces lists whole: an overlay that forgot pipemon's exporters would cut pipemon off.
    for (const name of PIPELINES) {
      const expected = overlay.pipelines.includes(name) ? [...PIPEMON_EXPORTERS, overlay.exporter] : PIPEMON_EXPORTERS;
      expect(config.service.pipelines[name], name).toEqual({ receivers: ['otlp'], processors: ['memory_limiter'], exporters: expected });
    }
    const exporter = config.exporters[overlay.exporter];
    if (overlay.memoryQueue) {
      // One request at a time: Prometheus refuses a sample older than its series' last one.
      expect(exporter.remote_write_queue).toMatchObject({ enabled: true });
      expect(exporter.max_batch_request_parallelism).toBe(1);
    } else {
      // The backend's queue is persistent too, in its own file of the same storage.
      expect(exporter.sending_queue).toMatchObject({ storage: 'file_storage', batch: { min_size: 1000 } });
    }
    expect(exporter.retry_on_failure).toMatchObject({ enabled: true, max_elapsed_time: 0 });
  });

  it('takes the vendor\'s headers from OTLP_VENDOR_HEADERS as a map, and refuses to start without OTLP_VENDOR_ENDPOINT', () => {
    const vendor = OVERLAYS.find((o) => o.name === 'vendor')!;
    const headers = resolvedConfig('vendor', vendor.env).exporters['otlp_http/vendor'].headers;
    expect(headers).toEqual(
      expect.arrayContaining([
        { name: 'x-honeycomb-team', value: 'hcaik_test' },
        { name: 'X-Extra', value: 'two words' },
      ]),
    );
    const { code, output } = runCollectorCommand(['validate', ...configArgs('vendor')], { PIPEMON_API_KEY: 'pm_test_key' });
    expect(code).not.toBe(0);
    expect(output).toContain('otlp_http/vendor: at least one endpoint must be specified');
  });
});

/** Sends `items` with an official exporter once; resolves with its result. */
function exportOnce<T>(exporter: { export(items: T[], done: (result: ExportResult) => void): void }, items: T[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items, resolve));
}

const transports = [
  {
    name: 'OTLP/HTTP (protobuf)',
    logs: (c: Collector) => new ProtoLogExporter({ url: `${c.httpUrl}/v1/logs` }),
    traces: (c: Collector) => new ProtoTraceExporter({ url: `${c.httpUrl}/v1/traces` }),
  },
  {
    name: 'OTLP/gRPC',
    logs: (c: Collector) => new GrpcLogExporter({ url: c.grpcUrl }),
    traces: (c: Collector) => new GrpcTraceExporter({ url: c.grpcUrl }),
  },
];

const hexOrNull = (id: string | undefined) => (id && !/^0+$/.test(id) ? id : null);
/** An SDK time as OTLP's fixed64 nanoseconds, in decimal (beyond 2^53: no floating point). */
const nanos = ([seconds, ns]: HrTime) => (BigInt(seconds) * 1_000_000_000n + BigInt(ns)).toString();

withCollector('official OpenTelemetry JS exporters -> the Collector -> pipemon -> PostgreSQL', () => {
  let receiver: TestReceiver;
  let collector: Collector;

  beforeAll(async () => {
    receiver = await startTestReceiver({ databaseUrl: await createTestDatabase(testServerUrl()) });
    collector = await startCollector({ pipemonUrl: receiver.url, pipemonKey: receiver.key });
  });
  afterAll(async () => {
    await collector?.stop();
    await receiver?.close();
  });

  it.each(transports)('over $name: a run\'s spans and logs come back through the query API field for field', async (transport) => {
    const pipeline = `gateway-${transport.name.replace(/\W+/g, '-').toLowerCase()}`;
    const runId = randomUUID();
    const resource = resourceFromAttributes({
      'service.name': `${pipeline}-etl`,
      'service.version': '2.4.1',
      'deployment.environment.name': 'test',
      'host.name': 'etl-worker-7',
    });
    // What the SDK produced, kept beside what the exporter sent, to compare the stored rows against.
    const sentSpans = new InMemorySpanExporter();
    const sentLogs = new InMemoryLogRecordExporter();
    const tracerProvider = new BasicTracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor(sentSpans), new BatchSpanProcessor(transport.traces(collector))],
    });
    const loggerProvider = new LoggerProvider({
      resource,
      processors: [new SimpleLogRecordProcessor({ exporter: sentLogs }), new BatchLogRecordProcessor({ exporter: transport.logs(collector) })],
    });
    const tracer = tracerProvider.getTracer('gateway-test', '1.2.3');
    const logger = loggerProvider.getLogger('gateway-test', '1.2.3');

    const runSpan = tracer.startSpan(`run ${pipeline}`, {
      kind: SpanKind.SERVER,
      attributes: { 'cicd.pipeline.name': pipeline, 'cicd.pipeline.run.id': runId, 'cicd.pipeline.result': 'failure', 'pipemon.pipeline.owner': 'team-data' },
    });
    const stageSpan = tracer.startSpan(
      'stage load',
      {
        kind: SpanKind.INTERNAL,
        attributes: { 'cicd.pipeline.name': pipeline, 'cicd.pipeline.run.id': runId, 'cicd.pipeline.task.name': 'load', 'pipemon.rows.written': 118, 'db.collection.name': 'orders' },
      },
      trace.setSpan(ROOT_CONTEXT, runSpan),
    );
    const inStage = trace.setSpan(ROOT_CONTEXT, stageSpan);
    logger.emit({ body: 'loading orders', severityNumber: SeverityNumber.INFO, severityText: 'INFO', eventName: 'orders.load.start', attributes: { batch: 7, ratio: 0.25, dry_run: false, tags: ['eu', 'daily'] }, context: inStage });
    logger.emit({ body: 'rejected 2 rows: null email', severityNumber: SeverityNumber.WARN2, severityText: 'WARN', attributes: { 'rows.rejected': 2, 'big.int': 2 ** 40 }, context: inStage });
    logger.emit({ body: 'load failed', severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', attributes: { 'exception.type': 'TimeoutError', 'exception.message': 'warehouse did not answer in 30 s' }, context: inStage });
    stageSpan.recordException(Object.assign(new Error('warehouse did not answer in 30 s'), { name: 'TimeoutError' }));
    stageSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'warehouse did not answer in 30 s' });
    stageSpan.end();
    runSpan.setStatus({ code: SpanStatusCode.ERROR });
    runSpan.end();
    // Rejects when the Collector did not accept an export.
    await Promise.all([tracerProvider.forceFlush(), loggerProvider.forceFlush()]);
    const traceId = runSpan.spanContext().traceId;
    const spans: ReadableSpan[] = sentSpans.getFinishedSpans();
    const records: ReadableLogRecord[] = sentLogs.getFinishedLogRecords();
    await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown()]);
    expect(spans).toHaveLength(2);
    expect(records).toHaveLength(3);

    let stored: any;
    await until(async () => {
      const { status, body } = await getJson(receiver.url, `/api/v1/traces/${traceId}`, receiver.key);
      stored = body;
      return status === 200 && body.spans.length === spans.length && body.logs.length === records.length;
    }, `trace ${traceId} is stored in pipemon with its ${spans.length} spans and ${records.length} log records`);

    for (const span of spans) {
      const row = stored.spans.find((s: any) => s.span_id === span.spanContext().spanId);
      expect(row, span.name).toBeDefined();
      expect(row).toMatchObject({
        trace_id: traceId,
        parent_span_id: hexOrNull(span.parentSpanContext?.spanId),
        name: span.name,
        kind: span.kind + 1, // the API's SpanKind counts from INTERNAL = 0, OTLP's from INTERNAL = 1
        start_time_unix_nano: nanos(span.startTime),
        end_time_unix_nano: nanos(span.endTime),
        status_code: span.status.code,
        status_message: span.status.message ?? '',
        service_name: `${pipeline}-etl`,
        attributes: span.attributes,
        resource: { attributes: span.resource.attributes },
        scope: { name: 'gateway-test', version: '1.2.3' },
      });
      expect(row.events.map((e: any) => ({ name: e.name, timeUnixNano: e.timeUnixNano, attributes: e.attributes }))).toEqual(
        span.events.map((e) => ({ name: e.name, timeUnixNano: nanos(e.time), attributes: e.attributes })),
      );
    }
    expect(stored.spans.find((s: any) => s.name === 'stage load').parent_span_id).toBe(runSpan.spanContext().spanId);

    const { status, body: logsPage } = await getJson(receiver.url, `/api/v1/logs?trace_id=${traceId}`, receiver.key);
    expect(status).toBe(200);
    expect(logsPage.items).toHaveLength(records.length);
    for (const record of records) {
      const row = logsPage.items.find((l: any) => l.body === record.body);
      expect(row, String(record.body)).toBeDefined();
      expect(row).toMatchObject({
        time_unix_nano: nanos(record.hrTime),
        observed_time_unix_nano: nanos(record.hrTimeObserved),
        severity_number: record.severityNumber,
        severity_text: record.severityText,
        event_name: record.eventName ?? '',
        trace_id: traceId,
        span_id: stageSpan.spanContext().spanId,
        service_name: `${pipeline}-etl`,
        attributes: record.attributes,
        resource: { attributes: record.resource.attributes },
        scope: { name: 'gateway-test', version: '1.2.3' },
      });
    }

    // The run and its stage, derived from the spans' cicd.pipeline.* attributes.
    const runs = await getJson(receiver.url, `/api/v1/runs?pipeline=${pipeline}`, receiver.key);
    expect(runs.body.items).toEqual([expect.objectContaining({ run_id: runId, pipeline, result: 'failure', trace_id: traceId, service_name: `${pipeline}-etl` })]);
    const run = await getJson(receiver.url, `/api/v1/runs/${runId}`, receiver.key);
    expect(run.body.stages).toEqual([
      expect.objectContaining({ stage: 'load', result: 'failure', span_id: stageSpan.spanContext().spanId, rows: { read: null, written: 118, rejected: null }, error: { type: 'TimeoutError', message: 'warehouse did not answer in 30 s' } }),
    ]);
  });
});

withCollector('an overlay, run: the vendor overlay with a second pipemon as the vendor', () => {
  it('delivers the same logs and spans to pipemon and to the vendor endpoint, with the vendor\'s key from OTLP_VENDOR_HEADERS', async () => {
    const [pipemon, vendor] = [
      await startTestReceiver({ databaseUrl: await createTestDatabase(testServerUrl()) }),
      await startTestReceiver({ databaseUrl: await createTestDatabase(testServerUrl()) }),
    ];
    let collector: Collector | undefined;
    try {
      collector = await startCollector({
        pipemonUrl: pipemon.url,
        pipemonKey: pipemon.key,
        overlays: [path.join(OVERLAYS_DIR, 'vendor.yaml')],
        env: { OTLP_VENDOR_ENDPOINT: vendor.url, OTLP_VENDOR_HEADERS: `{X-API-Key: ${vendor.key}}` },
      });
      const ids = Array.from({ length: 20 }, (_, i) => `overlay-${i}`);
      const logExporter = new ProtoLogExporter({ url: `${collector.httpUrl}/v1/logs` });
      const records = makeLogRecords(ids.map((id) => ({ body: `fanned out ${id}`, attributes: { [RECORD]: id } })));
      expect((await exportOnce(logExporter, records)).code).toBe(ExportResultCode.SUCCESS);
      await logExporter.shutdown();
      const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new GrpcTraceExporter({ url: collector.grpcUrl }))] });
      const span = tracerProvider.getTracer('gateway-test').startSpan('fanned out');
      span.end();
      await tracerProvider.shutdown();

      for (const [name, receiver] of [['pipemon', pipemon], ['the vendor', vendor]] as const) {
        await until(async () => (await getJson(receiver.url, `/api/v1/traces/${span.spanContext().traceId}`, receiver.key)).status === 200, `${name} has the span`);
        await until(async () => (await getJson(receiver.url, '/api/v1/logs?limit=1000', receiver.key)).body.items.length === ids.length, `${name} has the ${ids.length} log records`);
      }
    } finally {
      await collector?.stop();
      await pipemon.close();
      await vendor.close();
    }
  });
});

// ---- kill -9 ------------------------------------------------------------------------------------

const BATCH = 500;
const CLIENTS = 4;

/**
 * CLIENTS clients (half over OTLP/HTTP, half over OTLP/gRPC, with the official exporters) sending
 * BATCH-record batches of unique log records to the Collector back to back, each batch resent until
 * the Collector accepts it, until stop() is called; then every batch sent is an acknowledged batch.
 */
function streamThroughCollector(collector: Collector, tag: string, pauseMs = 20) {
  const acked: string[] = [];
  let failedAttempts = 0;
  let stopping = false;
  const client = async (c: number) => {
    const exporter: LogRecordExporter = transports[c % transports.length]!.logs(collector);
    for (let b = 0; !stopping; b++) {
      const ids = Array.from({ length: BATCH }, (_, i) => `${tag}-c${c}-b${b}-r${i}`);
      const records = makeLogRecords(ids.map((id, i) => ({ body: `record ${i} of batch ${b} from client ${c}: loaded 4980 rows`, attributes: { [RECORD]: id, 'test.client': c } })));
      while ((await exportOnce(exporter, records)).code !== ExportResultCode.SUCCESS) {
        failedAttempts++;
        await sleep(100);
      }
      acked.push(...ids);
      await sleep(pauseMs);
    }
    await exporter.shutdown();
  };
  const done = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  return {
    acked,
    failedAttempts: () => failedAttempts,
    stop: async () => {
      stopping = true;
      await done;
    },
  };
}

interface Tally {
  sent: number;
  stored: number;
  lost: number;
  duplicated: number;
}

/** Rows per record id in the database, compared with the acknowledged ids. */
async function tally(databaseUrl: string, acked: string[], tag: string): Promise<Tally> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; n: number }>(
      `SELECT attributes->>'${RECORD}' AS id, count(*)::int AS n FROM logs WHERE attributes->>'${RECORD}' LIKE $1 GROUP BY 1`,
      [`${tag}-%`],
    );
    const stored = new Map(rows.map((row) => [row.id, row.n]));
    return {
      sent: acked.length,
      stored: stored.size,
      lost: acked.filter((id) => !stored.has(id)).length,
      duplicated: rows.reduce((sum, row) => sum + row.n - 1, 0),
    };
  } finally {
    await client.end();
  }
}

/** Waits until every acknowledged record is stored or `timeoutMs` passes; the tally either way. */
async function settle(databaseUrl: string, acked: string[], tag: string, timeoutMs: number): Promise<Tally> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await tally(databaseUrl, acked, tag);
    if (result.lost === 0 || Date.now() > deadline) return result;
    await sleep(250);
  }
}

/**
 * A TCP port that forwards to whichever pipemon runs now: `pipemon serve --port 0` listens on a new
 * port after each restart, while the Collector's endpoint stays put (as behind a load balancer or a
 * service name). With no pipemon, connections are reset, as a dead host's would be.
 */
async function startForwarder() {
  let target: URL | null = null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (!target) return void client.resetAndDestroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream).pipe(client);
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    forwardTo: (url: string | null) => (target = url === null ? null : new URL(url)),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

withCollector('kill -9 while the Collector is sending', () => {
  let collector: Collector | undefined;
  afterEach(async () => {
    await collector?.stop();
    collector = undefined;
  });

  it('of pipemon, three times, restarted on the same database: every record stored exactly once', async () => {
    const databaseUrl = await createTestDatabase(testServerUrl());
    const dataDir = tempDataDir();
    let pipemon: PipemonProcess = await spawnPipemon(dataDir, databaseUrl);
    const forwarder = await startForwarder();
    forwarder.forwardTo(pipemon.url);
    try {
      collector = await startCollector({ pipemonUrl: forwarder.url, pipemonKey: pipemon.key });
      const tag = `pipemon-kill-${randomUUID().slice(0, 8)}`;
      // Paced: while pipemon is down the Collector queues everything, and the backlog must drain in the test's time.
      const stream = streamThroughCollector(collector, tag, 200);
      const downMs: number[] = [];
      for (let kill = 0; kill < 3; kill++) {
        await sleep(1_500);
        forwarder.forwardTo(null);
        pipemon.child.kill('SIGKILL');
        await pipemon.exited;
        const killedAt = performance.now();
        await sleep(1_000);
        pipemon = await spawnPipemon(dataDir, databaseUrl);
        forwarder.forwardTo(pipemon.url);
        downMs.push(Math.round(performance.now() - killedAt));
      }
      await sleep(1_000);
      await stream.stop();
      const result = await settle(databaseUrl, stream.acked, tag, 60_000);
      console.log(`[collector.test] pipemon kill -9 x3 (down ${downMs.join(', ')} ms): ${JSON.stringify(result)}, failed client attempts ${stream.failedAttempts()}`);
      expect(result.sent).toBeGreaterThanOrEqual(10 * BATCH);
      expect(result).toEqual({ sent: result.sent, stored: result.sent, lost: 0, duplicated: 0 });
      expect(collector.output(), 'the Collector retried while pipemon was down').toMatch(/Exporting failed\. Will retry/);
    } finally {
      pipemon.child.kill('SIGKILL');
      await forwarder.close();
    }
  }, 120_000);

  it('of the Collector, four times, restarted on the same queue: nothing acknowledged is lost, nothing stored twice', async () => {
    const databaseUrl = await createTestDatabase(testServerUrl());
    const receiver = await startTestReceiver({ databaseUrl });
    try {
      collector = await startCollector({ pipemonUrl: receiver.url, pipemonKey: receiver.key });
      const tag = `collector-kill-${randomUUID().slice(0, 8)}`;
      const stream = streamThroughCollector(collector, tag);
      const restartMs: number[] = [];
      for (let kill = 0; kill < 4; kill++) {
        await sleep(1_200);
        await collector.kill('SIGKILL');
        await sleep(300);
        const restartedAt = performance.now();
        await collector.start();
        restartMs.push(Math.round(performance.now() - restartedAt));
      }
      await sleep(1_000);
      await stream.stop();
      const result = await settle(databaseUrl, stream.acked, tag, 60_000);
      const metrics = await (await fetch(`${receiver.url}/metrics`)).text();
      const redelivered = Number(/^pipemon_receiver_duplicate_records_total\{signal="logs"\} (\d+)/m.exec(metrics)?.[1] ?? NaN);
      console.log(
        `[collector.test] Collector kill -9 x4 (back up in ${restartMs.join(', ')} ms): ${JSON.stringify(result)}, ` +
          `records pipemon received again and stored once (queue redeliveries and client resends): ${redelivered}, failed client attempts ${stream.failedAttempts()}`,
      );
      expect(result.sent).toBeGreaterThanOrEqual(10 * BATCH);
      expect(result).toEqual({ sent: result.sent, stored: result.sent, lost: 0, duplicated: 0 });
    } finally {
      await receiver.close();
    }
  }, 120_000);
});
