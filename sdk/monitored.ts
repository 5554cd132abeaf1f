/**
 * A `@monitor` decorator, as in-house Python monitoring wrapped functions to time each call and
 * capture its arguments and result: wrap a function (sync, async, generator, async generator) so
 * each sampled call is an INTERNAL span under the current run or stage, with its arguments and result
 * previewed by the bounded serializer. A call that is sampled out costs one random draw and one clock
 * read; if it then fails, the failure is recorded anyway (a span back-dated to the call's start,
 * and an ERROR record): sampling never hides an error.
 */
import { withSpan } from './activity/run.js';
import { callNamer } from './monitored/call-name.js';
import { CallTelemetry, type Call, type MonitorOptions } from './monitored/call-telemetry.js';
import { followResult } from './monitored/results.js';

export type { MonitorOptions } from './monitored/call-telemetry.js';

type AnyFunction = (this: any, ...args: any[]) => any;

/** Passed with its arguments to withSpan(), so a sampled call allocates no closure. */
function invoke(fn: AnyFunction, self: unknown, args: unknown[]): unknown {
  return fn.apply(self, args);
}

/** Wraps `fn`; the wrapper has the same signature, `this`, return value and errors. */
export function monitored<F extends AnyFunction>(fn: F, options: MonitorOptions = {}): F {
  const sampleRate = options.sampleRate ?? 1;
  const telemetry = new CallTelemetry(options);
  const nameOf = callNamer(fn, options.name);

  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const sampled = sampleRate >= 1 || Math.random() < sampleRate;
    const call: Call = { name: nameOf(this), span: null, startedAt: Date.now(), args, argsPreview: undefined };
    let value: unknown;
    try {
      if (sampled) call.span = telemetry.open(call);
      value = call.span ? withSpan(call.span, invoke, fn, this, args) : fn.apply(this, args);
    } catch (error) {
      telemetry.fail(call, error);
      throw error;
    }
    return followResult(value, telemetry, call);
  };
  Object.defineProperty(wrapper, 'name', { value: fn.name });
  Object.defineProperty(wrapper, 'length', { value: fn.length });
  return wrapper as F;
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
