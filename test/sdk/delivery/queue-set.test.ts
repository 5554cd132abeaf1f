import { describe, expect, it } from 'vitest';
import { createQueueSet } from '../../../sdk/delivery/queue-set.js';
import type { Channel } from '../../../sdk/delivery/record-queue.js';
import type { Signal } from '../../../contract/signal.js';

/** Numbers as records: negative ones must be kept; 13 and -13 cannot be serialized. */
const channel = (signal: Signal): Channel<number> => ({
  signal,
  serialize: (items) => (items.some((i) => Math.abs(i) === 13) ? undefined : new Uint8Array(items.map((i) => Math.abs(i)))),
  mustKeep: (item) => item < 0,
});

function setup() {
  const appends: Array<{ signal: Signal; keep: boolean; items: number[] }> = [];
  const told: boolean[] = [];
  const set = createQueueSet({
    spool: { append: (signal, keep, _records, body) => void appends.push({ signal, keep, items: [...body] }) },
    // A long buffer: records stay in memory until flushed.
    config: { maxBatch: 10, maxQueue: 100, bufferMs: 60_000 },
    onAppend: (keep) => told.push(keep),
  });
  return { set, appends, told };
}

describe('the queue set', () => {
  it('gives each channel its own queue into the one spool, and flushes them all', () => {
    const { set, appends, told } = setup();
    const logs = set.add(channel('logs'));
    const traces = set.add(channel('traces'));
    logs.push(1);
    logs.push(2);
    traces.push(3);
    expect(set.counts()).toEqual({ buffered: 3, unserializable: 0 });
    expect(appends).toEqual([]);
    set.flush();
    expect(appends).toEqual([
      { signal: 'logs', keep: false, items: [1, 2] },
      { signal: 'traces', keep: false, items: [3] },
    ]);
    expect(told).toEqual([false, false]);
    expect(set.counts()).toEqual({ buffered: 0, unserializable: 0 });
  });

  it('passes on each append with whether it held kept records', () => {
    const { set, appends, told } = setup();
    set.add(channel('logs')).push(-7);
    expect(appends).toEqual([{ signal: 'logs', keep: true, items: [7] }]);
    expect(told).toEqual([true]);
  });

  it('counts the records of every queue that could not be serialized', () => {
    const { set, appends } = setup();
    const logs = set.add(channel('logs'));
    const traces = set.add(channel('traces'));
    logs.push(13);
    logs.push(1);
    traces.push(-13);
    set.flush();
    expect(appends).toEqual([]);
    expect(set.counts()).toEqual({ buffered: 0, unserializable: 3 });
  });
});
