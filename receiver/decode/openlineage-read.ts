/**
 * Typed reads of a parsed OpenLineage event: each returns the value or throws a DecodeError that names
 * the field by its path in the event (`run.facets.parent.run.runId`), so that a sender sees what to fix.
 */
import { DecodeError } from '../model/records.js';

export type Json = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

const pathOf = (at: string, key: string) => (at === '' ? key : `${at}.${key}`);

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `parent[key]` as an object; undefined when absent (or null) and not required. */
export function objectAt(parent: Json, key: string, at: string, required: true): Json;
export function objectAt(parent: Json, key: string, at: string, required?: boolean): Json | undefined;
export function objectAt(parent: Json, key: string, at: string, required = false): Json | undefined {
  const value = parent[key];
  if (value === undefined || value === null) {
    if (required) throw new DecodeError(`${pathOf(at, key)} is required`);
    return undefined;
  }
  if (!isObject(value)) throw new DecodeError(`${pathOf(at, key)} must be an object, got ${describe(value)}`);
  return value;
}

/** `parent[key]` as a string; a required one must not be empty. */
export function stringAt(parent: Json, key: string, at: string, required: true): string;
export function stringAt(parent: Json, key: string, at: string, required?: boolean): string | undefined;
export function stringAt(parent: Json, key: string, at: string, required = false): string | undefined {
  const value = parent[key];
  if (value === undefined || value === null) {
    if (required) throw new DecodeError(`${pathOf(at, key)} is required`);
    return undefined;
  }
  if (typeof value !== 'string') throw new DecodeError(`${pathOf(at, key)} must be a string, got ${describe(value)}`);
  if (required && value.trim() === '') throw new DecodeError(`${pathOf(at, key)} must not be empty`);
  return value;
}

/** `parent[key]` as an array of objects; [] when absent. */
export function objectsAt(parent: Json, key: string, at: string): Json[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new DecodeError(`${pathOf(at, key)} must be an array, got ${describe(value)}`);
  value.forEach((item, index) => {
    if (!isObject(item)) throw new DecodeError(`${pathOf(at, key)}[${index}] must be an object, got ${describe(item)}`);
  });
  return value as Json[];
}

/** `parent[key]` as a count (a non-negative integer); undefined when absent. */
export function countAt(parent: Json, key: string, at: string): number | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new DecodeError(`${pathOf(at, key)} must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

// RFC 9562 layout, any version (Airflow sends v7, the Python client's helper v7, older ones v4).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `parent[key]` as a run id: the spec says UUID (format: uuid) and every OpenLineage client sends one,
 * so anything else is a sender's bug worth showing. Lowercased: UUIDs compare case-insensitively
 * (RFC 9562 section 4), and one run must not become two.
 */
export function uuidAt(parent: Json, key: string, at: string): string {
  const value = stringAt(parent, key, at, true);
  if (!UUID.test(value)) throw new DecodeError(`${pathOf(at, key)} must be a UUID (the OpenLineage spec's format for run ids), got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

// RFC 3339 date-time; the offset is optional because Python's isoformat() of a naive datetime has none.
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9})\d*)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/**
 * `parent[key]` as nanoseconds since the epoch (a decimal string, as LogRow times are), keeping the
 * microseconds that Python clients send. A time without an offset is taken as UTC.
 */
export function timeAt(parent: Json, key: string, at: string): string {
  const value = stringAt(parent, key, at, true);
  const match = DATE_TIME.exec(value.trim());
  const offset = match?.[4] === undefined || /^z$/i.test(match[4]) ? 'Z' : match[4].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = match ? Date.parse(`${match[1]}T${match[2]}${offset}`) : NaN;
  if (!match || !Number.isFinite(ms) || ms < 0) {
    throw new DecodeError(`${pathOf(at, key)} must be an RFC 3339 date-time such as 2024-05-01T12:00:00.000Z, got ${JSON.stringify(value)}`);
  }
  const fraction = BigInt((match[3] ?? '').padEnd(9, '0'));
  return (BigInt(ms) * 1_000_000n + fraction).toString();
}

/**
 * The path of the first string (value or key) holding a NUL character, or null. PostgreSQL text and
 * jsonb cannot store U+0000, so such an event is refused whole rather than stored altered.
 */
export function nulPath(value: unknown, at = ''): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? at || '(the event)' : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${at}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (!isObject(value)) return null;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return `${pathOf(at, JSON.stringify(key))} (its name)`;
    const found = nulPath(item, pathOf(at, key));
    if (found !== null) return found;
  }
  return null;
}
