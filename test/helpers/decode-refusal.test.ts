import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../receiver/model/records.js';
import { decodeRefusal } from './decode-refusal.js';

describe('decodeRefusal', () => {
  it("is the DecodeError's message", () => {
    expect(decodeRefusal(() => {
      throw new DecodeError('traceId: expected a hex string');
    })).toBe('traceId: expected a hex string');
  });

  it('fails when the decoder returns, or throws anything but a DecodeError', () => {
    expect(() => decodeRefusal(() => [])).toThrow('expected a DecodeError, but it decoded');
    expect(() => decodeRefusal(() => {
      throw new TypeError('x is undefined');
    })).toThrow(/DecodeError/);
  });
});
