import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Logger, LogRecord } from '@opentelemetry/api-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { CallTelemetry, type Call, type MonitorOptions } from '../../../sdk/monitored/call-telemetry.js';

/** Telemetry whose spans end in memory and whose records are collected. */
function telemetryOf(options: MonitorOptions = {}) {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('test');
  const records: LogRecord[] = [];
  const logger = { emit: (record: LogRecord) => void records.push(record) } as Logger;
  return { telemetry: new CallTelemetry(options, () => ({ tracer, logger })), spans: () => exporter.getFinishedSpans(), records };
}

const callOf = (args: unknown[], startedAt = Date.now()): Call => ({ name: 'load', span: null, startedAt, args, argsPreview: undefined });

describe("a monitored call's telemetry", () => {
  it('ends a sampled call\'s span with its name, group, arguments and result previewed', () => {
    const { telemetry, spans } = telemetryOf({ group: 'etl' });
    const call = callOf([{ table: 'orders', password: 'hunter2' }]);
    call.span = telemetry.open(call);
    telemetry.succeed(call, [1, 2]);
    const [span] = spans();
    expect([span!.name, span!.kind]).toEqual(['load', SpanKind.INTERNAL]);
    expect(span!.attributes).toEqual({
      [ATTR.codeFunctionName]: 'load',
      [ATTR.functionGroup]: 'etl',
      [ATTR.functionArgs]: '[{table: "orders", password: "***"}]',
      [ATTR.functionResult]: '[1, 2]',
    });
  });

  it('records a generator\'s yields instead of its result, and nothing previewed when capture is off', () => {
    const { telemetry, spans } = telemetryOf({ captureArgs: false, captureResult: false });
    const plain = callOf([1]);
    plain.span = telemetry.open(plain);
    telemetry.succeed(plain, 'value');
    const generator = callOf([1]);
    generator.span = telemetry.open(generator);
    telemetry.succeed(generator, undefined, 4);
    expect(spans().map((s) => s.attributes)).toEqual([{ [ATTR.codeFunctionName]: 'load' }, { [ATTR.codeFunctionName]: 'load', [ATTR.functionYields]: 4 }]);
  });

  it('records a sampled-out call that failed: a span back-dated to its start, with an ERROR record', () => {
    const { telemetry, spans, records } = telemetryOf();
    const startedAt = Date.now() - 5_000;
    const call = callOf(['{'], startedAt);
    telemetry.succeed(call, 'not recorded: sampled out');
    expect(spans()).toHaveLength(0);
    telemetry.fail(call, new SyntaxError('unexpected token'));
    const [span] = spans();
    expect(span!.startTime[0]).toBe(Math.floor(startedAt / 1000));
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'unexpected token' });
    expect(span!.attributes).toMatchObject({ [ATTR.errorType]: 'SyntaxError', [ATTR.functionArgs]: '["{"]' });
    expect(span!.events.map((e) => e.name)).toEqual(['exception']);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ eventName: EVENT.functionCall, severityText: 'ERROR', body: 'load failed: unexpected token' });
    expect(records[0]!.attributes).toMatchObject({ [ATTR.codeFunctionName]: 'load', [ATTR.functionArgs]: '["{"]', [ATTR.errorType]: 'SyntaxError' });
  });

  it('previews the arguments once, for the span and the failure record alike', () => {
    const { telemetry, records } = telemetryOf();
    const call = callOf([1]);
    call.span = telemetry.open(call);
    expect(call.argsPreview).toBe('[1]');
    call.argsPreview = 'made once';
    telemetry.fail(call, new Error('no'));
    expect(records[0]!.attributes![ATTR.functionArgs]).toBe('made once');
  });

  it('never throws into the caller when telemetry fails', () => {
    const broken = new CallTelemetry({}, () => {
      throw new Error('no instance');
    });
    const call = callOf([1]);
    expect(broken.open(call)).toBeNull();
    expect(() => broken.fail(call, new Error('x'))).not.toThrow();
  });
});
