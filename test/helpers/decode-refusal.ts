import { expect } from 'vitest';
import { DecodeError } from '../../receiver/model/records.js';

/** The message of the DecodeError `decode` throws; fails the test when it throws anything else or returns. */
export function decodeRefusal(decode: () => unknown): string {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return (error as Error).message;
  }
  throw new Error('expected a DecodeError, but it decoded');
}

/** Decoding returns rows or throws a DecodeError, never anything else: what fuzzed input may do. */
export function decodesOrRefuses(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
  }
}
