/** Bounded label values (receiver/metrics/label-bound.ts): each key holds at most maxValues values, past which OVERFLOW_LABEL. */
import { expect, it } from 'vitest';
import { createLabelBound, OVERFLOW_LABEL } from '../../../receiver/metrics/label-bound.js';

it('keeps values already seen, overflows new ones past the cap, and counts each key apart', () => {
  const bounded = createLabelBound(2);
  expect(['a', 'b', 'c', 'a', 'b'].map((value) => bounded('runs', value))).toEqual(['a', 'b', OVERFLOW_LABEL, 'a', 'b']);
  expect(bounded('stages', 'c')).toBe('c');
});
