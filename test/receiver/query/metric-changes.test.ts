/**
 * What a series counted between its points (receiver/query/metric-changes.ts): a cumulative counter's
 * difference, reset when it dropped, restarted at a new start time, a first point counted from its start
 * time; a non-monotonic sum's drops as decreases; a delta point's own amount; steps adding intervals up;
 * exponential buckets of different scales compared at the coarser one.
 */
import { describe, expect, it } from 'vitest';
import { BUCKETS, EXPONENTIAL, intervalOf, perStep, SUMS, type Interval, type SumAmount, type Timed } from '../../../receiver/query/metric-changes.js';
import type { ExponentialCounts } from '../../../receiver/query/metric-quantile.js';

const point = <T>(time: number, amount: T, start: number | null = 0): Timed<T> => ({ time: BigInt(time), start: start === null ? null : BigInt(start), amount });
const cumulative = { temporality: 2, monotonic: true };

describe('intervalOf', () => {
  it("subtracts a counter's previous value, exactly for integers past 2^53", () => {
    expect(intervalOf(SUMS, cumulative, point(20, 2n ** 60n + 5n), point(10, 2n ** 60n))).toEqual({ from: 10n, to: 20n, amount: 5n, reset: false });
    expect(intervalOf(SUMS, cumulative, point(20, 2.5), point(10, 1))).toEqual({ from: 10n, to: 20n, amount: 1.5, reset: false });
  });

  it('reads a drop as a reset and a new start time as a restart, each counting its own value', () => {
    expect(intervalOf(SUMS, cumulative, point(20, 3n), point(10, 9n))).toEqual({ from: 10n, to: 20n, amount: 3n, reset: true });
    expect(intervalOf(SUMS, cumulative, point(20, 30n, 15), point(10, 9n, 0))).toEqual({ from: 15n, to: 20n, amount: 30n, reset: true });
  });

  it("counts a first point from its start time, and nothing for one without", () => {
    expect(intervalOf(SUMS, cumulative, point(20, 7n, 5), null)).toEqual({ from: 5n, to: 20n, amount: 7n, reset: false });
    // An SDK's first collection may fall in the millisecond its instrument started: it still counted 7.
    expect(intervalOf(SUMS, cumulative, point(20, 7n, 20), null)).toEqual({ from: 20n, to: 20n, amount: 7n, reset: false });
    expect(intervalOf(SUMS, cumulative, point(20, 7n, null), null)).toBeNull();
  });

  it("reads a non-monotonic sum's drop as a decrease, and a delta point as its own amount", () => {
    expect(intervalOf(SUMS, { temporality: 2, monotonic: false }, point(20, 3n), point(10, 9n))).toEqual({ from: 10n, to: 20n, amount: -6n, reset: false });
    const delta = { temporality: 1, monotonic: true };
    expect(intervalOf(SUMS, delta, point(20, 4n, 12), point(10, 9n))).toEqual({ from: 12n, to: 20n, amount: 4n, reset: false });
    expect(intervalOf(SUMS, delta, point(20, 4n, null), point(10, 9n))).toEqual({ from: 10n, to: 20n, amount: 4n, reset: false });
  });

  it("reads a histogram bucket that dropped as a reset", () => {
    expect(intervalOf(BUCKETS, cumulative, point(20, [3n, 5n]), point(10, [1n, 2n]))!.amount).toEqual([2n, 3n]);
    expect(intervalOf(BUCKETS, cumulative, point(20, [3n, 1n]), point(10, [1n, 2n]))).toMatchObject({ amount: [3n, 1n], reset: true });
  });
});

describe('perStep', () => {
  it("adds up the intervals that end in each step, from the first's start to the last's end", () => {
    const intervals: Interval<SumAmount>[] = [
      { from: 0n, to: 5n, amount: 1n, reset: false },
      { from: 5n, to: 9n, amount: 2n, reset: true },
      { from: 9n, to: 12n, amount: 4n, reset: false },
    ];
    expect(perStep(SUMS, intervals, 10n)).toEqual([
      { from: 0n, to: 9n, amount: 3n, reset: true },
      { from: 9n, to: 12n, amount: 4n, reset: false },
    ]);
  });
});

describe('exponential buckets', () => {
  const h = (scale: number, positive: [number, number][], zero = 0): ExponentialCounts => ({
    scale,
    zeroThreshold: 0,
    zero: BigInt(zero),
    positive: new Map(positive.map(([i, c]) => [i, BigInt(c)])),
    negative: new Map(),
  });

  it('subtracts at the coarser scale, merging the finer buckets two into one per step of scale', () => {
    // At scale 1, buckets 2 and 3 are bucket 1 at scale 0; bucket -1 is bucket -1.
    const difference = EXPONENTIAL.minus(h(0, [[1, 10], [-1, 1]], 2), h(1, [[2, 3], [3, 4], [-1, 1]], 1));
    expect(difference).toMatchObject({ scale: 0, zero: 1n, positive: new Map([[1, 3n], [-1, 0n]]) });
    expect(EXPONENTIAL.dropped(h(0, [[1, 5]]), h(1, [[2, 3], [3, 4]]))).toBe(true);
  });
});
