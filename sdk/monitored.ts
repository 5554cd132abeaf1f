/**
 * A `@monitor` decorator, as in-house Python monitoring wrapped functions to time each call and
 * capture its arguments and result: wrap a function (sync, async, generator, async generator) so
 * each sampled call is an INTERNAL span under the current run or stage, with its arguments and result
 * previewed by the bounded serializer. A call that is sampled out costs one random draw and one clock
 * read; if it then fails, the failure is recorded anyway (a span back-dated to the call's start,
 * and an ERROR record): sampling never hides an error.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { SeverityNumber, type AnyValueMap } from '@opentelemetry/api-logs';
import { currentActivity, exceptionAttributes, parentContext, withSpan } from './run.js';
import { createSerializer, type SerializeOptions } from './serialize.js';
import { pipemon } from './telemetry.js';
import { ATTR, EVENT } from '../contract/vocabulary.js';

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

type AnyFunction = (this: any, ...args: any[]) => any;

interface Call {
  span: Span | null;
  startedAt: number;
  args: unknown[];
  /** The arguments' preview, made once for the span and reused by a failure's record. */
  argsPreview: string | undefined;
}

/** Passed with its arguments to withSpan(), so a sampled call allocates no closure. */
function invoke(fn: AnyFunction, self: unknown, args: unknown[]): unknown {
  return fn.apply(self, args);
}

function isIterator(value: unknown): value is Generator {
  const v = value as Partial<Generator> | null;
  return typeof v?.next === 'function' && typeof v.throw === 'function' && typeof (v as any)[Symbol.iterator] === 'function';
}

function isAsyncIterator(value: unknown): value is AsyncGenerator {
  const v = value as Partial<AsyncGenerator> | null;
  return typeof v?.next === 'function' && typeof v.throw === 'function' && typeof (v as any)[Symbol.asyncIterator] === 'function';
}

