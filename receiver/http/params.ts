/**
 * Query and path parameters: each route declares its parameters once, as `Param`s, and that one
 * declaration both parses requests (unknown, repeated or malformed parameters are a 400 that says what
 * is wanted) and describes them in the OpenAPI document (openapi.ts).
 */
import { Refusal } from '../model/outcome.js';

export type JsonSchema = Record<string, unknown>;

export interface Param<T> {
  description: string;
  schema: JsonSchema;
  /** The value of `raw`, or a Refusal naming the parameter and what it takes. */
  parse(raw: string, name: string): T;
}

export type Params = Record<string, Param<unknown>>;
export type Parsed<P extends Params> = { [K in keyof P]?: P[K] extends Param<infer T> ? T : never };

export const refuse = (message: string): never => {
  throw new Refusal('invalid', message);
};

/** A stored value of one of these columns is never longer; a longer one can match nothing. */
const MAX_TEXT = 1000;

export const text = (description: string, maxLength = MAX_TEXT): Param<string> => ({
  description,
  schema: { type: 'string', maxLength },
  parse: (raw, name) => (raw.length <= maxLength ? raw : refuse(`"${name}" is longer than ${maxLength} characters`)),
});

export const oneOf = <T extends string>(values: readonly T[], description: string): Param<T> => ({
  description,
  schema: { type: 'string', enum: [...values] },
  parse: (raw, name) => ((values as readonly string[]).includes(raw) ? (raw as T) : refuse(`unknown ${name} "${raw}": use one of ${values.join(', ')}`)),
});

export const integer = (min: number, max: number, description: string): Param<number> => ({
  description,
  schema: { type: 'integer', minimum: min, maximum: max },
  parse: (raw, name) => {
    const n = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
    return n >= min && n <= max ? n : refuse(`"${name}" must be an integer from ${min} to ${max}, got "${raw}"`);
  },
});

// Years 1970-9999, as records are stored: a time beyond them can only be a typo.
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

export const time = (description: string): Param<Date> => ({
  description: `${description} RFC 3339 (2024-06-01T00:00:00Z), or Unix milliseconds as Grafana's \${__from} gives them.`,
  schema: { type: 'string', pattern: '^(\\d{1,14}|\\d{4}-\\d{2}-\\d{2}T.+)$' },
  parse: (raw, name) => {
    const date = /^\d{1,14}$/.test(raw) ? new Date(Number(raw)) : RFC3339.test(raw) ? new Date(raw) : new Date(NaN);
    const ms = date.getTime();
    return ms >= 0 && ms <= MAX_TIME_MS ? date : refuse(`"${name}" must be an RFC 3339 time or Unix milliseconds (years 1970-9999), got "${raw}"`);
  },
});

export const MAX_LIMIT = 1000;
export const limit: Param<number> = integer(1, MAX_LIMIT, `Items per page (default 100, at most ${MAX_LIMIT}).`);
export const cursor: Param<string> = {
  description: 'The next_cursor of the previous page, unchanged (with the same filters and sort).',
  schema: { type: 'string', maxLength: 2000 },
  parse: (raw, name) => (raw.length <= 2000 ? raw : refuse(`"${name}" is not a cursor: pass the next_cursor of a previous page unchanged`)),
};

export const FORMATS = ['json', 'csv'] as const;
export type Format = (typeof FORMATS)[number];
export const format = oneOf(FORMATS, 'json (the default) or csv, the same as Accept: text/csv.');

const SEVERITY_NAMES: Record<string, number> = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, WARNING: 13, ERROR: 17, FATAL: 21 };
export const severity: Param<number> = {
  description: 'The lowest severity_number shown: 1-24, or TRACE, DEBUG, INFO, WARN, ERROR, FATAL.',
  schema: { type: 'string', pattern: '^([0-9]{1,2}|[A-Za-z]+)$' },
  parse: (raw, name) => {
    const n = /^\d{1,2}$/.test(raw) ? Number(raw) : SEVERITY_NAMES[raw.toUpperCase()];
    return n !== undefined && n >= 1 && n <= 24 ? n : refuse(`"${name}" must be 1-24 or one of ${Object.keys(SEVERITY_NAMES).join(', ')}, got "${raw}"`);
  },
};

export const traceId: Param<string> = {
  description: 'A trace id: 32 hex characters.',
  schema: { type: 'string', pattern: '^[0-9a-fA-F]{32}$' },
  parse: (raw) => (/^[0-9a-f]{32}$/i.test(raw) ? raw.toLowerCase() : refuse(`trace id must be 32 hex characters, got "${raw}"`)),
};

/** A fraction above 0 and at most 1, such as a quantile: 0.5, 0.99, 1. */
export const fraction = (description: string): Param<number> => ({
  description,
  schema: { type: 'string', pattern: '^(0|1)?(\\.[0-9]{1,15})?$' },
  parse: (raw, name) => {
    const n = /^(0|1)?(\.\d{1,15})?$/.test(raw) ? Number(raw) : NaN;
    return n > 0 && n <= 1 ? n : refuse(`"${name}" must be a number above 0 and at most 1 (0.5, 0.99), got "${raw}"`);
  },
});

function refuseNul(name: string, value: string): void {
  // PostgreSQL text cannot hold a NUL byte: one is refused before any SQL.
  if (value.includes('\u0000')) refuse(`"${name}" contains a NUL byte (%00), which no stored value holds: remove it`);
}

/**
 * The declared parameters of `given` (a request's query or path parameters), parsed; an empty value is
 * the same as none. Anything undeclared is refused rather than ignored, so a typo (`pipline=`) cannot
 * quietly widen an answer.
 */
export function parseParams<P extends Params>(given: Record<string, unknown>, declared: P): Parsed<P> {
  const parsed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(given)) {
    const param = Object.hasOwn(declared, name) ? declared[name] : undefined;
    if (param === undefined) {
      const known = Object.keys(declared);
      refuse(`unknown parameter "${name}"${known.length > 0 ? `: this route takes ${known.join(', ')}` : ': this route takes none'}`);
    }
    if (typeof value !== 'string') refuse(`parameter "${name}" must be given once, as a plain value`);
    refuseNul(name, value as string);
    if (value !== '') parsed[name] = param!.parse(value as string, name);
  }
  return parsed as Parsed<P>;
}
