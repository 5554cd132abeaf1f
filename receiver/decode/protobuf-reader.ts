/**
 * Reading the protobuf wire format (protobuf.dev/programming-guides/encoding) straight from a request's
 * bytes: the cursor and the scalar, length-delimited and skipped fields every hand-written OTLP decoder
 * reads with.
 *
 * Every malformed input ends in a DecodeError: each read is bounded by the end of the enclosing message
 * (`end`), each loop consumes at least one byte, and recursion is bounded (groups). Errors name the field,
 * its message and the byte offset.
 */
import { Buffer } from 'node:buffer';
import { DecodeError } from '../model/records.js';
import { withoutNul } from './otlp-values.js';

// Wire types (protobuf encoding spec). Decoders write the tags in their switches as (field << 3 | wire).
// Each message has a table of the declared wire type of each field number (NONE: not a field), which
// skipField checks: a known field arriving with another wire type is an error; an unknown field, or a
// known one the decoder does not keep, is skipped.
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
export const I32 = 5;
export const NONE = -1;

/** Slots of each string cache: a power of two, comfortably more than the keys of one request. */
const CACHE_SLOTS = 256;

/** Unknown groups (deprecated, never in OTLP) may nest; this bounds the recursion that skips them. */
const MAX_GROUP_DEPTH = 32;

export class Reader {
  pos = 0;
  /** High 32 bits of the last varint read (the return value holds the low 32). */
  hi = 0;
  /** Where the last tag started, for error messages. */
  tagAt = 0;
  /** Whether the last AnyValue read was a string_value: a string body is kept as is, not as JSON. */
  isString = false;
  /** Recent attribute keys and short string values (see cachedString). */
  readonly keys: (string | undefined)[] = new Array(CACHE_SLOTS);
  readonly values: (string | undefined)[] = new Array(CACHE_SLOTS);
  readonly buf: Buffer;
  readonly view: DataView;

  constructor(bytes: Uint8Array) {
    // A Buffer view (no copy) decodes UTF-8, hex and base64 natively without a subarray per string.
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

export function tag(r: Reader, end: number, msg: string): number {
  r.tagAt = r.pos;
  const t = varint(r, end, 0, msg);
  if (r.hi !== 0) throw new DecodeError(`invalid protobuf: tag of ${msg} at byte ${r.tagAt} is longer than 32 bits`);
  return t;
}

/** Reads a varint of up to 64 bits: returns its low 32 bits (unsigned) and leaves the high 32 in r.hi. */
export function varint(r: Reader, end: number, field: number, msg: string): number {
  const pos = r.pos;
  if (pos < end) {
    const b = r.buf[pos];
    if (b < 0x80) {
      r.pos = pos + 1;
      r.hi = 0;
      return b;
    }
  }
  return longVarint(r, end, field, msg);
}

function longVarint(r: Reader, end: number, field: number, msg: string): number {
  const buf = r.buf;
  const start = r.pos;
  const last = Math.min(end, start + 10);
  let pos = start;
  let lo = 0;
  let hi = 0;
  // Bytes 1-4 carry bits 0-27, byte 5 bits 28-34, bytes 6-9 bits 35-62, byte 10 bit 63.
  for (let shift = 0; shift < 28 && pos < last; shift += 7) {
    const b = buf[pos++];
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) return varintDone(r, pos, lo, 0);
  }
  if (pos < last) {
    const b = buf[pos++];
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b < 0x80) return varintDone(r, pos, lo, hi);
  }
  for (let shift = 3; shift < 31 && pos < last; shift += 7) {
    const b = buf[pos++];
    hi |= (b & 0x7f) << shift;
    if (b < 0x80) return varintDone(r, pos, lo, hi);
  }
  if (pos < last) {
    const b = buf[pos++];
    if (b <= 1) return varintDone(r, pos, lo, hi | (b << 31));
    throw new DecodeError(`invalid protobuf: varint in ${fieldOf(field, msg)} at byte ${start} is longer than 64 bits`);
  }
  throw new DecodeError(`truncated protobuf: varint in ${fieldOf(field, msg)} at byte ${start} runs past the end`);
}

