/**
 * bench:ingest at its small size (bench/ingest.ts, SMALL_SIZE), so that it keeps running to the end as the
 * receiver and the storage change: every part answers on both servers, for logs and for metrics, every
 * acknowledged record and point is stored, a fresh receiver's warm-up (OTLP/HTTP and gRPC at once) is
 * refused nothing, and the figures are in their places with sane values. No timings are asserted.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runIngestBench, SMALL_SIZE } from '../../bench/ingest.js';

const positive = expect.any(Number);

describe('bench:ingest at its small size', () => {
  let result: Record<string, any>;
  beforeAll(async () => {
    result = await runIngestBench(SMALL_SIZE);
  }, 600_000);

  it('stores every acknowledged record and says at what size it ran', () => {
    expect(result).toMatchObject({
      benchmark: 'ingest OTLP logs and metrics into PostgreSQL',
      size: SMALL_SIZE,
      records_per_request: 1000,
      points_per_request: 1000,
      every_acknowledged_record_stored: true,
    });
    expect(result.request_bytes).toBeGreaterThan(1000 * 100);
    // Histograms' buckets and every series' attributes: well over 100 bytes a point.
    expect(result.metrics_request_bytes).toBeGreaterThan(1000 * 100);
  });

  /** The end-to-end and raw COPY parts of one signal's report, rates named by `unit`. */
  function expectEndToEndBesideCopy(report: Record<string, any>, unit: 'records' | 'points') {
    for (const part of [report.end_to_end, report.end_to_end_grpc, report.raw_copy, report.raw_copy_two_connections]) {
      expect(part[`${unit}_per_second_median`]).toBeGreaterThan(0);
      expect(part[`${unit}_per_second_rounds`]).toHaveLength(SMALL_SIZE.rounds);
    }
    expect(report.end_to_end).toMatchObject({ clients: 8, rounds: SMALL_SIZE.rounds, [`${unit}_per_round`]: SMALL_SIZE.requestsPerRound * 1000 });
    expect(report.end_to_end.commits.count).toBeGreaterThan(0);
    expect(report.end_to_end.latency_ms.p99).toBeGreaterThanOrEqual(report.end_to_end.latency_ms.p50);
    expect([report.end_to_end_vs_raw_copy, report.end_to_end_vs_raw_copy_two_connections, report.grpc_vs_http]).toEqual([positive, positive, positive]);

    // A fresh receiver takes its first requests over both transports at once.
    expect(report.refused.warm_up).toEqual({ count: 0, by_answer: {} });
    for (const transport of ['http', 'grpc']) {
      const { count, by_answer } = report.refused[transport];
      expect(count).toBe(Object.values(by_answer as Record<string, number>).reduce((sum, n) => sum + n, 0));
    }
  }

  it.each(['embedded_default', 'debian_server'])('measures end to end beside raw COPY on %s, with durable settings', (server) => {
    expect(result[server].postgres).toMatchObject({ fsync: 'on', synchronous_commit: 'on' });
    expectEndToEndBesideCopy(result[server], 'records');
  });

  it.each(['embedded_default', 'debian_server'])('measures metrics end to end beside raw COPY on %s, in data points', (server) => {
    expectEndToEndBesideCopy(result[server].metrics, 'points');
  });

  it.each(['embedded_default', 'debian_server'])('counts bytes per data point on %s, both tables, beside their OTLP size', (server) => {
    const bytes = result[server].metrics.bytes_per_point;
    // Every request of the last end-to-end round, warm-up and both phases, each stored once.
    expect(bytes.points).toBe((8 + 2 * SMALL_SIZE.requestsPerRound) * 1000);
    // One series a point of a request: at most the first request's series and the next run's.
    expect(bytes.streams).toBeGreaterThanOrEqual(1000);
    expect(bytes.streams).toBeLessThan(bytes.points);
    expect(bytes.otlp_protobuf).toBeCloseTo(result.metrics_request_bytes / 1000, -1);
    const { stored } = bytes;
    expect(stored.total).toBeCloseTo(stored.heap + stored.indexes + stored.toast, 0);
    expect(stored.by_table.metric_points + stored.by_table.metric_streams).toBeCloseTo(stored.total, 0);
    expect(Object.keys(stored.indexes_each)).toEqual(expect.arrayContaining(['metric_points_pkey', 'metric_streams_pkey']));
    expect(bytes.stored_vs_protobuf).toBeCloseTo(stored.total / bytes.otlp_protobuf, 1);
  });

  it.each(['embedded_default', 'debian_server'])('counts bytes per record on %s, the slimmer layout below the one before migration 4', (server) => {
    const bytes = result[server].bytes_per_record;
    expect(bytes.records).toBeGreaterThan(0);
    expect(bytes.current.total).toBeGreaterThan(0);
    expect(bytes.current.total).toBeLessThan(bytes.before_migration_4.total);
    expect(bytes.current_vs_protobuf).toBeCloseTo(bytes.current.total / bytes.otlp_protobuf, 1);
  });

  it('measures one INSERT per record and an overload on the embedded default, storing every 200 of the overload', () => {
    const { insert_per_record: insert, overload } = result.embedded_default;
    expect(insert.rows_stored).toBe(SMALL_SIZE.insertSampleRows);
    expect(insert.records_per_second).toBeGreaterThan(0);
    expect(overload.requests).toBe(overload.answered_200 + overload.answered_503);
    expect(overload.every_200_stored).toBe(true);
  });
});
