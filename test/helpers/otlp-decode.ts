/**
 * Records for the OTLP decoders' tests: protobuf messages to and from plain objects by their OTLP type,
 * and log records and spans made by the OpenTelemetry JS SDK with every field set, which its exporters'
 * serializers turn into the protobuf and JSON a receiver gets.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type SpanContext } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { otlpType } from '../../harness/otlp-fixtures.js';

/** The protobuf bytes of an OTLP message, from its plain-object form. */
export function encode(type: string, object: Record<string, unknown>): Uint8Array {
  const t = otlpType(type);
  return t.encode(t.fromObject(object)).finish();
}

/** An OTLP message's plain-object form, 64-bit integers as strings. */
export function decode(type: string, bytes: Uint8Array): Record<string, unknown> {
  const t = otlpType(type);
  return t.toObject(t.decode(bytes), { longs: String });
}

export const TRACE_ID = '5b8efff798038103d269b633813fc60c';
export const SPAN_ID = 'eee19b7ec3c1b174';
const resource = resourceFromAttributes(
  { 'service.name': 'orders-etl', 'service.version': '1.4.2', 'host.name': 'worker-3', 'process.pid': 4242 },
  { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' },
);

/** Three log records: one with every field and attribute kind, one with a map body, one empty. */
export function sdkLogRecords() {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('pipemon-test', '0.1.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.25.0' });
  const spanContext: SpanContext = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED };
  logger.emit({
    timestamp: [1_700_000_000, 123_456_789],
    observedTimestamp: [1_700_000_001, 5],
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    body: 'batch 17 loaded with 3 rejects',
    eventName: 'batch.loaded',
    context: trace.setSpanContext(ROOT_CONTEXT, spanContext),
    attributes: {
      'pipeline.name': 'orders',
      'batch.size': 500,
      'batch.ratio': 0.25,
      'batch.retried': false,
      'batch.tags': ['eu', 'nightly'],
      'batch.destination': { table: 'orders', rows: 497 },
      'batch.checksum': new Uint8Array([1, 2, 3, 250]),
      'batch.offset': 2 ** 60,
      'batch.delta': -42,
    },
  });
  logger.emit({ timestamp: [1_700_000_002, 0], observedTimestamp: [1_700_000_002, 1], body: { event: 'x', count: 3 } });
  logger.emit({ timestamp: [1_700_000_003, 0], observedTimestamp: [1_700_000_003, 0] });
  return exporter.getFinishedLogRecords();
}

/** One server span with a remote parent, a link, an event and an error status. */
export function sdkSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('pipemon-test', '0.1.0');
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const span = tracer.startSpan(
    'load orders',
    {
      kind: SpanKind.SERVER,
      startTime: [1_700_000_000, 1],
      attributes: { 'db.system': 'postgresql', 'db.rows': 497 },
      links: [
        {
          context: { traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'bbbbbbbbbbbbbbbb', traceFlags: TraceFlags.NONE },
          attributes: { 'link.reason': 'retry' },
        },
      ],
    },
    parent,
  );
  span.addEvent('batch.flushed', { rows: 250 }, [1_700_000_000, 500_000_000]);
  span.setStatus({ code: SpanStatusCode.ERROR, message: '3 rows rejected' });
  span.end([1_700_000_001, 999_999_999]);
  return exporter.getFinishedSpans();
}
