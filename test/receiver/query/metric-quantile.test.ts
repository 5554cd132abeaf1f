/**
 * Quantiles of distributions (receiver/query/metric-quantile.ts) against values worked out by hand with
 * Prometheus' rules: linear interpolation in explicit buckets, the last bound for a rank in the last
 * bucket; exponential buckets on their logarithmic scale, the zero bucket linearly, on the side of 0
 * the other buckets are; a summary's own quantiles.
 */
import { describe, expect, it } from 'vitest';
import { bucketQuantile, exponentialQuantile, summaryQuantile, type ExponentialCounts } from '../../../receiver/query/metric-quantile.js';

const counts = (...values: number[]) => values.map(BigInt);

describe('bucketQuantile', () => {
  const bounds = [1, 2, 4];

  it('interpolates linearly within the bucket the rank falls in, from 0 in the first', () => {
    // 10 observations: 2 up to 1, 4 in (1, 2], 4 in (2, 4].
    expect(bucketQuantile(0.5, bounds, counts(2, 4, 4, 0))).toBe(1 + 1 * (3 / 4));
    expect(bucketQuantile(0.1, bounds, counts(2, 4, 4, 0))).toBe(0 + 1 * (1 / 2));
    expect(bucketQuantile(1, bounds, counts(2, 4, 4, 0))).toBe(4);
  });

  it('answers the last bound for a rank in the last bucket, and a first bound not above 0 for a rank in the first', () => {
    expect(bucketQuantile(0.95, bounds, counts(1, 1, 1, 7))).toBe(4);
    expect(bucketQuantile(0.3, [-1, 0, 1], counts(5, 5, 0, 0))).toBe(-1);
  });

  it('has no quantile without observations or without bounds', () => {
    expect(bucketQuantile(0.5, bounds, counts(0, 0, 0, 0))).toBeNull();
    expect(bucketQuantile(0.5, [], counts(3))).toBeNull();
  });
});

describe('exponentialQuantile', () => {
  const histogram = (scale: number, positive: [number, number][], zero = 0, negative: [number, number][] = []): ExponentialCounts => ({
    scale,
    zeroThreshold: 0.5,
    zero: BigInt(zero),
    positive: new Map(positive.map(([i, c]) => [i, BigInt(c)])),
    negative: new Map(negative.map(([i, c]) => [i, BigInt(c)])),
  });

  it('places the rank on the logarithmic scale of its bucket', () => {
    // Scale 0: bucket 0 is (1, 2], bucket 1 is (2, 4]; 2 observations each.
    expect(exponentialQuantile(0.5, histogram(0, [[0, 2], [1, 2]]))).toBe(2);
    expect(exponentialQuantile(0.75, histogram(0, [[0, 2], [1, 2]]))).toBeCloseTo(2 ** 1.5, 12);
    // Scale 1: bucket 2 is (2, 2^1.5]: a quarter of the way through it is 2^(1 + 0.5 / 4).
    expect(exponentialQuantile(0.25, histogram(1, [[2, 4]]))).toBeCloseTo(2 ** 1.125, 12);
  });

  it('takes the zero bucket linearly, from 0 when only positive buckets are set', () => {
    // 2 in the zero bucket [0, 0.5], 2 in (1, 2]: rank 1 is half way through the zero bucket.
    expect(exponentialQuantile(0.25, histogram(0, [[0, 2]], 2))).toBe(0.25);
  });

  it('mirrors negative buckets: the most negative first', () => {
    // Negative bucket 1 holds -4 <= v < -2, bucket 0 holds -2 <= v < -1: 2 each.
    const h = histogram(0, [], 0, [[0, 2], [1, 2]]);
    expect(exponentialQuantile(0.5, h)).toBe(-2);
    expect(exponentialQuantile(0.25, h)).toBeCloseTo(-(2 ** 1.5), 12);
  });

  it('has no quantile without observations', () => {
    expect(exponentialQuantile(0.5, histogram(0, [[0, 0]]))).toBeNull();
  });
});

describe('summaryQuantile', () => {
  it('answers the value sent for the quantile, and null for one not sent', () => {
    const sent = [{ quantile: 0.5, value: 12 }, { quantile: 0.99, value: 40 }];
    expect(summaryQuantile(0.99, sent)).toBe(40);
    expect(summaryQuantile(0.9, sent)).toBeNull();
  });
});
