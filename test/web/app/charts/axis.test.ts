/** The value scales of the charts (web/app/charts/axis.ts): round steps, 0 always on the scale, no float noise. */
import { describe, expect, it } from 'vitest';
import { countTicks, heightOf, roundTicks } from '../../../../web/app/charts/axis.js';

describe('a value scale', () => {
  it('counts in whole round steps from 0 to the first at or above the largest count', () => {
    expect(countTicks(0)).toEqual([0, 1]);
    expect(countTicks(3)).toEqual([0, 1, 2, 3]);
    expect(countTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(countTicks(12_345)).toEqual([0, 5000, 10_000, 15_000]);
  });

  it('steps by fractions for small values, without float noise', () => {
    expect(roundTicks(0, 0.3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(roundTicks(0, 0.7)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(roundTicks(0, 4.8)).toEqual([0, 2, 4, 6]);
  });

  it('reaches below 0 for negative values, with 0 on the scale', () => {
    expect(roundTicks(-3, 5)).toEqual([-5, 0, 5]);
    expect(roundTicks(-7, -1)).toEqual([-8, -6, -4, -2, 0]);
    expect(roundTicks(0, 0)).toEqual([0, 0.5, 1]);
  });

  it('places a value by the first and last ticks, from the top', () => {
    expect(heightOf([0, 2, 4], 4)).toBe(0);
    expect(heightOf([0, 2, 4], 1)).toBe(0.75);
    expect(heightOf([-5, 0, 5], 0)).toBe(0.5);
  });
});
