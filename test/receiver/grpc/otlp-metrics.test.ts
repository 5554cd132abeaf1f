/**
 * MetricsService/Export against the real receiver on each backend: the official gRPC metrics exporter from
 * a MeterProvider with every instrument kind (the points stored equal the points the SDK exported), and a
 * raw grpc-js client for the status codes and partial successes exporters act on.
 */
import { Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { GRPC_STATUS } from '../../../receiver/model/outcome.js';
import { grpcClient, retryDelayOf } from '../../helpers/grpc.js';
import {
  capturing,
  everyKind,
  exportedPoints,
  histogram,
  histogramMetric,
  metricsAnswer,
  metricsBody,
  metricsOf,
  numberMetric,
  sortedPoints,
} from '../../helpers/metrics-sdk.js';
import { receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { receiverCount, storedPoints } from '../../helpers/stored-points.js';

describe.each(receiverBackends())('OTLP/gRPC metrics on $name', (backend) => {
  let r: TestReceiver;
  let client: ReturnType<typeof grpcClient>;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await backend.options()), grpcPort: 0, maxBodyBytes: 1024 * 1024 });
    client = grpcClient(r.receiver.grpcAddress!);
  });
  afterAll(async () => {
    client?.close();
    await r?.close();
  });

  const accepted = () => receiverCount(r.receiver.metricsUrl, 'pipemon_receiver_accepted_records_total', { signal: 'metrics' });
  const exportCall = (message: Buffer, key: string | null = r.key) => client.call('metrics', message, { key });

  it.each([
    ['cumulative', CompressionAlgorithm.NONE, AggregationTemporalityPreference.CUMULATIVE],
    ['delta, gzip', CompressionAlgorithm.GZIP, AggregationTemporalityPreference.DELTA],
  ] as const)('stores every instrument kind as the gRPC exporter sent it (%s), point for point', async (name, compression, temporalityPreference) => {
    const service = `grpc-metrics-${compression}`;
    const before = await accepted();
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${r.key}`);
    const capture = capturing(new OTLPMetricExporter({ url: `http://${r.receiver.grpcAddress}`, metadata, compression, temporalityPreference }));
    const kinds = everyKind(resourceFromAttributes({ 'service.name': service, 'exporter.mode': name }), capture.exporter, 'grpc-scope');
    for (const n of [1, 2]) {
      kinds.record(n);
      await kinds.flush();
    }
    await kinds.close();
    expect(capture.failures).toEqual([]);
    const exported = sortedPoints(exportedPoints(capture.exported));

    expect(new Set(exported.map((p) => p.kind))).toEqual(new Set(['sum', 'gauge', 'histogram', 'exponential_histogram']));
    expect(exported.some((p) => p.temporality === (compression === CompressionAlgorithm.GZIP ? 1 : 2) && p.monotonic)).toBe(true);
    expect(await storedPoints(r.receiver.db, service)).toEqual(exported);
    expect((await accepted()) - before).toBe(exported.length);
  });

  it('answers a partial success with the count of the invalid points, and stores the others', async () => {
    const good = [numberMetric('grpc.good', [1, 2, 3])];
    const request = metricsOf('grpc-partial', [...good, histogramMetric('grpc.bad', [histogram([1, 2], [1, 2, 3])])]);
    const answer = await exportCall(metricsBody(request));
    expect(answer.code, answer.details).toBe(GRPC_STATUS.OK);
    expect(metricsAnswer(answer.response!)).toEqual({
      rejectedDataPoints: 1,
      errorMessage: '1 data points rejected: 1 with histogram bucket_counts not one more than explicit_bounds',
    });
    expect(await storedPoints(r.receiver.db, 'grpc-partial')).toEqual(sortedPoints(exportedPoints([metricsOf('grpc-partial', good)])));
  });

  it('answers UNAUTHENTICATED without a key and PERMISSION_DENIED without the ingest scope, storing nothing', async () => {
    const message = metricsBody(metricsOf('grpc-refused', [numberMetric('refused', [1])]));
    const before = await accepted();
    const unauthenticated = await exportCall(message, null);
    expect([unauthenticated.code, unauthenticated.details]).toEqual([GRPC_STATUS.UNAUTHENTICATED, expect.stringMatching(/missing API key/)]);
    const denied = await exportCall(message, await r.keyFor('acme', ['read']));
    expect([denied.code, denied.details]).toEqual([GRPC_STATUS.PERMISSION_DENIED, expect.stringMatching(/lacks the "ingest" scope/)]);
    // Neither is worth retrying as it is.
    expect([retryDelayOf(unauthenticated), retryDelayOf(denied)]).toEqual([undefined, undefined]);
    expect((await accepted()) - before).toBe(0);
    expect(await storedPoints(r.receiver.db, 'grpc-refused')).toEqual([]);
    expect((await exportCall(message)).code).toBe(GRPC_STATUS.OK);
  });
});
