/**
 * When a call really ends: a Promise when it settles, a generator when it is done or closed, anything
 * else when it returns. The caller gets the same value (a generator wrapped, passing values, throws
 * and returns through unchanged), and `end` hears how the call ended.
 */

/** Told how a call ended; `yields` for a generator: the values it yielded. */
export interface CallEnd<C> {
  succeed(call: C, value: unknown, yields?: number): void;
  fail(call: C, error: unknown): void;
}

/** `value` as the caller is to get it, `end` told when the call it came from ends. */
export function followResult<C>(value: unknown, end: CallEnd<C>, call: C): unknown {
  // Only real Promises are followed to settlement. Other thenables (Knex and Mongoose query builders)
  // are not results yet: wrapping them in a Promise would take away the builder the caller chains on,
  // so they are returned unchanged and the call ends when it returns.
  if (value instanceof Promise) {
    return Promise.resolve(value).then(
      (resolved) => {
        end.succeed(call, resolved);
        return resolved;
      },
      (error: unknown) => {
        end.fail(call, error);
        throw error;
      },
    );
  }
  if (isAsyncIterator(value)) return followAsyncIterator(value, end, call);
  if (isIterator(value)) return followIterator(value, end, call);
  end.succeed(call, value);
  return value;
}

function followIterator<C>(iterator: Generator, end: CallEnd<C>, call: C): Generator {
  return (function* () {
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
      end.succeed(call, step.value, yielded);
      return step.value;
    } catch (error) {
      finished = true;
      end.fail(call, error);
      throw error;
    } finally {
      // The consumer stopped early (break, return()): still a successful call, and the source closes.
      if (!finished) {
        iterator.return?.(undefined);
        end.succeed(call, undefined, yielded);
      }
    }
  })();
}

function followAsyncIterator<C>(iterator: AsyncGenerator, end: CallEnd<C>, call: C): AsyncGenerator {
  return (async function* () {
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
      end.succeed(call, step.value, yielded);
      return step.value;
    } catch (error) {
      finished = true;
      end.fail(call, error);
      throw error;
    } finally {
      if (!finished) {
        await iterator.return?.(undefined);
        end.succeed(call, undefined, yielded);
      }
    }
  })();
}

function isIterator(value: unknown): value is Generator {
  const v = value as Partial<Generator> | null;
  return typeof v?.next === 'function' && typeof v.throw === 'function' && typeof (v as any)[Symbol.iterator] === 'function';
}

function isAsyncIterator(value: unknown): value is AsyncGenerator {
  const v = value as Partial<AsyncGenerator> | null;
  return typeof v?.next === 'function' && typeof v.throw === 'function' && typeof (v as any)[Symbol.asyncIterator] === 'function';
}
