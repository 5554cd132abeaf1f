/**
 * Record copy (receiver/storage/record-copy.ts): records are stored once however often they arrive, the
 * counts say which were new, and only the new records that describe runs, stages or checks are handed on
 * to the merge, by their keys.
 */
import { describe, expect, it } from 'vitest';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { decodeLogsJson } from '../../../receiver/decode/otlp-json.js';
import type { SpanRow } from '../../../receiver/model/records.js';
import type { Database } from '../../../receiver/storage/database.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { copyRecords, ensurePartitions, logKey, spanKey, type RecordLines } from '../../../receiver/storage/record-copy.js';
import { renderLog, renderSpan } from '../../../receiver/storage/rows-csv.js';
import { backends, databaseFor, freshDatabase } from '../../helpers/backends.js';
import { otlpJsonLogs } from '../../helpers/otlp-json.js';
import { nanos, rowResource, spanRow } from '../../helpers/rows.js';

const TENANT = 1;
const AT = Date.UTC(2031, 5, 1, 12);
const RUN = { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'r-1' };

const LOGS = decodeLogsJson(
  otlpJsonLogs({ 'service.name': 'etl' }, [
    { eventName: EVENT.runStart, timeMs: AT, attributes: RUN },
    { eventName: EVENT.check, timeMs: AT + 1, attributes: { ...RUN, [ATTR.checkName]: 'not null' } },
    { body: 'a plain log line', timeMs: AT + 2, attributes: RUN },
  ]),
);

/** Two spans: one of a pipeline (it derives a stage), one of no pipeline. */
const SPANS = [
  span('01', 'load', { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'r-1', [ATTR.stageName]: 'load' }),
  span('02', 'http get', {}),
];

function span(id: string, name: string, attributes: SpanRow['attributes']): SpanRow {
  const [start, end] = [nanos(AT), nanos(AT + 1000)];
  return spanRow({ resource: rowResource({ 'service.name': 'etl' }), traceId: 'ab'.repeat(16), spanId: id.repeat(8), name, startTimeUnixNano: start, endTimeUnixNano: end, attributes });
}

/** The records rendered as ingest/prepare.ts renders them, and the keys copyRecords() names them by. */
function linesOf(logs = LOGS, spans = SPANS): RecordLines & { logKeys: string[] } {
  const lines: RecordLines & { logKeys: string[] } = {
    logLines: [], streamLines: new Map(), spanLines: [], logDays: new Set(), spanDays: new Set(),
    pointLines: [], metricStreamLines: new Map(), pointDays: new Set(), logKeys: [],
  };
  for (const row of logs) {
    const { line, fingerprint, stream, dayMs } = renderLog(TENANT, row);
    lines.logLines.push(line);
    lines.streamLines.set(stream.key, stream.line);
    lines.logDays.add(dayMs);
    lines.logKeys.push(logKey(TENANT, fingerprint));
  }
  for (const row of spans) {
    const { line, dayMs } = renderSpan(TENANT, row);
    lines.spanLines.push(line);
    lines.spanDays.add(dayMs);
  }
  return lines;
}

const count = async (db: Database, table: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

describe.each(backends())('record copy on $name', (backend) => {
  const db = databaseFor(backend);

  it('stores new records, counts them, and names the new ones that derive, logs first', async () => {
    const lines = linesOf();
    const copied = await db.transaction((tx) => copyRecords(tx, createPartitionManager(), [lines]));
    expect(copied.logs).toEqual({ accepted: 3, duplicates: 0 });
    expect(copied.spans).toEqual({ accepted: 2, duplicates: 0 });
    // The run start and the check derive; the plain line and the span of no pipeline do not.
    expect(copied.newKeys.slice(0, 2).sort()).toEqual(lines.logKeys.slice(0, 2).sort());
    expect(copied.newKeys.slice(2)).toEqual([spanKey(TENANT, 'ab'.repeat(16), '01'.repeat(8))]);
    expect(await count(db, 'log_records')).toBe(3);
    expect(await count(db, 'spans')).toBe(2);
  });

  it('stores a resent record once and names none of the resent ones', async () => {
    const streams = await count(db, 'log_streams');
    const copied = await db.transaction((tx) => copyRecords(tx, createPartitionManager(), [linesOf()]));
    expect(copied).toEqual({ logs: { accepted: 0, duplicates: 3 }, spans: { accepted: 0, duplicates: 2 }, points: { accepted: 0, duplicates: 0 }, newKeys: [] });
    expect(await count(db, 'log_records')).toBe(3);
    expect(await count(db, 'log_streams')).toBe(streams);
    expect(await count(db, 'spans')).toBe(2);
  });

  it('stores a record that two requests of one batch carry once, and names it once', async () => {
    const fresh = await freshDatabase(backend);
    const start = LOGS.slice(0, 1);
    const lines = linesOf(start, []);
    const copied = await fresh.transaction((tx) => copyRecords(tx, createPartitionManager(), [lines, linesOf(start, [])]));
    expect(copied.logs).toEqual({ accepted: 1, duplicates: 1 });
    expect(copied.newKeys).toEqual(lines.logKeys);
  });

  it('copies nothing for a batch without records', async () => {
    const copied = await db.transaction((tx) => copyRecords(tx, createPartitionManager(), [linesOf([], [])]));
    expect(copied).toEqual({ logs: { accepted: 0, duplicates: 0 }, spans: { accepted: 0, duplicates: 0 }, points: { accepted: 0, duplicates: 0 }, newKeys: [] });
  });

  it('makes the partitions of a batch days ahead of its transaction', async () => {
    const later = decodeLogsJson(otlpJsonLogs({ 'service.name': 'etl' }, [{ body: 'later', timeMs: AT + 40 * 86_400_000 }]));
    const lines = linesOf(later, []);
    const partitionOf = async () =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'log_records'::regclass`)).rows[0]!.n;
    const before = await partitionOf();
    await ensurePartitions(db, createPartitionManager(), [lines]);
    expect(await partitionOf()).toBeGreaterThan(before);
  });
});
