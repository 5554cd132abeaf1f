import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { SeverityNumber, type LogRecord } from '@opentelemetry/api-logs';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createLeanLogger } from '../../../sdk/activity/lean-logger.js';

function loggers() {
  const resource = resourceFromAttributes({ 'service.name': 'lean-test' });
  const lean: ReadableLogRecord[] = [];
  const sdk: ReadableLogRecord[] = [];
  const provider = new LoggerProvider({
    resource,
    processors: [{ onEmit: (r) => sdk.push(r), forceFlush: async () => undefined, shutdown: async () => undefined }],
  });
  const fallback = provider.getLogger('pipemon');
  const logger = createLeanLogger({ resource, scope: 'pipemon', onEmit: (r) => lean.push(r), fallback });
  return { logger, fallback, lean, sdk };
}

const span = new BasicTracerProvider().getTracer('t').startSpan('stage');
const context = trace.setSpan(ROOT_CONTEXT, span);

/** The OTLP request of one record with its timestamps zeroed, as the receiver would get it. */
function wire(record: ReadableLogRecord): string {
  // Read field by field: the SDK's record keeps them behind getters.
  const fixed: ReadableLogRecord = {
    hrTime: [0, 0],
    hrTimeObserved: [0, 0],
    spanContext: record.spanContext,
    severityText: record.severityText,
    severityNumber: record.severityNumber,
    body: record.body,
    eventName: record.eventName,
    resource: record.resource,
    instrumentationScope: record.instrumentationScope,
    attributes: record.attributes,
    droppedAttributesCount: record.droppedAttributesCount,
  };
  return Buffer.from(ProtobufLogsSerializer.serializeRequest([fixed])!).toString('hex');
}

describe('the lean logger', () => {
  it('sends the same OTLP bytes as the SDK logger for records of scalar attributes', () => {
    const { logger, fallback, lean, sdk } = loggers();
    const records: LogRecord[] = [
      { eventName: 'pipeline.stage.end', severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'stage success: load', context },
      {
        severityNumber: SeverityNumber.ERROR,
        severityText: 'ERROR',
        body: 'bad row',
        attributes: { 'cicd.pipeline.name': 'orders', n: 7, ok: false, none: null, tags: ['a', 'b'] },
        context,
      },
      { body: 'no context, no attributes' },
    ];
    for (const record of records) {
      logger.emit(record);
      fallback.emit(record);
    }
    expect(lean).toHaveLength(3);
    expect(sdk).toHaveLength(3);
    for (let i = 0; i < records.length; i++) expect(wire(lean[i]!)).toBe(wire(sdk[i]!));
    expect(lean[1]!.spanContext?.spanId).toBe(span.spanContext().spanId);
  });

  it('copies attributes at emit, so later changes to the caller\'s object do not reach the record', () => {
    const { logger, lean } = loggers();
    const attributes: Record<string, unknown> = { stage: 'load', tags: ['x'] };
    logger.emit({ body: 'b', attributes: attributes as LogRecord['attributes'] });
    attributes.stage = 'changed';
    (attributes.tags as string[]).push('y');
    expect(lean[0]!.attributes).toEqual({ stage: 'load', tags: ['x'] });
  });

  it('leaves nested values, explicit timestamps, exceptions and more than 128 attributes to the SDK', () => {
    const { logger, lean, sdk } = loggers();
    logger.emit({ body: 'nested', attributes: { row: { id: 1 } } });
    logger.emit({ body: 'timed', timestamp: 1_700_000_000_000 });
    logger.emit({ body: 'exception', exception: new Error('boom') });
    logger.emit({ body: 'wide', attributes: Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`k${i}`, i])) });
    expect(lean).toHaveLength(0);
    expect(sdk.map((r) => r.body)).toEqual(['nested', 'timed', 'exception', 'wide']);
    expect(sdk[3]!.droppedAttributesCount).toBe(2);
  });

  it('emits nothing once closed, like the SDK logger after its provider shut down', () => {
    const { logger, lean, sdk } = loggers();
    logger.close();
    logger.emit({ body: 'late' });
    logger.emit({ body: 'late nested', attributes: { row: { id: 1 } } });
    expect(logger.enabled()).toBe(false);
    expect([...lean, ...sdk]).toHaveLength(0);
  });

  it('never gives two records of the process the same times, on either path', () => {
    const { logger, lean, sdk } = loggers();
    for (let i = 0; i < 100; i++) {
      logger.emit({ body: 'same' });
      logger.emit({ body: 'same nested', attributes: { row: { id: 1 } } });
    }
    const observed = [...lean, ...sdk].map((r) => `${r.hrTimeObserved[0]}.${String(r.hrTimeObserved[1]).padStart(9, '0')}`);
    expect(new Set(observed).size).toBe(200);
    // Sub-millisecond: the time is not a whole number of milliseconds for every record.
    expect(lean.some((r) => r.hrTime[1] % 1_000_000 !== 0)).toBe(true);
  });
});
