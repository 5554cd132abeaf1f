/**
 * Data points checked before storage (receiver/ingest/validate.ts): each point the database could not
 * hold, or that a reader could not make sense of, is left out with its reason, and the rest stay.
 */
import { describe, expect, it } from 'vitest';
import { ATTR } from '../../../contract/vocabulary.js';
import { timeWindow, validatePoints } from '../../../receiver/ingest/validate.js';
import type { MetricPointRow } from '../../../receiver/model/records.js';
import { metricOf, nanos, pointRow, ROW_TIME_MS } from '../../helpers/rows.js';

const WINDOW = timeWindow(30, ROW_TIME_MS);
const histogram = metricOf({ name: 'seconds', kind: 'histogram', monotonic: false });

/** The problem validatePoints() finds with one point, or null. */
function problemOf(extra: Partial<MetricPointRow>): string | null {
  const validated = validatePoints([pointRow(extra)], WINDOW);
  return validated.problems.get(0) ?? null;
}

describe('validatePoints', () => {
  it('keeps every kind of well-formed point, NaN and infinite values included', () => {
    const points = [
      pointRow(),
      pointRow({ asInt: null, asDouble: Number.NaN }),
      pointRow({ metric: histogram, asInt: null, count: '3', sum: Number.POSITIVE_INFINITY, explicitBounds: [1, 2], bucketCounts: ['1', '1', '1'] }),
      pointRow({ metric: histogram, asInt: null, count: '3', explicitBounds: [1, 2], bucketCounts: [] }),
      pointRow({ metric: metricOf({ kind: 'summary' }), asInt: null, quantileValues: [{ quantile: 0, value: 1 }, { quantile: 1, value: 9 }] }),
    ];
    expect(validatePoints(points, WINDOW)).toMatchObject({ rejected: 0, message: '' });
  });

  it.each<[string, Partial<MetricPointRow>, RegExp]>([
    ['no name', { metric: metricOf({ name: '' }) }, /without a name/],
    ['a name too long to index', { metric: metricOf({ name: 'x'.repeat(1025) }) }, /metric name over 1024 bytes/],
    ['no time', { timeUnixNano: '0', startTimeUnixNano: '0' }, /no timestamp/],
    ['a start after its time', { startTimeUnixNano: nanos(ROW_TIME_MS + 1) }, /start_time_unix_nano after/],
    ['a time beyond int64', { timeUnixNano: '18446744073709551615' }, /int64/],
    ['a count beyond int64', { metric: histogram, count: '9223372036854775808' }, /count beyond the int64/],
    ['bucket counts that do not match the bounds', { metric: histogram, explicitBounds: [1, 2], bucketCounts: ['1', '2'] }, /one more than explicit_bounds/],
    ['bounds out of order', { metric: histogram, explicitBounds: [2, 1], bucketCounts: ['1', '1', '1'] }, /finite and increasing/],
    ['an infinite bound', { metric: histogram, explicitBounds: [1, Number.POSITIVE_INFINITY], bucketCounts: ['1', '1', '1'] }, /finite and increasing/],
    ['a quantile above 1', { metric: metricOf({ kind: 'summary' }), quantileValues: [{ quantile: 1.5, value: 1 }] }, /quantile out of range/],
    ['an exemplar with a short trace id', { exemplars: [{ filteredAttributes: {}, timeUnixNano: '1', value: 1, traceId: 'ab', spanId: '' }] }, /exemplar trace_id/],
    ['a NUL byte in an attribute', { attributes: { table: 'a\u0000b' } }, /NUL/],
    ['a run id too long to index', { attributes: { [ATTR.runId]: 'r'.repeat(1025) } }, /over 1024 bytes/],
    ['a time older than the retention', { timeUnixNano: nanos(ROW_TIME_MS - 40 * 86_400_000), startTimeUnixNano: '0' }, /older than the retention/],
  ])('leaves out a point with %s', (_, extra, reason) => {
    expect(problemOf(extra)).toMatch(reason);
  });

  it('says how many points were left out and why, and keeps the rest', () => {
    const validated = validatePoints([pointRow(), pointRow({ timeUnixNano: '0', startTimeUnixNano: '0' }), pointRow({ timeUnixNano: '0', startTimeUnixNano: '0' })], WINDOW);
    expect(validated.valid).toHaveLength(1);
    expect(validated.message).toBe('2 data points rejected: 2 with no timestamp (time_unix_nano is 0)');
  });
});
