/**
 * Checks of a whole JSON item before its fields are read, and its canonical form for storage.
 */
import { DecodeError, type Attributes } from '../model/records.js';
import { FieldError, isObject, pathOf, type JsonObject } from './json-fields.js';
import { MAX_VALUE_DEPTH, setAttribute } from './otlp-values.js';

const NUL = 'a NUL byte (\\u0000), which PostgreSQL text cannot store: remove it';

/**
 * Refuses an item that cannot be stored as sent: a NUL byte in any string or key (PostgreSQL text and
 * jsonb cannot hold U+0000, and stripping it would change what was sent), nesting deeper than
 * MAX_VALUE_DEPTH (as OTLP values), or more than `maxBytes` of JSON. `item` names it in messages.
 */
export function checkStorable(value: JsonObject, item: string, maxBytes = Infinity): void {
  for (const [key, field] of Object.entries(value)) {
    if (key.includes('\u0000')) throw new DecodeError(`${item} has a field name with ${NUL}`);
    walk(field, key, 1);
  }
  const bytes = Number.isFinite(maxBytes) ? Buffer.byteLength(JSON.stringify(value)) : 0;
  if (bytes > maxBytes) throw new DecodeError(`${item} is ${bytes} bytes of JSON, over the limit of ${maxBytes}: move large payloads elsewhere`);
}

function walk(value: unknown, path: string, depth: number): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw new FieldError(path, `contains ${NUL}`);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth > MAX_VALUE_DEPTH) throw new FieldError(path, `nests deeper than ${MAX_VALUE_DEPTH} levels: flatten it`);
  if (Array.isArray(value)) return value.forEach((item, i) => walk(item, `${path}[${i}]`, depth + 1));
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) throw new FieldError(path, `has a key with ${NUL}`);
    walk(item, pathOf(path, key), depth + 1);
  }
}

/**
 * A JSON value with its object keys sorted: rows are fingerprinted by their content, so the same item
 * resent with its keys in another order is still stored once.
 */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isObject(value)) return value;
  const sorted: Attributes = {};
  for (const key of Object.keys(value).sort()) setAttribute(sorted, key, canonical(value[key]));
  return sorted;
}
