/**
 * Times in JSON, as Python clients write them (the OpenLineage client, notebook and workflow loggers):
 * RFC 3339 / ISO 8601 by isoformat() (T, microseconds, an offset or none), by str() (a space), or with
 * "Z". A time without an offset is UTC, as PostgreSQL's timestamptz reads it on a UTC server.
 */
import { FieldError, own, pathOf, shown, type JsonObject } from './json-fields.js';

// Digits past nanoseconds are dropped; the offset's minutes may go without a colon, or be left out.
const TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9})\d*)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
export const TIME_EXAMPLE = 'an ISO 8601 time such as "2025-12-05T10:30:00Z"';

/** `parent[key]` as Unix nanoseconds (a decimal string, as LogRow keeps times), to the nanosecond sent. */
export function requiredTime(parent: JsonObject, key: string, at = ''): string {
  const path = pathOf(at, key);
  const value = own(parent, key);
  if (value === undefined || value === null) throw new FieldError(path, `is required (${TIME_EXAMPLE})`);
  const match = typeof value === 'string' ? TIME.exec(value.trim()) : null;
  if (match === null) throw new FieldError(path, `must be ${TIME_EXAMPLE}, got ${shown(value)}`);
  const [, y, mo, d, h, mi, s, fraction = '', , sign, oh = '0', om = '0'] = match;
  const fields = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5]);
  const date = new Date(ms);
  const real = date.getUTCFullYear() === fields[0] && date.getUTCMonth() === fields[1] - 1 && date.getUTCDate() === fields[2] &&
    date.getUTCHours() === fields[3] && date.getUTCMinutes() === fields[4] && date.getUTCSeconds() === fields[5];
  if (!real || Number(oh) > 23 || Number(om) > 59) throw new FieldError(path, `is not a real time: ${shown(value)}`);
  const offsetMs = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000 : 0;
  const seconds = (ms - offsetMs) / 1000;
  if (seconds < 0) throw new FieldError(path, `must be after 1970-01-01, got ${shown(value)}`);
  return (BigInt(seconds) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0'))).toString();
}
