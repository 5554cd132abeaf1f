/**
 * What a monitored call leaves behind: a span for a sampled call, its arguments and result previewed
 * by the bounded serializer; on failure, sampled or not, a span (back-dated for a call sampled out)
 * and an ERROR record. Telemetry never throws into the caller.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { SeverityNumber, type AnyValueMap } from '@opentelemetry/api-logs';
import { ATTR, EVENT } from '../../contract/vocabulary.js';
import { currentActivity, exceptionAttributes, parentContext } from '../activity/run.js';
import { createSerializer, type SerializeOptions } from '../activity/serialize.js';
import { pipemon, type Pipemon } from '../activity/telemetry.js';
import type { CallEnd } from './results.js';

export interface MonitorOptions extends SerializeOptions {
  /** Span name; default the function's name (for methods, Class.method). */
  name?: string;
  /** `pipemon.function.group`, e.g. "trading.actant" (a Python `@monitor`'s process_group). */
  group?: string;
  /** Share of successful calls recorded, 0-1 (default 1). Failures are always recorded. */
  sampleRate?: number;
  /** Preview arguments (default true). */
  captureArgs?: boolean;
  /** Preview the return value (default true). */
  captureResult?: boolean;
}

export interface Call {
  name: string;
  /** Null while sampled out (or when the span could not be started). */
  span: Span | null;
  startedAt: number;
  args: unknown[];
  /** The arguments' preview, made once for the span and reused by a failure's record. */
  argsPreview: string | undefined;
}

export class CallTelemetry implements CallEnd<Call> {
  private readonly group: string | undefined;
  private readonly captureArgs: boolean;
  private readonly captureResult: boolean;
  private readonly preview: (value: unknown) => string;

  constructor(
    options: MonitorOptions,
    /** Where spans and records go: the running instance, looked up at each call (it may be restarted). */
    private readonly sink: () => Pick<Pipemon, 'tracer' | 'logger'> = pipemon,
  ) {
    this.group = options.group;
    this.captureArgs = options.captureArgs ?? true;
    this.captureResult = options.captureResult ?? true;
    this.preview = createSerializer(options);
  }

  /** The span of a sampled call, under the current run or stage; null if it could not be started. */
  open(call: Call): Span | null {
    try {
      return this.startSpan(call);
    } catch {
      return null;
    }
  }

  /** Ends a sampled call's span: with its result previewed, or the number of values a generator yielded. */
  succeed(call: Call, value: unknown, yields?: number): void {
    if (!call.span) return;
    try {
      if (yields !== undefined) call.span.setAttribute(ATTR.functionYields, yields);
      else if (this.captureResult) call.span.setAttribute(ATTR.functionResult, this.preview(value));
      call.span.end();
    } catch {
      // Telemetry never throws into the caller.
    }
  }

  fail(call: Call, error: unknown): void {
    try {
      // A sampled-out call gets its span now, back-dated, because failures are never sampled out.
      const span = call.span ?? this.startSpan(call, call.startedAt);
      const attributes = exceptionAttributes(error);
      const message = String(attributes[ATTR.exceptionMessage]);
      span.recordException(error instanceof Error ? error : message);
      span.setAttributes(attributes);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      span.end();
      this.sink().logger.emit({
        eventName: EVENT.functionCall,
        severityNumber: SeverityNumber.ERROR,
        severityText: 'ERROR',
        body: `${call.name} failed: ${message}`,
        attributes: this.failureRecord(call, attributes),
        context: trace.setSpan(ROOT_CONTEXT, span),
      });
    } catch {
      // Telemetry never throws into the caller.
    }
  }

  /** `startedAt` back-dates the span of a sampled-out call that failed; a sampled call starts now. */
  private startSpan(call: Call, startedAt?: number): Span {
    const attributes = this.nameAttributes(call.name);
    if (this.captureArgs) attributes[ATTR.functionArgs] = this.argsPreview(call);
    return this.sink().tracer.startSpan(call.name, { kind: SpanKind.INTERNAL, attributes, startTime: startedAt }, parentContext());
  }

  /** The failure's record: the call's name and the exception, under the run or stage it happened in. */
  private failureRecord(call: Call, exception: Attributes): AnyValueMap {
    const record: AnyValueMap = Object.assign(this.nameAttributes(call.name), exception);
    const activity = currentActivity();
    if (activity) {
      record[ATTR.pipelineName] = activity.pipeline;
      record[ATTR.runId] = activity.runId;
      if (activity.kind === 'stage') record[ATTR.stageName] = activity.name;
    }
    if (this.captureArgs) record[ATTR.functionArgs] = this.argsPreview(call);
    return record;
  }

  // Built key by key: spreading shared base attributes into each call's object took V8's slow path.
  private nameAttributes(name: string): Attributes {
    const attributes: Attributes = { [ATTR.codeFunctionName]: name };
    if (this.group) attributes[ATTR.functionGroup] = this.group;
    return attributes;
  }

  private argsPreview(call: Call): string {
    return (call.argsPreview ??= this.preview(call.args));
  }
}
