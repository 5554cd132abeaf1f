/**
 * The fields of activity records (decode/activity.ts) and their limits, read with json-fields.ts: each
 * refusal names the field and the problem, as the loggers' own services did (the workflow loggers'
 * central API validated each field with Pydantic).
 */
import { FieldError, optionalNumber, optionalObject, optionalString, optionalStrings, own, requiredString, type JsonObject } from './json-fields.js';
import { requiredTime, TIME_EXAMPLE } from './json-time.js';
import { canonical } from './json-values.js';

/** Names become run ids, pipeline and stage labels: kept short enough for both. */
export const NAME_MAX_CHARS = 256;
/** Any other top-level string (a table name, an id). */
export const TEXT_MAX_CHARS = 4096;
/** One record, as JSON: a workflow record's `payload` carries its trace, but a record is not a file upload. */
export const RECORD_MAX_BYTES = 1024 * 1024;
/** No pipeline runs for more than a year (derive.ts ignores longer ones): beyond it, a unit mistake. */
const SECONDS = { min: 0, max: 366 * 86_400, what: 'a number of seconds' };

export const requiredName = (record: JsonObject, name: string): string => requiredString(record, name, '', NAME_MAX_CHARS);
export const optionalName = (record: JsonObject, name: string) => optionalString(record, name, '', NAME_MAX_CHARS);
export const optionalText = (record: JsonObject, name: string) => optionalString(record, name, '', TEXT_MAX_CHARS);
export const optionalNames = (record: JsonObject, name: string) => optionalStrings(record, name, '', NAME_MAX_CHARS);
export const optionalSeconds = (record: JsonObject, name: string) => optionalNumber(record, name, SECONDS);

/** A free-form object, keys sorted: the same record resent in another key order makes the same row. */
export const optionalJson = (record: JsonObject, name: string) => {
  const value = optionalObject(record, name);
  return value === undefined ? undefined : canonical(value);
};

/** The record's time: required, for the reason decode/activity.ts gives, which the refusal tells too. */
export function recordTime(record: JsonObject, name: string): string {
  const value = own(record, name);
  if (value === undefined || value === null) {
    throw new FieldError(name, `is required (${TIME_EXAMPLE}): it is the record's own time, which makes a resent record the same record`);
  }
  return requiredTime(record, name);
}