/** Wraps `fn`; the wrapper has the same signature, `this`, return value and errors. */
export function monitored<F extends AnyFunction>(fn: F, options: MonitorOptions = {}): F {
  const sampleRate = options.sampleRate ?? 1;
  const captureArgs = options.captureArgs ?? true;
  const captureResult = options.captureResult ?? true;
  const fixedName = options.name ?? (fn.name || 'anonymous');
  const group = options.group;
  const preview = createSerializer(options);

  // Built key by key: spreading shared base attributes into each call's object took V8's slow path.
  const nameAttributes = (name: string): Attributes => {
    const attributes: Attributes = { [ATTR.codeFunctionName]: name };
    if (group) attributes[ATTR.functionGroup] = group;
    return attributes;
  };

  /** `startedAt` back-dates the span of a sampled-out call that failed; a sampled call starts now. */
  const open = (call: Call, name: string, startedAt?: number): Span => {
    const attributes = nameAttributes(name);
    if (captureArgs) attributes[ATTR.functionArgs] = call.argsPreview ??= preview(call.args);
    return pipemon().tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes, startTime: startedAt }, parentContext());
  };

  const succeed = (call: Call, value: unknown, extra?: Attributes) => {
    if (!call.span) return;
    try {
      if (captureResult && extra === undefined) call.span.setAttribute(ATTR.functionResult, preview(value));
      if (extra) call.span.setAttributes(extra);
      call.span.end();
    } catch {
      // Telemetry never throws into the caller.
    }
  };

  const fail = (call: Call, name: string, error: unknown) => {
    try {
      // A sampled-out call gets its span now, back-dated, because failures are never sampled out.
      const span = call.span ?? open(call, name, call.startedAt);
      const attributes = exceptionAttributes(error);
      span.recordException(error instanceof Error ? error : String(attributes[ATTR.exceptionMessage]));
      span.setAttributes(attributes);
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(attributes[ATTR.exceptionMessage]) });
      span.end();
      const activity = currentActivity();
      const record: AnyValueMap = Object.assign(nameAttributes(name), attributes);
      if (activity) {
        record[ATTR.pipelineName] = activity.pipeline;
        record[ATTR.runId] = activity.runId;
        if (activity.kind === 'stage') record[ATTR.stageName] = activity.name;
      }
      if (captureArgs) record[ATTR.functionArgs] = call.argsPreview ??= preview(call.args);
      pipemon().logger.emit({
        eventName: EVENT.functionCall,
        severityNumber: SeverityNumber.ERROR,
        severityText: 'ERROR',
        body: `${name} failed: ${String(attributes[ATTR.exceptionMessage])}`,
        attributes: record,
        context: trace.setSpan(ROOT_CONTEXT, span),
      });
    } catch {
      // Telemetry never throws into the caller.
    }
  };

  const wrapIterator = (call: Call, name: string, iterator: Generator): Generator =>
    (function* () {
      let yielded = 0;
      let finished = false;
      try {
        let step = iterator.next();
        while (!step.done) {
          yielded++;
          let input: unknown;
          try {
            input = yield step.value;
          } catch (thrown) {
            step = iterator.throw(thrown);
            continue;
          }
          step = iterator.next(input);
        }
        finished = true;
        succeed(call, step.value, { [ATTR.functionYields]: yielded });
        return step.value;
      } catch (error) {
        finished = true;
        fail(call, name, error);
        throw error;
      } finally {
        // The consumer stopped early (break, return()): still a successful call, and the source closes.
        if (!finished) {
          iterator.return?.(undefined);
          succeed(call, undefined, { [ATTR.functionYields]: yielded });
        }
      }
    })();

  const wrapAsyncIterator = (call: Call, name: string, iterator: AsyncGenerator): AsyncGenerator =>
    (async function* () {
      let yielded = 0;
      let finished = false;
      try {
        let step = await iterator.next();
        while (!step.done) {
          yielded++;
          let input: unknown;
          try {
            input = yield step.value;
          } catch (thrown) {
            step = await iterator.throw(thrown);
            continue;
          }
          step = await iterator.next(input);
        }
        finished = true;
        succeed(call, step.value, { [ATTR.functionYields]: yielded });
        return step.value;
      } catch (error) {
        finished = true;
        fail(call, name, error);
        throw error;
      } finally {
        if (!finished) {
          await iterator.return?.(undefined);
          succeed(call, undefined, { [ATTR.functionYields]: yielded });
        }
      }
    })();

  const nameOf = (self: unknown): string => {
    if (options.name) return options.name;
    const owner = (self as { constructor?: { name?: string } } | null | undefined)?.constructor?.name;
    return owner && owner !== 'Object' && owner !== 'Function' ? `${owner}.${fixedName}` : fixedName;
  };

  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const sampled = sampleRate >= 1 || Math.random() < sampleRate;
    const startedAt = Date.now();
    const name = nameOf(this);
    const call: Call = { span: null, startedAt, args, argsPreview: undefined };
    let value: unknown;
    try {
      if (sampled) {
        call.span = safeOpen(open, call, name);
        value = call.span ? withSpan(call.span, invoke, fn, this, args) : fn.apply(this, args);
      } else {
        value = fn.apply(this, args);
      }
    } catch (error) {
      fail(call, name, error);
      throw error;
    }
    // Only real Promises are followed to settlement. Other thenables (Knex and Mongoose query builders)
    // are not results yet: wrapping them in a Promise would take away the builder the caller chains on,
    // so they are returned unchanged and the call ends when it returns.
    if (value instanceof Promise) {
      return Promise.resolve(value).then(
        (resolved) => {
          succeed(call, resolved);
          return resolved;
        },
        (error: unknown) => {
          fail(call, name, error);
          throw error;
        },
      );
    }
    if (isAsyncIterator(value)) return wrapAsyncIterator(call, name, value);
    if (isIterator(value)) return wrapIterator(call, name, value);
    succeed(call, value);
    return value;
  };
  Object.defineProperty(wrapper, 'name', { value: fn.name });
  Object.defineProperty(wrapper, 'length', { value: fn.length });
  return wrapper as F;
}

function safeOpen(open: (call: Call, name: string) => Span, call: Call, name: string): Span | null {
  try {
    return open(call, name);
  } catch {
    return null;
  }
}

/**
 * A standard (TypeScript 5, TC39 stage 3) method decorator; spans are named Class.method.
 *
 *   class Loader { @monitor({ group: 'etl' }) async load(rows: Row[]) { ... } }
 */
export function monitor(options: MonitorOptions = {}) {
  return function <F extends AnyFunction>(method: F, _context: ClassMethodDecoratorContext): F {
    return monitored(method, options);
  };
}
