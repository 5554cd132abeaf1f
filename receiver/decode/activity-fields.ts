/**
 * Typed readers for the fields of an activity record (decode/activity.ts). Each names the field and the
 * problem when it refuses, as the designs' validators do ("Type-Safe - validated", Pydantic in 002),
 * and is strict about JSON types: a notebook's float is a JSON number, so a string in its place is a bug
 * worth a 400 rather than a guess.
 */
import { DecodeError, type Attributes } from '../model/records.js';
import { MAX_VALUE_DEPTH, setAttribute } from './otlp-values.js';

/** Names become run ids, pipeline and stage labels: kept short enough for both. */
export const NAME_MAX_CHARS = 256;
/** Any other top-level string (a table name, an id). */
export const TEXT_MAX_CHARS = 4096;
/** One record, as JSON: the designs' `payload` carries traces, but a record is not a file upload. */
export const RECORD_MAX_BYTES = 1024 * 1024;

export type JsonObject = Record<string, unknown>;

/** A refused record, with the top-level field at fault (for the refusal counter's bounded reason). */
export class ActivityFieldError extends DecodeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The refusal of field `name` for `problem`: `"row_count" must be a non-negative integer, got ...`. */
export function refuse(name: string, problem: string): ActivityFieldError {
  return new ActivityFieldError(name, `"${name}" ${problem}`);
}

/** A short description of what was sent instead, for messages. */
export function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** A field's own value (never one inherited from Object.prototype, such as "constructor"). */
export function own(record: JsonObject, name: string): unknown {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

const absent = (value: unknown) => value === undefined || value === null;

function text(record: JsonObject, name: string, max: number, required: boolean): string | null {
  const value = own(record, name);
  if (absent(value)) {
    if (required) throw refuse(name, 'is required');
    return null;
  }
  if (typeof value !== 'string') throw refuse(name, `must be a string, got ${shown(value)}`);
  if (required && value.trim() === '') throw refuse(name, 'must not be empty');
  if (value.length > max) throw refuse(name, `must be at most ${max} characters, got ${value.length}`);
  return value;
}

export const requiredName = (record: JsonObject, name: string): string => text(record, name, NAME_MAX_CHARS, true)!;
export const optionalName = (record: JsonObject, name: string): string | null => text(record, name, NAME_MAX_CHARS, false);
export const optionalText = (record: JsonObject, name: string): string | null => text(record, name, TEXT_MAX_CHARS, false);

/** No pipeline runs for more than a year (derive.ts ignores longer ones): beyond it, a unit mistake. */
const MAX_SECONDS = 366 * 86_400;

export function optionalSeconds(record: JsonObject, name: string): number | null {
  const value = own(record, name);
  if (absent(value)) return null;
  if (typeof value !== 'number' || !(value >= 0 && value <= MAX_SECONDS)) {
    throw refuse(name, `must be a number of seconds from 0 to ${MAX_SECONDS}, got ${shown(value)}`);
  }
  return value;
}

export function optionalCount(record: JsonObject, name: string): number | null {
  const value = own(record, name);
  if (absent(value)) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw refuse(name, `must be a non-negative integer, got ${shown(value)}`);
  }
  return value;
}

export function optionalObject(record: JsonObject, name: string): JsonObject | null {
  const value = own(record, name);
  if (absent(value)) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw refuse(name, `must be a JSON object, got ${shown(value)}`);
  return canonical(value) as JsonObject;
}

export function optionalNames(record: JsonObject, name: string): string[] | null {
  const value = own(record, name);
  if (absent(value)) return null;
  if (!Array.isArray(value)) throw refuse(name, `must be an array of strings, got ${shown(value)}`);
  value.forEach((item, i) => {
    if (typeof item !== 'string') throw refuse(name, `must be an array of strings, got ${shown(item)} at index ${i}`);
    if (item.length > NAME_MAX_CHARS) throw refuse(name, `must hold strings of at most ${NAME_MAX_CHARS} characters (index ${i})`);
  });
  return value as string[];
}

// ISO 8601 / RFC 3339 as Python writes it: isoformat() (T, microseconds, offset or none), str() (a
// space), or "Z". A time without an offset is UTC, as PostgreSQL's timestamptz reads it on a UTC server.
const TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
const TIME_EXAMPLE = 'an ISO 8601 time such as "2025-12-05T10:30:00Z"';

/** A required time field as Unix nanoseconds (a decimal string, as LogRow keeps times). */
export function requiredTime(record: JsonObject, name: string): string {
  const value = own(record, name);
  if (absent(value)) {
    throw refuse(name, `is required (${TIME_EXAMPLE}): it is the record's own time, which makes a resent record the same record`);
  }
  const match = typeof value === 'string' ? TIME.exec(value) : null;
  if (match === null) throw refuse(name, `must be ${TIME_EXAMPLE}, got ${shown(value)}`);
  const [, y, mo, d, h, mi, s, fraction = '', , sign, oh = '0', om = '0'] = match;
  const fields = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5]);
  const date = new Date(ms);
  const real = date.getUTCFullYear() === fields[0] && date.getUTCMonth() === fields[1] - 1 && date.getUTCDate() === fields[2] &&
    date.getUTCHours() === fields[3] && date.getUTCMinutes() === fields[4] && date.getUTCSeconds() === fields[5];
  if (!real || Number(oh) > 23 || Number(om) > 59) throw refuse(name, `is not a real time: ${shown(value)}`);
  const offsetMs = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000 : 0;
  const seconds = (ms - offsetMs) / 1000;
  if (seconds < 0) throw refuse(name, `must be after 1970-01-01, got ${shown(value)}`);
  return (BigInt(seconds) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0'))).toString();
}

const NUL = 'a NUL byte (\\u0000), which PostgreSQL text cannot store: remove it';

/**
 * Checks every value of a record once, before the fields are read: NUL bytes (PostgreSQL text and jsonb
 * cannot hold U+0000, and stripping would change what was sent), nesting, and the record's size.
 */
export function checkValues(record: JsonObject): void {
  for (const [name, value] of Object.entries(record)) {
    if (name.includes('\u0000')) throw new ActivityFieldError('(record)', `the record has a field name with ${NUL}`);
    walk(value, name, name, 1);
  }
  const bytes = Buffer.byteLength(JSON.stringify(record));
  if (bytes > RECORD_MAX_BYTES) {
    const problem = `the record is ${bytes} bytes of JSON, over the limit of ${RECORD_MAX_BYTES}: move large payloads elsewhere`;
    throw new ActivityFieldError('(record)', problem);
  }
}

function walk(value: unknown, field: string, path: string, depth: number): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) {
      throw new ActivityFieldError(field, `"${path}" contains ${NUL}`);
    }
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth > MAX_VALUE_DEPTH) throw new ActivityFieldError(field, `"${path}" nests deeper than ${MAX_VALUE_DEPTH} levels: flatten it`);
  if (Array.isArray(value)) return value.forEach((item, i) => walk(item, field, `${path}[${i}]`, depth + 1));
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) throw new ActivityFieldError(field, `"${path}" has a key with ${NUL}`);
    walk(item, field, `${path}.${key}`, depth + 1);
  }
}

/**
 * A JSON value with its object keys sorted: rows are fingerprinted by their attributes' JSON, so the same
 * record resent with its keys in another order is still stored once.
 */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Attributes = {};
  for (const key of Object.keys(value).sort()) setAttribute(sorted, key, canonical((value as JsonObject)[key]));
  return sorted;
}