function varintDone(r: Reader, pos: number, lo: number, hi: number): number {
  r.pos = pos;
  r.hi = hi >>> 0;
  return lo >>> 0;
}

/** Reads a length prefix and returns where the value ends, after checking it lies within `end`. */
export function lenEnd(r: Reader, end: number, field: number, msg: string): number {
  const len = varint(r, end, field, msg);
  const pos = r.pos;
  if (r.hi !== 0 || len > end - pos) {
    const need = r.hi * 0x100000000 + len;
    throw new DecodeError(`truncated protobuf: ${fieldOf(field, msg)} at byte ${pos} needs ${need} bytes, ${end - pos} remain`);
  }
  return pos + len;
}

/** Claims `size` bytes of a fixed-width value and returns where they start. */
export function fixed(r: Reader, end: number, size: number, field: number, msg: string): number {
  const pos = r.pos;
  if (end - pos < size) {
    throw new DecodeError(`truncated protobuf: ${fieldOf(field, msg)} at byte ${pos} needs ${size} bytes, ${end - pos} remain`);
  }
  r.pos = pos + size;
  return pos;
}

export function fixed32(r: Reader, end: number, field: number, msg: string): number {
  return r.view.getUint32(fixed(r, end, 4, field, msg), true);
}

/** A fixed64 nanosecond time as its exact decimal string. */
export function fixed64(r: Reader, end: number, field: number, msg: string): string {
  const pos = fixed(r, end, 8, field, msg);
  const view = r.view;
  const lo = view.getUint32(pos, true);
  const hi = view.getUint32(pos + 4, true);
  if (hi < 0x200000) return String(hi * 0x100000000 + lo); // below 2^53: exact as a double
  // Measured (Node 20): splitting into base-1e9 halves by hand is no faster here than BigInt's toString.
  return view.getBigUint64(pos, true).toString();
}

/** A double (wire type I64), NaN and infinities included. */
export function double(r: Reader, end: number, field: number, msg: string): number {
  return r.view.getFloat64(fixed(r, end, 8, field, msg), true);
}

