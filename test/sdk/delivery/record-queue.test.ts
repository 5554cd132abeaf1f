import { describe, expect, it } from 'vitest';
import { createRecordQueue } from '../../../sdk/delivery/record-queue.js';

/** A queue of numbers (negative ones must be kept) over a spool that records its appends, with a hand-run timer. */
function setup(options: { maxBatch?: number; maxQueue?: number } = {}) {
  const appends: Array<{ keep: boolean; items: number[] }> = [];
  const timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  let unserializable = 0;
  const queue = createRecordQueue<number>({
    channel: {
      signal: 'logs',
      serialize: (items) => (items.includes(13) ? undefined : new Uint8Array(items.map((i) => Math.abs(i)))),
      mustKeep: (item) => item < 0,
      // -100 and below: kept, but need not be on disk before push returns.
      writeThrough: (item) => item > -100,
    },
    spool: { append: (_signal, keep, _records, body) => void appends.push({ keep, items: [...body] }) },
    maxBatch: options.maxBatch ?? 4,
    maxQueue: options.maxQueue ?? 100,
    bufferMs: 10,
    onAppend: () => undefined,
    onUnserializable: (n) => (unserializable += n),
    setTimer: (fn, ms) => {
      const timer = { fn, ms, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
  });
  const fire = () => timers.filter((t) => !t.cancelled).forEach((t) => ((t.cancelled = true), t.fn()));
  return { queue, appends, timers, fire, unserialized: () => unserializable };
}

describe('the record queue', () => {
  it('writes a record that must be kept to the spool before push returns', () => {
    const { queue, appends } = setup();
    queue.push(1);
    queue.push(-5);
    expect(appends).toEqual([{ keep: true, items: [5] }]);
    expect(queue.buffered).toBe(1);
  });

  it('buffers kept records that need no write-through, and appends them as kept, never as ordinary', () => {
    const { queue, appends, fire } = setup();
    queue.push(-100);
    queue.push(1);
    expect(appends).toEqual([]);
    expect(queue.buffered).toBe(2);
    fire();
    expect(appends).toEqual([
      { keep: true, items: [100] },
      { keep: false, items: [1] },
    ]);
  });

  it('holds ordinary records for one buffer interval, then appends them together', () => {
    const { queue, appends, timers, fire } = setup();
    queue.push(1);
    queue.push(2);
    expect(appends).toEqual([]);
    expect(timers.map((t) => t.ms)).toEqual([10]);
    fire();
    expect(appends).toEqual([{ keep: false, items: [1, 2] }]);
    expect(queue.buffered).toBe(0);
  });

  it('appends a full batch at the end of the current task, without waiting for the interval', async () => {
    const { queue, appends } = setup({ maxBatch: 3 });
    for (let i = 1; i <= 4; i++) queue.push(i);
    expect(appends).toEqual([]);
    await Promise.resolve();
    expect(appends).toEqual([
      { keep: false, items: [1, 2, 3] },
      { keep: false, items: [4] },
    ]);
  });

  it('appends on the caller stack past maxQueue, so a caller that never yields cannot fill memory', () => {
    const { queue, appends } = setup({ maxBatch: 2, maxQueue: 5 });
    for (let i = 1; i <= 5; i++) queue.push(i);
    expect(appends.flatMap((a) => a.items)).toEqual([1, 2, 3, 4, 5]);
    expect(queue.buffered).toBe(0);
  });

  it('appends everything buffered on flush, and counts records that cannot be serialized', () => {
    const { queue, appends, unserialized } = setup();
    queue.push(1);
    queue.push(13);
    queue.flush();
    expect(appends).toEqual([]);
    expect(unserialized()).toBe(2);
    queue.push(2);
    queue.flush();
    expect(appends).toEqual([{ keep: false, items: [2] }]);
  });
});
