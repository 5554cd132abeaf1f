/**
 * Step 2 of the line: per-record checks after decoding. A record that fails is left out and counted; the rest of the
 * request is stored and the client gets an OTLP partial success (which it must not retry), so one bad
 * record never costs a batch.
 */
import { ATTR } from '../../contract/vocabulary.js';
import { logTimeNanos, nanosToMs, type Attributes, type LogRow, type MetricPointRow, type Resource, type SpanRow } from '../model/records.js';
import { column } from '../storage/rows-csv.js';

export interface Validated<R> {
  valid: R[];
  rejected: number;
  /** Empty when nothing was rejected; otherwise counts per reason, for partial_success.error_message. */
  message: string;
  /** Rejected record counts by reason, for metrics. */
  reasons: Map<string, number>;
  /** Why each rejected record was, by its index in the decoded records: for answers per record. */
  problems: Map<number, string>;
}

export interface TimeWindow {
  /** Oldest accepted record time (ms): older ones would land in an already-dropped partition. */
  oldestMs: number;
  /** Newest accepted record time (ms): far-future times would create partitions nobody drops. */
  newestMs: number;
}

const HEX_TRACE_ID = /^[0-9a-f]{32}$/;
const HEX_SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_ID = /^0+$/;

// Problems are short, fixed phrases: they are also metric label values.
const INVALID_TRACE_ID = 'invalid trace_id (must be 16 non-zero bytes)';
const validTraceId = (id: string) => HEX_TRACE_ID.test(id) && !ZERO_ID.test(id);

const INT64_MAX = '9223372036854775807';

/** Nanosecond times are stored as bigint: a uint64 past int64 cannot be. */
function beyondInt64(nanos: string): boolean {
  return nanos.length > INT64_MAX.length || (nanos.length === INT64_MAX.length && nanos > INT64_MAX);
}

function timeProblem(nanos: string, window: TimeWindow): string | null {
  if (nanos === '0') return 'no timestamp (time_unix_nano and observed_time_unix_nano are 0)';
  const ms = nanosToMs(nanos);
  if (ms < window.oldestMs) return 'timestamp older than the retention window';
  if (ms > window.newestMs) return 'timestamp too far in the future';
  return null;
}

const NUL_PROBLEM = 'a NUL byte (\\u0000) in a string, which PostgreSQL text cannot hold';

/** True when a string anywhere in `value` (keys included) holds a NUL byte. */
function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(holdsNul);
  return Object.entries(value).some(([key, v]) => key.includes('\u0000') || holdsNul(v));
}

/** Resources and scopes are shared by the records of a request: each is looked at once. */
const sharedNul = new WeakMap<object, boolean>();
function sharedHoldsNul(shared: object): boolean {
  let found = sharedNul.get(shared);
  if (found === undefined) sharedNul.set(shared, (found = holdsNul(shared)));
  return found;
}

/**
 * The names that key indexes (pipeline, run and stage ids: log_records, pipeline_runs, pipeline_stages): a
 * btree entry holds at most about 2,700 bytes, and a longer one would fail the record's whole request.
 */
const KEY_NAMES = [ATTR.pipelineName, ATTR.runId, ATTR.stageName, ATTR.stageRunId];
const MAX_KEY_BYTES = 1024;
const LONG_KEY_PROBLEM = `a pipeline, run or stage name over ${MAX_KEY_BYTES} bytes`;

/** Measured as stored (storage/rows-csv.ts column()): a value of another type goes into its column as its text. */
function keyTooLong(attributes: Attributes, resource: Resource): boolean {
  return KEY_NAMES.some((name) => {
    const value = column(attributes, resource, name);
    return value !== null && value.length > MAX_KEY_BYTES / 4 && Buffer.byteLength(value) > MAX_KEY_BYTES;
  });
}

function logHoldsNul(row: LogRow): boolean {
  return (
    holdsNul(row.body) || holdsNul(row.severityText) || holdsNul(row.eventName) || holdsNul(row.attributes) ||
    sharedHoldsNul(row.resource) || sharedHoldsNul(row.scope)
  );
}

function spanHoldsNul(row: SpanRow): boolean {
  return (
    holdsNul(row.name) || holdsNul(row.traceState) || holdsNul(row.statusMessage) || holdsNul(row.attributes) ||
    holdsNul(row.events) || holdsNul(row.links) || sharedHoldsNul(row.resource) || sharedHoldsNul(row.scope)
  );
}

function logProblem(row: LogRow, window: TimeWindow): string | null {
  if (row.traceId !== '' || row.spanId !== '') {
    // A log may carry a trace id without a span id (spec: span_id is optional).
    if (!validTraceId(row.traceId)) return INVALID_TRACE_ID;
    if (row.spanId !== '' && !HEX_SPAN_ID.test(row.spanId)) return 'invalid span_id (must be 8 bytes)';
  }
  if (row.severityNumber < 0 || row.severityNumber > 24) return 'severity_number out of range 0-24';
  if (beyondInt64(row.timeUnixNano) || beyondInt64(row.observedTimeUnixNano)) return 'timestamp beyond the int64 range';
  if (logHoldsNul(row)) return NUL_PROBLEM;
  if (keyTooLong(row.attributes, row.resource)) return LONG_KEY_PROBLEM;
  return timeProblem(logTimeNanos(row), window);
}