/** A uint64 varint as its exact decimal string. */
export function uint64(r: Reader, end: number, field: number, msg: string): string {
  const lo = varint(r, end, field, msg);
  const hi = r.hi;
  if (hi < 0x200000) return String(hi * 0x100000000 + lo); // below 2^53: exact as a double
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** A sint32 (zigzag varint); like other parsers, only the low 32 bits of an overlong varint count. */
export function sint32(r: Reader, end: number, field: number, msg: string): number {
  const n = varint(r, end, field, msg);
  return (n >>> 1) ^ -(n & 1);
}

/**
 * A packed repeated scalar: one LEN field holding the values back to back, each read by `read`. Proto3
 * writers pack by default, but a parser must accept either form, so decoders also take one value per tag.
 */
export function packed<T>(
  r: Reader,
  end: number,
  field: number,
  msg: string,
  into: T[],
  read: (r: Reader, end: number, field: number, msg: string) => T,
): void {
  const packedEnd = lenEnd(r, end, field, msg);
  while (r.pos < packedEnd) into.push(read(r, packedEnd, field, msg));
}

export function string(r: Reader, end: number, field: number, msg: string): string {
  const stringEnd = lenEnd(r, end, field, msg);
  const pos = r.pos;
  r.pos = stringEnd;
  return pos === stringEnd ? '' : utf8(r.buf, pos, stringEnd);
}

function utf8(buf: Buffer, start: number, end: number): string {
  // Buffer's UTF-8 decoding replaces invalid bytes with U+FFFD exactly as TextDecoder does (a test checks
  // this) and needs no subarray: with TextDecoder, bench/decode.ts drops from 320k to 230k records/s.
  return withoutNul(buf.toString('utf8', start, end));
}

/**
 * Attribute keys, and often short values, come back in every record of a request. Returning the same
 * string object spares decoding it and, for keys, hashing and internalizing a fresh string on every
 * property store. Measured with bench/decode.ts: +55% records/s for keys, +14% more for values. A
 * direct-mapped cache of ASCII strings up to 64 bytes, checked byte by byte.
 */
export function cachedString(r: Reader, end: number, field: number, msg: string, cache: (string | undefined)[]): string {
  const stringEnd = lenEnd(r, end, field, msg);
  const pos = r.pos;
  r.pos = stringEnd;
  const n = stringEnd - pos;
  if (n === 0) return '';
  const buf = r.buf;
  if (n > 64) return utf8(buf, pos, stringEnd);
  const slot = (n * 7 + buf[pos] * 3 + buf[pos + (n >> 1)] * 5 + buf[stringEnd - 1]) & (CACHE_SLOTS - 1);
  const cached = cache[slot];
  if (cached !== undefined && cached.length === n) {
    let i = 0;
    while (i < n && cached.charCodeAt(i) === buf[pos + i]) i++;
    if (i === n) return cached;
  }
  const decoded = utf8(buf, pos, stringEnd);
  // As many characters as bytes: every byte was ASCII or invalid (U+FFFD, which never equals a byte),
  // so a later match byte for byte means the same ASCII string.
  if (decoded.length === n) cache[slot] = decoded;
  return decoded;
}

/** Id bytes as lowercase hex, of any length (ingest/validate.ts checks it). */
export function hex(r: Reader, end: number, field: number, msg: string): string {
  const hexEnd = lenEnd(r, end, field, msg);
  const pos = r.pos;
  r.pos = hexEnd;
  return pos === hexEnd ? '' : r.buf.toString('hex', pos, hexEnd);
}

export function skipField(r: Reader, end: number, t: number, wires: readonly number[], msg: string): void {
  const field = t >>> 3;
  const wire = t & 7;
  if (field === 0) throw new DecodeError(`invalid protobuf: field number 0 in ${msg} at byte ${r.tagAt}`);
  if (field < wires.length && wires[field] !== NONE && wires[field] !== wire) {
    throw new DecodeError(
      `invalid protobuf: field ${field} of ${msg} at byte ${r.tagAt} has wire type ${wire}, expected ${wires[field]}`,
    );
  }
  skipValue(r, end, field, wire, msg, 0);
}

function skipValue(r: Reader, end: number, field: number, wire: number, msg: string, depth: number): void {
  switch (wire) {
    case VARINT:
      varint(r, end, field, msg);
      return;
    case I64:
      fixed(r, end, 8, field, msg);
      return;
    case LEN:
      r.pos = lenEnd(r, end, field, msg);
      return;
    case I32:
      fixed(r, end, 4, field, msg);
      return;
    case SGROUP:
      skipGroup(r, end, field, msg, depth + 1);
      return;
    case EGROUP:
      throw new DecodeError(`invalid protobuf: end-group of field ${field} in ${msg} at byte ${r.tagAt} closes no group`);
    default:
      throw new DecodeError(`invalid protobuf: field ${field} of ${msg} at byte ${r.tagAt} has invalid wire type ${wire}`);
  }
}

/** Skips an unknown group up to its matching end-group tag. */
function skipGroup(r: Reader, end: number, field: number, msg: string, depth: number): void {
  const start = r.tagAt;
  if (depth > MAX_GROUP_DEPTH) {
    throw new DecodeError(`invalid protobuf: groups in ${msg} at byte ${start} are nested deeper than ${MAX_GROUP_DEPTH} levels`);
  }
  while (r.pos < end) {
    const t = tag(r, end, msg);
    const inner = t >>> 3;
    const wire = t & 7;
    if (wire === EGROUP && inner === field) return;
    if (inner === 0) throw new DecodeError(`invalid protobuf: field number 0 in ${msg} at byte ${r.tagAt}`);
    skipValue(r, end, inner, wire, msg, depth);
  }
  throw new DecodeError(`truncated protobuf: group of field ${field} in ${msg} at byte ${start} has no end-group`);
}

export function fieldOf(field: number, msg: string): string {
  return field === 0 ? `a tag of ${msg}` : `field ${field} of ${msg}`;
}

