/**
 * Metric points as stored (storage/metric-csv.ts writes them) and as the API shows them: exactly, an
 * integer beyond 2^53 as its decimal string and a double JSON cannot hold as "NaN" or "±Infinity".
 */
import type { MetricKind } from '../model/records.js';
import { jsonDouble } from '../storage/metric-csv.js';
import type { MetricPoint } from './api-types.js';
import { isoOfNanos } from './metric-series.js';

interface StoredBuckets {
  offset: number;
  bucket_counts: string[];
}

export interface StoredExponential {
  scale: number;
  zero_count: string;
  zero_threshold: number | string;
  positive: StoredBuckets;
  negative: StoredBuckets;
}

/** A point's columns as read: 64-bit integers as decimal strings, JSON columns parsed. */
export interface PointRow {
  time_unix_nano: string;
  start_time_unix_nano: string | null;
  flags: number | null;
  value: number | null;
  int_value: string | null;
  count: string | null;
  min: number | null;
  max: number | null;
  bucket_counts: string[] | null;
  exponential: StoredExponential | null;
  quantile_values: [number | string, number | string][] | null;
  exemplars: MetricPoint['exemplars'] | null;
}

export const pointColumns = (p: string) => `${p}.time_unix_nano::text AS time_unix_nano, ${p}.start_time_unix_nano::text AS start_time_unix_nano,
  ${p}.flags, ${p}.value, ${p}.int_value::text AS int_value, ${p}.count::text AS count, ${p}.min, ${p}.max,
  ${p}.bucket_counts::text[] AS bucket_counts, ${p}.exponential, ${p}.quantile_values, ${p}.exemplars`;

/** DataPointFlags bit 0: the point holds no value (a staleness marker); it counts for nothing. */
export const hasValue = (row: PointRow) => ((row.flags ?? 0) & 1) === 0;

/** An integer as JSON holds it exactly: a number up to 2^53, else its decimal string. */
export function exactInteger(decimal: string | bigint): number | string {
  const n = Number(decimal);
  return Number.isSafeInteger(n) ? n : String(decimal);
}

const doubleOrNull = (d: number | null) => (d === null ? null : jsonDouble(d));

/** A double stored in JSON by jsonDouble, back as a number. */
export const parseDouble = (d: number | string) => Number(d);

const isNumberKind = (kind: MetricKind) => kind === 'gauge' || kind === 'sum';

function exponentialOf(e: StoredExponential): NonNullable<MetricPoint['exponential']> {
  const buckets = (b: StoredBuckets) => ({ offset: b.offset, bucket_counts: b.bucket_counts.map(exactInteger) });
  return { scale: e.scale, zero_count: exactInteger(e.zero_count), zero_threshold: e.zero_threshold, positive: buckets(e.positive), negative: buckets(e.negative) };
}

/** The point as sent (as=value). */
export function valuePoint(row: PointRow, kind: MetricKind): MetricPoint {
  const number = isNumberKind(kind);
  return {
    time: isoOfNanos(row.time_unix_nano),
    time_unix_nano: row.time_unix_nano,
    start_time_unix_nano: row.start_time_unix_nano,
    flags: row.flags ?? 0,
    value: !number ? null : row.int_value !== null ? exactInteger(row.int_value) : doubleOrNull(row.value),
    count: number || row.count === null ? null : exactInteger(row.count),
    sum: number ? null : doubleOrNull(row.value),
    min: doubleOrNull(row.min),
    max: doubleOrNull(row.max),
    bucket_counts: row.bucket_counts?.map(exactInteger) ?? null,
    exponential: row.exponential && exponentialOf(row.exponential),
    quantile_values: row.quantile_values?.map(([quantile, value]) => ({ quantile, value })) ?? null,
    exemplars: row.exemplars ?? [],
  };
}
