/**
 * bench:ingest at its small size (bench/ingest.ts, SMALL_SIZE), so that it keeps running to the end as the
 * receiver and the storage change: every part answers on both servers, every acknowledged record is
 * stored, a fresh receiver's warm-up (OTLP/HTTP and gRPC at once) is refused nothing, and the figures are
 * in their places with sane values. No timings are asserted.
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
    expect(result).toMatchObject({ benchmark: 'ingest OTLP logs into PostgreSQL', size: SMALL_SIZE, records_per_request: 1000, every_acknowledged_record_stored: true });
    expect(result.request_bytes).toBeGreaterThan(1000 * 100);
  });

  it.each(['embedded_default', 'debian_server'])('measures end to end beside raw COPY on %s, with durable settings', (server) => {
    const report = result[server];
    expect(report.postgres).toMatchObject({ fsync: 'on', synchronous_commit: 'on' });
    for (const rate of [report.end_to_end, report.end_to_end_grpc, report.raw_copy, report.raw_copy_two_connections].map((part) => part.records_per_second_median)) {
      expect(rate).toBeGreaterThan(0);
    }
    expect(report.end_to_end).toMatchObject({ clients: 8, rounds: SMALL_SIZE.rounds, records_per_round: SMALL_SIZE.requestsPerRound * 1000 });
    expect(report.end_to_end.commits.count).toBeGreaterThan(0);
    expect(report.end_to_end.latency_ms.p99).toBeGreaterThanOrEqual(report.end_to_end.latency_ms.p50);
    expect([report.end_to_end_vs_raw_copy, report.end_to_end_vs_raw_copy_two_connections, report.grpc_vs_http]).toEqual([positive, positive, positive]);

    // A fresh receiver takes its first requests over both transports at once.
    expect(report.refused.warm_up).toEqual({ count: 0, by_answer: {} });
    for (const transport of ['http', 'grpc']) {
      const { count, by_answer } = report.refused[transport];
      expect(count).toBe(Object.values(by_answer as Record<string, number>).reduce((sum, n) => sum + n, 0));
    }
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
