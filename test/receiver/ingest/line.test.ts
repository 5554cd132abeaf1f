/**
 * The ingest line's steps alone (receiver/ingest/): validate's per-record problems, the line's answer
 * and its counting when the commit fails, and outcome.ts's one mapping of failures to statuses. The
 * end-to-end suites (receiver, grpc, activity, openlineage) drive the same line through real servers;
 * here a writer that fails on purpose stands in for the database, to reach failures no real database
 * produces on demand (a bug in pipemon).
 */
import { describe, expect, it, vi } from 'vitest';
import type { Writer } from '../../../receiver/ingest/commit.js';
import { createIngestLine, type Decoded, type IngestLine } from '../../../receiver/ingest/line.js';
import { timeWindow, validateLogs, validateSpans } from '../../../receiver/ingest/validate.js';
import { createMetrics, type Metrics } from '../../../receiver/metrics/metrics.js';
import { GRPC_CODE, GRPC_STATUS, HTTP_STATUS, RETRY_AFTER_SECONDS, Refusal, refusalOf, type RefusalKind } from '../../../receiver/model/outcome.js';
import { DecodeError } from '../../../receiver/model/records.js';
import { rejection } from '../../helpers/async.js';
import { logRow as log, nanos, rowResource, ROW_TIME_MS, spanRow as span } from '../../helpers/rows.js';

const NOW_MS = ROW_TIME_MS;

describe('validate', () => {
  const window = timeWindow(30, NOW_MS);

  it('names the problem of each left-out record by its index, and counts reasons', () => {
    const checked = validateLogs(
      [log(), log({ traceId: 'abc', spanId: '' }), log({ timeUnixNano: '0' }), log({ timeUnixNano: nanos(NOW_MS - 40 * 86_400_000) }), log()],
      window,
    );
    expect(checked.valid).toHaveLength(2);
    expect([...checked.problems]).toEqual([
      [1, 'invalid trace_id (must be 16 non-zero bytes)'],
      [2, 'no timestamp (time_unix_nano and observed_time_unix_nano are 0)'],
      [3, 'timestamp older than the retention window'],
    ]);
    expect(checked.message).toBe(
      '3 log records rejected: 1 with invalid trace_id (must be 16 non-zero bytes); 1 with no timestamp (time_unix_nano and observed_time_unix_nano are 0); 1 with timestamp older than the retention window',
    );
  });

  it('leaves out a record with a NUL byte in any string a decoder let through, which PostgreSQL text cannot hold', () => {
    const nulResource = rowResource({ 'service.name': 'a\u0000' });
    const checked = validateLogs(
      [
        log(),
        log({ body: 'a\u0000b' }),
        log({ attributes: { list: ['x', { deep: 'y\u0000' }] } }),
        log({ attributes: { 'key\u0000': 1 } }),
        log({ eventName: 'e\u0000' }),
        log({ resource: nulResource }),
      ],
      window,
    );
    expect(checked.valid).toHaveLength(1);
    expect([...checked.problems.keys()]).toEqual([1, 2, 3, 4, 5]);
    expect(checked.message).toMatch(/5 with a NUL byte/);
    const spans = validateSpans([span(), span({ events: [{ name: 'x', timeUnixNano: '0', attributes: { m: '\u0000' }, droppedAttributesCount: 0 }] })], window);
    expect([...spans.problems]).toEqual([[1, expect.stringMatching(/NUL byte/)]]);
  });
});

