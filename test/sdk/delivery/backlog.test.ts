import { describe, expect, it } from 'vitest';
import { Backlog } from '../../../sdk/delivery/backlog.js';

const filled = (n: number, chunkSize = 4) => {
  const backlog = new Backlog<number>(chunkSize);
  for (let i = 0; i < n; i++) backlog.push(i);
  return backlog;
};

describe('the export backlog', () => {
  it('hands out records oldest first, across chunk boundaries, in batches of at most the size asked', () => {
    const backlog = filled(10);
    expect(backlog.take(3)).toEqual([0, 1, 2]);
    expect(backlog.take(4)).toEqual([3, 4, 5, 6]);
    expect(backlog.length).toBe(3);
    expect(backlog.take(100)).toEqual([7, 8, 9]);
    expect(backlog.length).toBe(0);
    expect(backlog.take(5)).toEqual([]);
  });

  it('drops the oldest record on eviction and keeps the count right', () => {
    const backlog = filled(6);
    backlog.dropOldest();
    backlog.dropOldest();
    expect(backlog.length).toBe(4);
    expect(backlog.takeAll()).toEqual([2, 3, 4, 5]);
    backlog.dropOldest();
    expect(backlog.length).toBe(0);
  });

  it('puts refused records back in front of the rest', () => {
    const backlog = filled(6);
    const batch = backlog.take(3);
    backlog.putBack(batch);
    expect(backlog.length).toBe(6);
    expect(backlog.takeAll()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('keeps taking new records after a whole chunk was handed out', () => {
    const backlog = filled(4);
    const chunk = backlog.take(4);
    backlog.push(4);
    expect(chunk).toEqual([0, 1, 2, 3]);
    expect(backlog.takeAll()).toEqual([4]);
  });
});
