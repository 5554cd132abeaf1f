/**
 * Typed reads of parsed JSON, for the JSON ingest formats (OpenLineage events, activity records). Each
 * returns the value or throws a FieldError that names the field by its path from the top of the item
 * (`"run.facets.parent.run.runId"`) and shows what was sent instead, so that a sender sees what to fix.
 * JSON types are taken strictly: a string where a number belongs is a sender's bug worth a 400, not a
 * guess. Absent and null are the same (an omitted field and a null one make the same row).
 */
import { DecodeError } from '../model/records.js';

export type JsonObject = Record<string, unknown>;

/** A refusal naming its field: `field` is the top-level name, a bounded label for the refusal counter. */
export class FieldError extends DecodeError {
  readonly field: string;
  constructor(path: string, problem: string) {
    super(`"${path}" ${problem}`);
    this.field = /^[^.[]*/.exec(path)![0];
  }
}

/** The path of `key` inside the object at path `at` ('' for the top). */
export const pathOf = (at: string, key: string) => (at === '' ? key : `${at}.${key}`);

/** A short description of what was sent, for messages: long strings cut, so that a refusal stays short. */
export function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field's own value: never one inherited from Object.prototype, such as "constructor". */
export function own(parent: JsonObject, key: string): unknown {
  return Object.hasOwn(parent, key) ? parent[key] : undefined;
}

const absent = (value: unknown) => value === undefined || value === null;

/** `parent[key]`, refused when absent. */
function present(parent: JsonObject, key: string, at: string): unknown {
  const value = own(parent, key);
  if (absent(value)) throw new FieldError(pathOf(at, key), 'is required');
  return value;
}

function checkString(value: unknown, path: string, max: number): string {
  if (typeof value !== 'string') throw new FieldError(path, `must be a string, got ${shown(value)}`);
  if (value.length > max) throw new FieldError(path, `must be at most ${max} characters, got ${value.length}`);
  return value;
}

/** A string that must be there and not blank. */
export function requiredString(parent: JsonObject, key: string, at = '', max = Infinity): string {
  const value = checkString(present(parent, key, at), pathOf(at, key), max);
  if (value.trim() === '') throw new FieldError(pathOf(at, key), 'must not be empty');
  return value;
}

export function optionalString(parent: JsonObject, key: string, at = '', max = Infinity): string | undefined {
  const value = own(parent, key);
  return absent(value) ? undefined : checkString(value, pathOf(at, key), max);
}

/** An array of strings, each at most `max` characters. */
export function optionalStrings(parent: JsonObject, key: string, at = '', max = Infinity): string[] | undefined {
  const value = own(parent, key);
  if (absent(value)) return undefined;
  const path = pathOf(at, key);
  if (!Array.isArray(value)) throw new FieldError(path, `must be an array of strings, got ${shown(value)}`);
  value.forEach((item, i) => {
    if (typeof item !== 'string') throw new FieldError(path, `must be an array of strings, got ${shown(item)} at index ${i}`);
    if (item.length > max) throw new FieldError(path, `must hold strings of at most ${max} characters (index ${i})`);
  });
  return value as string[];
}

function checkObject(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw new FieldError(path, `must be a JSON object, got ${shown(value)}`);
  return value;
}

export function requiredObject(parent: JsonObject, key: string, at = ''): JsonObject {
  return checkObject(present(parent, key, at), pathOf(at, key));
}

export function optionalObject(parent: JsonObject, key: string, at = ''): JsonObject | undefined {
  const value = own(parent, key);
  return absent(value) ? undefined : checkObject(value, pathOf(at, key));
}

/** An array of objects; [] when absent. */
export function objectsAt(parent: JsonObject, key: string, at = ''): JsonObject[] {
  const value = own(parent, key);
  if (absent(value)) return [];
  const path = pathOf(at, key);
  if (!Array.isArray(value)) throw new FieldError(path, `must be an array of JSON objects, got ${shown(value)}`);
  return value.map((item, index) => checkObject(item, `${path}[${index}]`));
}

/** A count: a non-negative integer that a JavaScript number holds exactly. */
export function optionalCount(parent: JsonObject, key: string, at = ''): number | undefined {
  const value = own(parent, key);
  if (absent(value)) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new FieldError(pathOf(at, key), `must be a non-negative integer, got ${shown(value)}`);
  }
  return value;
}

/** A number from `min` to `max`; `what` says its unit in the refusal ("a number of seconds"). */
export function optionalNumber(parent: JsonObject, key: string, { min, max, what }: { min: number; max: number; what: string }, at = '') {
  const value = own(parent, key);
  if (absent(value)) return undefined;
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new FieldError(pathOf(at, key), `must be ${what} from ${min} to ${max}, got ${shown(value)}`);
  }
  return value;
}