describe('the ingest line', () => {
  const tenant = { id: 1, name: 'acme' };
  const failingWriter = (error: unknown): Writer => ({
    claim: async () => ({ grow() {}, release() {} }),
    deposit: async () => ({ grow() {}, release() {}, settle() {} }),
    write: () => Promise.reject(error),
    close: async () => {},
  });
  const failedCount = async (metrics: Metrics, reason: string) =>
    (await metrics.registry.getSingleMetric('pipemon_receiver_failed_records_total')!.get()).values.find(
      (v) => v.labels.reason === reason && v.labels.signal === 'logs',
    )?.value;
  /** Ingests `decoded` as one request of its own, answered (and so recorded) once the line is done. */
  const ingestAlone = async (line: IngestLine, metrics: Metrics, decoded: Decoded) => {
    const request = metrics.requests.start('logs');
    try {
      return await line.ingest(tenant, decoded, request);
    } finally {
      request.end('200');
    }
  };

  it('answers a bug in pipemon as a retryable internal error, never as the client data being bad, and counts it', async () => {
    const metrics = createMetrics();
    const line = createIngestLine({ writer: failingWriter(new TypeError("Cannot read properties of undefined (reading 'x')")), retentionDays: 30, now: () => NOW_MS });
    const refusal = await rejection(ingestAlone(line, metrics, { logs: [log(), log()], spans: [], points: [] }));
    expect(refusal).toBeInstanceOf(Refusal);
    expect((refusal as Refusal).kind).toBe('internal');
    expect(refusal.message).toMatch(/internal error in the receiver \(Cannot read properties.*\): retry later/);
    expect(HTTP_STATUS.internal).toBe(503);
    expect(await failedCount(metrics, 'internal')).toBe(2);
  });

  it('counts records the database refused, and those it could not take', async () => {
    const metrics = createMetrics();
    const refused = Object.assign(new Error('value too long'), { code: '22001', severity: 'ERROR' });
    const line = createIngestLine({ writer: failingWriter(refused), retentionDays: 30, now: () => NOW_MS });
    expect((await rejection(ingestAlone(line, metrics, { logs: [log()], spans: [], points: [] }))).message).toMatch(/the database refused this request: value too long \(SQLSTATE 22001\)/);
    expect(await failedCount(metrics, 'database_error')).toBe(1);

    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const unavailable = createIngestLine({ writer: failingWriter(down), retentionDays: 30, now: () => NOW_MS });
    expect(((await rejection(ingestAlone(unavailable, metrics, { logs: [log(), log(), log()], spans: [], points: [] }))) as Refusal).kind).toBe('unavailable');
    expect(await failedCount(metrics, 'database_unavailable')).toBe(3);
  });

  it('answers what validation left out once the rest is committed', async () => {
    const written: number[] = [];
    const writer: Writer = { ...failingWriter(null), write: async (_prepared, records) => void written.push(records) };
    const line = createIngestLine({ writer, retentionDays: 30, now: () => NOW_MS });
    const answer = await ingestAlone(line, createMetrics(), { logs: [log(), log({ timeUnixNano: '0' })], spans: [], points: [] });
    expect(written).toEqual([1]);
    expect(answer).toMatchObject({ rejected: 1, message: expect.stringMatching(/1 with no timestamp/) });
    expect([...answer.problems.logs.keys()]).toEqual([1]);
  });

  it('counts a refusal reason that logs and spans share once for each record', async () => {
    const metrics = createMetrics();
    const writer: Writer = { ...failingWriter(null), write: async () => {} };
    const line = createIngestLine({ writer, retentionDays: 30, now: () => NOW_MS });
    const old = nanos(NOW_MS - 40 * 86_400_000);
    await ingestAlone(line, metrics, { logs: [log({ timeUnixNano: old })], spans: [span({ startTimeUnixNano: old, endTimeUnixNano: old })], points: [] });
    const refused = (await metrics.registry.getSingleMetric('pipemon_receiver_refused_records_total')!.get()).values;
    expect(refused.find((v) => v.labels.reason === 'timestamp older than the retention window')?.value).toBe(2);
  });
});

describe('outcome: one mapping from a failure to its statuses', () => {
  it('maps every kind to an HTTP status and a gRPC code that keep or drop the data alike', () => {
    const retried = new Set([503]);
    for (const kind of Object.keys(HTTP_STATUS) as RefusalKind[]) {
      const keep = retried.has(HTTP_STATUS[kind]);
      // OTLP/gRPC clients retry UNAVAILABLE (and RESOURCE_EXHAUSTED only with RetryInfo); they drop the rest.
      expect([kind, GRPC_CODE[kind] === GRPC_STATUS.UNAVAILABLE]).toEqual([kind, keep]);
      expect([kind, RETRY_AFTER_SECONDS[kind] !== undefined]).toEqual([kind, keep]);
    }
  });

  it('sorts errors: decode errors and permanent database errors are the data, connection errors and bugs are not', () => {
    expect(refusalOf(new DecodeError('bad protobuf')).kind).toBe('invalid');
    expect(refusalOf(Object.assign(new Error('null value'), { code: '23502', severity: 'ERROR' })).kind).toBe('invalid');
    expect(refusalOf(Object.assign(new Error('the database system is shutting down'), { code: '57P03', severity: 'FATAL' })).kind).toBe('unavailable');
    expect(refusalOf(new Error('Connection terminated unexpectedly')).kind).toBe('unavailable');
    expect(refusalOf(new RangeError('Invalid array length')).kind).toBe('internal');
    const refusal = new Refusal('forbidden', 'no');
    expect(refusalOf(refusal)).toBe(refusal);
  });

  it('logs a bug once per distinct message, however many requests meet it', () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      for (let i = 0; i < 5; i++) refusalOf(new TypeError('x is not a function'));
      refusalOf(new TypeError('y is not a function'));
      expect(logged.mock.calls.map(([line]) => String(line).split('\n')[0])).toEqual([
        'pipemon: internal error (shown once; clients were told to retry): TypeError: x is not a function',
        'pipemon: internal error (shown once; clients were told to retry): TypeError: y is not a function',
      ]);
    } finally {
      logged.mockRestore();
    }
  });
});