function spanProblem(row: SpanRow, window: TimeWindow): string | null {
  if (!validTraceId(row.traceId)) return INVALID_TRACE_ID;
  if (!HEX_SPAN_ID.test(row.spanId) || ZERO_ID.test(row.spanId)) return 'invalid span_id (must be 8 non-zero bytes)';
  if (row.parentSpanId !== '' && !HEX_SPAN_ID.test(row.parentSpanId)) return 'invalid parent_span_id (must be 8 bytes)';
  if (row.kind < 0 || row.kind > 5) return 'kind out of range 0-5';
  if (row.statusCode < 0 || row.statusCode > 2) return 'status code out of range 0-2';
  if (beyondInt64(row.startTimeUnixNano) || beyondInt64(row.endTimeUnixNano)) return 'timestamp beyond the int64 range';
  if (row.endTimeUnixNano !== '0' && BigInt(row.endTimeUnixNano) < BigInt(row.startTimeUnixNano)) {
    return 'end_time_unix_nano before start_time_unix_nano';
  }
  if (spanHoldsNul(row)) return NUL_PROBLEM;
  if (keyTooLong(row.attributes, row.resource)) return LONG_KEY_PROBLEM;
  return timeProblem(row.startTimeUnixNano, window);
}

function pointHoldsNul(row: MetricPointRow): boolean {
  return (
    holdsNul(row.attributes) || holdsNul(row.exemplars) || sharedHoldsNul(row.metric) || sharedHoldsNul(row.resource) ||
    sharedHoldsNul(row.scope)
  );
}

/** The bounds a histogram's counts fall between: finite and increasing, one count more than bounds (or none). */
function histogramProblem(row: MetricPointRow): string | null {
  const bounds = row.explicitBounds;
  if (!bounds.every((b, i) => Number.isFinite(b) && (i === 0 || b > bounds[i - 1]!))) {
    return 'histogram explicit_bounds not finite and increasing';
  }
  if (row.bucketCounts.length !== 0 && row.bucketCounts.length !== bounds.length + 1) {
    return 'histogram bucket_counts not one more than explicit_bounds';
  }
  return null;
}

/** The uint64 counts of a point, stored as bigint. */
function counts(row: MetricPointRow): string[] {
  const { exponential: e } = row;
  return [row.count, ...row.bucketCounts, ...(e ? [e.zeroCount, ...e.positive.bucketCounts, ...e.negative.bucketCounts] : [])];
}

const validExemplarIds = (row: MetricPointRow) =>
  row.exemplars.every((e) => (e.traceId === '' || validTraceId(e.traceId)) && (e.spanId === '' || HEX_SPAN_ID.test(e.spanId)));

function pointProblem(row: MetricPointRow, window: TimeWindow): string | null {
  if (row.metric.name === '') return 'a metric without a name';
  if (Buffer.byteLength(row.metric.name) > MAX_KEY_BYTES) return `a metric name over ${MAX_KEY_BYTES} bytes`;
  if (beyondInt64(row.timeUnixNano) || beyondInt64(row.startTimeUnixNano)) return 'timestamp beyond the int64 range';
  if (row.timeUnixNano === '0') return 'no timestamp (time_unix_nano is 0)';
  if (BigInt(row.startTimeUnixNano) > BigInt(row.timeUnixNano)) return 'start_time_unix_nano after time_unix_nano';
  if (counts(row).some(beyondInt64)) return 'a count beyond the int64 range';
  if (row.metric.kind === 'histogram') {
    const problem = histogramProblem(row);
    if (problem !== null) return problem;
  }
  if (row.quantileValues.some((q) => !(q.quantile >= 0 && q.quantile <= 1))) return 'summary quantile out of range 0-1';
  if (!validExemplarIds(row)) return 'invalid exemplar trace_id or span_id';
  if (pointHoldsNul(row)) return NUL_PROBLEM;
  if (keyTooLong(row.attributes, row.resource)) return LONG_KEY_PROBLEM;
  return timeProblem(row.timeUnixNano, window);
}

function validate<R>(rows: R[], problem: (row: R) => string | null, noun: string): Validated<R> {
  const valid: R[] = [];
  const reasons = new Map<string, number>();
  const problems = new Map<number, string>();
  rows.forEach((row, index) => {
    const reason = problem(row);
    if (reason === null) return void valid.push(row);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    problems.set(index, reason);
  });
  const rejected = rows.length - valid.length;
  const message =
    rejected === 0
      ? ''
      : `${rejected} ${noun} rejected: ` + [...reasons].map(([reason, n]) => `${n} with ${reason}`).join('; ');
  return { valid, rejected, message, reasons, problems };
}

export function validateLogs(rows: LogRow[], window: TimeWindow): Validated<LogRow> {
  return validate(rows, (row) => logProblem(row, window), 'log records');
}

export function validateSpans(rows: SpanRow[], window: TimeWindow): Validated<SpanRow> {
  return validate(rows, (row) => spanProblem(row, window), 'spans');
}

export function validatePoints(rows: MetricPointRow[], window: TimeWindow): Validated<MetricPointRow> {
  return validate(rows, (row) => pointProblem(row, window), 'data points');
}

/** The accepted window for record times given the retention: from the oldest kept day to a week ahead. */
export function timeWindow(retentionDays: number, nowMs = Date.now()): TimeWindow {
  const day = 86_400_000;
  return { oldestMs: Math.floor(nowMs / day) * day - (retentionDays - 1) * day, newestMs: nowMs + 7 * day };
}
