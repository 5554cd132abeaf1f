/**
 * Bytes on disk per metric data point (receiver/storage/point-bytes.ts) on every supported server, of
 * realistic requests (harness/otlp-fixtures.ts) written as the receiver writes them: migration 14's
 * layout keeps a point below its OTLP protobuf size, indexes and its series' row included.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC_POINTS_PER_REQUEST, realisticMetricsRequests } from '../../../harness/otlp-fixtures.js';
import { decodeMetricsProtobuf } from '../../../receiver/decode/otlp-metrics-protobuf.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { measurePointBytes } from '../../../receiver/storage/point-bytes.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { backends, databaseFor } from '../../helpers/backends.js';

/** One run of the fixture (60 intervals): each of its series' metric_streams row is spread over its 60 points. */
const REQUESTS = 60;

describe.each(backends())('bytes per metric data point on $name', (backend) => {
  const db = databaseFor(backend);
  let protobufBytes = 0;

  beforeAll(async () => {
    const bodies = await realisticMetricsRequests(REQUESTS, { startUnixNano: BigInt(Date.UTC(2031, 2, 1)) * 1_000_000n });
    const partitions = createPartitionManager();
    for (const body of bodies) {
      protobufBytes += body.length;
      const prepared = prepare({ id: 1, name: 'default' }, [], [], decodeMetricsProtobuf(body));
      await db.transaction((tx) => writeBatch(tx, partitions, [prepared]));
    }
  });

  it('stores the realistic point in at most 0.9 of its OTLP protobuf size, indexes and its series included', async () => {
    const measured = await measurePointBytes(db);
    expect(measured.points).toBe(REQUESTS * METRIC_POINTS_PER_REQUEST);
    // One day, one run: each series once.
    expect(measured.streams).toBe(METRIC_POINTS_PER_REQUEST);
    expect(Object.keys(measured.index_per_point)).toEqual(expect.arrayContaining(['metric_points_pkey', 'metric_streams_pkey']));
    // OTLP repeats each series' resource, attributes and histogram bounds in every request, which the
    // layout keeps once a day; a point keeps its key, times and values. Measured: 201 bytes of 243 (0.83),
    // on both servers; a tenth below the OTLP size leaves room for a server's page layout, not for
    // another index on every point (30 bytes or more).
    expect(measured.per_point!.total).toBeLessThanOrEqual((0.9 * protobufBytes) / measured.points);
  });
});
