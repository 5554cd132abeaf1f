/**
 * A receiver per test suite, on each storage backend, with keys and OTLP request builders made by the
 * official OpenTelemetry SDK serializers (the bytes real exporters send).
 */
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonLogsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Attributes as OtelAttributes } from '@opentelemetry/api';
import { createKey, startReceiver, type Receiver, type ReceiverOptions, type Scope } from '../../receiver/index.js';
import { until } from './async.js';
import { backends } from './backends.js';

export { SeverityNumber, SpanKind };

export interface TestReceiver {
  receiver: Receiver;
  url: string;
  key: string;
  keyFor(tenant: string, scopes: Scope[]): Promise<string>;
  close(): Promise<void>;
}

/** The backends as receiver options: embedded in memory, and a fresh database on the test server. */
export function receiverBackends(): { name: string; options: () => Promise<ReceiverOptions> }[] {
  return backends().map((backend) => ({ name: backend.name, options: async () => ({ databaseUrl: await backend.databaseUrl() }) }));
}

export async function startTestReceiver(options: ReceiverOptions): Promise<TestReceiver> {
  const receiver = await startReceiver({ port: 0, ...options });
  const keyFor = async (tenant: string, scopes: Scope[]) => (await createKey(receiver.db, tenant, scopes)).key;
  return { receiver, url: receiver.url, key: await keyFor('acme', ['ingest', 'read']), keyFor, close: () => receiver.close() };
}

/** A receiver whose writer budget holds `body`, a request of 2,000 log records, once but not twice. */
export async function startWithTightBudget(options: ReceiverOptions): Promise<{ r: TestReceiver; body: Buffer }> {
  const body = logsRequest(Array.from({ length: 2000 }, (_, i) => ({ body: `big ${i}`.padEnd(100, '.') })));
  const budget = Math.ceil(body.length * 1.5);
  return { r: await startTestReceiver({ ...options, maxQueueBytes: budget, maxBodyBytes: budget }), body };
}

/** An OTLP/HTTP upload whose body trickles in: it holds its declared size of the writer budget until finished. */
export interface SlowUpload {
  /** Sends the rest of the body; resolves with the receiver's status. */
  finish(): Promise<number>;
}

/**
 * Starts posting `body` to /v1/logs, sends its first kilobyte, and resolves once the receiver's
 * /metrics shows the upload holding the writer budget.
 */
export async function holdBudget(r: TestReceiver, body: Buffer): Promise<SlowUpload> {
  const { port, hostname } = new URL(r.url);
  const slow = request({ host: hostname, port, path: '/v1/logs', method: 'POST', headers: {
    'content-type': 'application/x-protobuf', 'content-length': body.length, authorization: `Bearer ${r.key}` } });
  const answer = new Promise<number>((resolve, reject) => {
    slow.on('response', (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    slow.on('error', reject);
  });
  slow.write(body.subarray(0, 1000));
  await until(async () => /^pipemon_writer_queue_bytes [1-9]/m.test(await (await fetch(`${r.url}/metrics`)).text()), 'the slow upload holds the budget');
  return {
    finish: () => {
      slow.end(body.subarray(1000));
      return answer;
    },
  };
}

export interface LogSpec {
  body?: string;
  severityNumber?: SeverityNumber;
  severityText?: string;
  attributes?: OtelAttributes;
  eventName?: string;
  timestampMs?: number;
}

const RESOURCE = resourceFromAttributes({ 'service.name': 'orders-etl', 'deployment.environment.name': 'test' });

/** Log records as the OpenTelemetry logs SDK makes them. */
export function makeLogRecords(specs: LogSpec[]): ReadableLogRecord[] {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource: RESOURCE, processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('pipemon-test', '1.0.0');
  for (const spec of specs) {
    logger.emit({
      body: spec.body,
      severityNumber: spec.severityNumber ?? SeverityNumber.INFO,
      severityText: spec.severityText ?? 'INFO',
      attributes: spec.attributes,
      eventName: spec.eventName,
      timestamp: spec.timestampMs,
    });
  }
  return exporter.getFinishedLogRecords();
}

export function logsRequest(specs: LogSpec[], format: 'protobuf' | 'json' = 'protobuf'): Buffer {
  return encodeLogs(makeLogRecords(specs), format);
}

/** The request an exporter sends for these records. */
export function encodeLogs(records: ReadableLogRecord[], format: 'protobuf' | 'json'): Buffer {
  const bytes = format === 'protobuf' ? ProtobufLogsSerializer.serializeRequest(records) : JsonLogsSerializer.serializeRequest(records);
  return Buffer.from(bytes!);
}

export interface SpanSpec {
  name: string;
  kind?: SpanKind;
  attributes?: OtelAttributes;
  error?: Error;
  children?: SpanSpec[];
}

export function tracesRequest(roots: SpanSpec[], format: 'protobuf' | 'json' = 'protobuf'): Buffer {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: RESOURCE, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('pipemon-test', '1.0.0');
  const emit = (spec: SpanSpec, parent?: ReturnType<typeof tracer.startSpan>) => {
    const context = parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    const span = tracer.startSpan(spec.name, { kind: spec.kind ?? SpanKind.INTERNAL, attributes: spec.attributes }, context);
    for (const child of spec.children ?? []) emit(child, span);
    if (spec.error) {
      span.recordException(spec.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: spec.error.message });
    }
    span.end();
  };
  roots.forEach((root) => emit(root));
  const spans = exporter.getFinishedSpans();
  const bytes = format === 'protobuf' ? ProtobufTraceSerializer.serializeRequest(spans) : JsonTraceSerializer.serializeRequest(spans);
  return Buffer.from(bytes!);
}


export interface PostOptions {
  key?: string | null;
  contentType?: string;
  encoding?: 'gzip';
  headers?: Record<string, string>;
  method?: string;
}

export async function post(url: string, path: string, body: Buffer | string, options: PostOptions = {}) {
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/x-protobuf', ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let payload: Buffer | string = body;
  if (options.encoding === 'gzip') {
    payload = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  const response = await fetch(url + path, { method: options.method ?? 'POST', headers, body: new Uint8Array(Buffer.from(payload)) });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

export async function getJson<T = any>(url: string, path: string, key: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url + path, { headers: { 'x-api-key': key } });
  return { status: response.status, body: (await response.json()) as T };
}
