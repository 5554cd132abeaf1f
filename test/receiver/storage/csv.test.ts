/**
 * COPY's CSV fields (receiver/storage/csv.ts): NULL apart from the empty string, quoted only when needed.
 * That the server reads them back as written is tested on each server in pg.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { csvField } from '../../../receiver/storage/csv.js';

describe('csvField', () => {
  it.each([
    [null, ''],
    ['', '""'],
    ['plain', 'plain'],
    [42, '42'],
    [-1.5, '-1.5'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\r', '"cr\r"'],
    ['\\.', '"\\."'],
    [' spaced ', ' spaced '],
  ] as const)('renders %j as %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});
