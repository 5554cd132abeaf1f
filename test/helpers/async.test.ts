import { describe, expect, it } from 'vitest';
import { eventually, found, rejection, until } from './async.js';

/** A source that has nothing for its first `misses` calls, then `value`; counts the calls. */
function after<T>(misses: number, value: T) {
  const source = { calls: 0, next: async () => (++source.calls > misses ? value : undefined) };
  return source;
}

describe('polling', () => {
  it('found() resolves with the first value, after the misses, and names what it waited for when none comes', async () => {
    const source = after(2, { id: 7 });
    expect(await found(source.next, 'the record', { everyMs: 1 })).toEqual({ id: 7 });
    expect(source.calls).toBe(3);
    expect((await rejection(found(async () => false, 'the record', { timeoutMs: 30, everyMs: 1 }))).message).toBe('not found within 0.03 s: the record');
  });

  it('until() resolves once the condition holds, and says what it waited until when it never does', async () => {
    const source = after(2, true);
    await until(async () => (await source.next()) ?? false, 'it holds');
    expect(source.calls).toBe(3);
    expect((await rejection(until(() => false, 'it holds', 30))).message).toBe('timed out waiting until it holds');
  });

  it('eventually() retries a failing check and rethrows its last error when it keeps failing', async () => {
    let calls = 0;
    expect(await eventually(async () => (++calls < 2 ? Promise.reject(new Error('not yet')) : 'done'))).toBe('done');
    expect(calls).toBe(2);
    expect((await rejection(eventually(async () => Promise.reject(new Error(`still not, call ${++calls}`)), 50))).message).toMatch(/^still not, call \d+$/);
  });
});
