import { describe, expect, it } from 'vitest';
import { followResult, type CallEnd } from '../../../sdk/monitored/results.js';

/** Records how calls ended: ['ok', value, yields] or ['failed', error]. */
function recorder() {
  const ends: unknown[][] = [];
  const end: CallEnd<string> = {
    succeed: (call, value, yields) => void ends.push([call, 'ok', value, yields]),
    fail: (call, error) => void ends.push([call, 'failed', error]),
  };
  return { ends, end };
}

describe('following a call to its end', () => {
  it('ends a plain call at once, returning its value unchanged', () => {
    const { ends, end } = recorder();
    const value = { rows: 3 };
    expect(followResult(value, end, 'c')).toBe(value);
    expect(ends).toEqual([['c', 'ok', value, undefined]]);
  });

  it('ends a Promise when it settles, with its value or its error', async () => {
    const { ends, end } = recorder();
    const resolved = followResult(Promise.resolve(5), end, 'a') as Promise<number>;
    expect(ends).toEqual([]);
    expect(await resolved).toBe(5);
    const boom = new Error('boom');
    await expect(followResult(Promise.reject(boom), end, 'b')).rejects.toBe(boom);
    expect(ends).toEqual([
      ['a', 'ok', 5, undefined],
      ['b', 'failed', boom],
    ]);
  });

  it('returns a thenable that is not a Promise unchanged, ending the call now', () => {
    const { ends, end } = recorder();
    const builder = { then: () => undefined, where: () => builder };
    expect(followResult(builder, end, 'q')).toBe(builder);
    expect(ends).toEqual([['q', 'ok', builder, undefined]]);
  });

  it('passes a generator\'s values, inputs and throws through, and ends it with what it yielded', () => {
    const { ends, end } = recorder();
    const seen: unknown[] = [];
    function* source() {
      try {
        seen.push(yield 1);
      } catch (thrown) {
        seen.push(thrown);
      }
      yield 2;
      return 'done';
    }
    const wrapped = followResult(source(), end, 'g') as Generator;
    expect(wrapped.next().value).toBe(1);
    expect(wrapped.throw('into')).toEqual({ value: 2, done: false });
    expect(ends).toEqual([]);
    expect(wrapped.next('ignored')).toEqual({ value: 'done', done: true });
    expect(seen).toEqual(['into']);
    expect(ends).toEqual([['g', 'ok', 'done', 2]]);
  });

  it('ends a generator the consumer stopped early as a success, closing its source', () => {
    const { ends, end } = recorder();
    let closed = false;
    function* endless() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for (const value of followResult(endless(), end, 'g') as Generator<number>) if (value === 2) break;
    expect(closed).toBe(true);
    expect(ends).toEqual([['g', 'ok', undefined, 3]]);
  });

  it('ends a generator that throws as a failure, rethrowing its error', () => {
    const { ends, end } = recorder();
    const boom = new Error('boom');
    function* failing() {
      yield 1;
      throw boom;
    }
    expect(() => [...(followResult(failing(), end, 'g') as Generator)]).toThrow(boom);
    expect(ends).toEqual([['g', 'failed', boom]]);
  });

  it('follows an async generator the same way: values through, ended with its yields or its error', async () => {
    const { ends, end } = recorder();
    async function* pages() {
      yield 'p1';
      yield 'p2';
    }
    const seen: string[] = [];
    for await (const page of followResult(pages(), end, 'a') as AsyncGenerator<string>) seen.push(page);
    expect(seen).toEqual(['p1', 'p2']);
    let closed = false;
    async function* endless() {
      try {
        for (;;) yield 'x';
      } finally {
        closed = true;
      }
    }
    for await (const _ of followResult(endless(), end, 'b') as AsyncGenerator<string>) break;
    const boom = new Error('boom');
    async function* failing() {
      throw boom;
    }
    await expect((followResult(failing(), end, 'c') as AsyncGenerator).next()).rejects.toBe(boom);
    expect(closed).toBe(true);
    expect(ends).toEqual([
      ['a', 'ok', undefined, 2],
      ['b', 'ok', undefined, 1],
      ['c', 'failed', boom],
    ]);
  });
});
