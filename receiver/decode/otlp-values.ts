/**
 * Conventions shared by the protobuf and JSON decoders, so that the same records decode to deep-equal
 * rows in either encoding (see rows.ts).
 */
import type { Attributes, Resource, Scope } from '../model/records.js';

/** AnyValue nesting deeper than this is refused rather than recursed into (a stack overflow is not a 400). */
export const MAX_VALUE_DEPTH = 32;

/** A fresh object per ResourceLogs/ResourceSpans: rows share it, and a later field may still fill it in. */
export function newResource(): Resource {
  return { attributes: {}, schemaUrl: '', droppedAttributesCount: 0 };
}

/** A fresh object per ScopeLogs/ScopeSpans, shared by its rows. */
export function newScope(): Scope {
  return { name: '', version: '', attributes: {}, schemaUrl: '' };
}

/** Sets one attribute; a repeated key keeps its last value, as a protobuf map would. */
export function setAttribute(attributes: Attributes, key: string, value: unknown): void {
  // Plain assignment of "__proto__" would replace the prototype instead of adding a key; JSON.parse
  // makes it an own key, so do the same.
  if (key === '__proto__') {
    Object.defineProperty(attributes, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    attributes[key] = value;
  }
}

/** A double as stored: non-finite values become strings, which JSON.stringify would turn into null. */
export function doubleValue(d: number): number | string {
  return Number.isFinite(d) ? d : String(d);
}

/**
 * An int64 as stored: a number when it is a safe integer, its decimal string otherwise. Takes the two's
 * complement halves, as read from a varint.
 */
export function int64Value(lo: number, hi: number): number | string {
  if (hi < 0x200000) return hi * 0x100000000 + lo; // below 2^53
  if (hi >= 0xffe00000) {
    const negative = (hi - 0x100000000) * 0x100000000 + lo; // at least -2^53: exact
    if (negative >= -Number.MAX_SAFE_INTEGER) return negative;
  }
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** The same convention for an int64 already held as a bigint (from a JSON string or number). */
export function int64FromBigInt(n: bigint): number | string {
  return n >= -MAX_SAFE && n <= MAX_SAFE ? Number(n) : n.toString();
}
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A log body: a string AnyValue as is, any other as its JSON, an absent or empty AnyValue as null. */
export function bodyText(value: unknown, isString: boolean): string | null {
  if (isString) return value as string;
  return value === null ? null : JSON.stringify(value);
}

/** PostgreSQL text and jsonb cannot hold U+0000, so every decoded string loses it. */
export function withoutNul(s: string): string {
  return s.indexOf('\0') === -1 ? s : s.replaceAll('\0', '');
}
