/**
 * MetricsService/Export against the real receiver on each backend: the official gRPC metrics exporter from
 * a MeterProvider with every instrument kind (the points stored equal the points the SDK exported), and a
 * raw grpc-js client for the status codes and partial successes exporters act on, on good and bad input:
 * every call ends OK (maybe a partial success) or INVALID_ARGUMENT / RESOURCE_EXHAUSTED with details.
 */
import { Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR } from '../../../contract/vocabulary.js';
import { GRPC_STATUS } from '../../../receiver/model/outcome.js';
import { expectStored } from '../../helpers/api-points.js';
import { byteMutants, prefixes } from '../../helpers/fuzz.js';
import { grpcClient, retryDelayOf, type GrpcAnswer } from '../../helpers/grpc.js';
import { capturing, exportEveryKind, histogram, histogramMetric, metricsAnswer, metricsBody, metricsOf, numberMetric, pointsOf } from '../../helpers/metrics-sdk.js';
import { everyFieldRequest } from '../../helpers/otlp-metrics-proto.js';
import { encode } from '../../helpers/otlp-decode.js';
import { receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { receiverCount, storedPoints } from '../../helpers/stored-points.js';

const MB = 1024 * 1024;

describe.each(receiverBackends())('OTLP/gRPC metrics on $name', (backend) => {
  let r: TestReceiver;
  let client: ReturnType<typeof grpcClient>;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await backend.options()), grpcPort: 0, maxBodyBytes: 4 * MB });
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
    const resource = resourceFromAttributes({ 'service.name': service, [ATTR.pipelineName]: service, 'exporter.mode': name });
    const exported = await exportEveryKind(resource, capture, 'grpc-scope');

    expect(new Set(exported.map((p) => p.kind))).toEqual(new Set(['sum', 'gauge', 'histogram', 'exponential_histogram']));
    expect(exported.some((p) => p.temporality === (compression === CompressionAlgorithm.GZIP ? 1 : 2) && p.monotonic)).toBe(true);
    await expectStored(r, service, exported);
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
    expect(await storedPoints(r.receiver.db, 'grpc-partial')).toEqual(pointsOf(metricsOf('grpc-partial', good)));
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

  const stillServing = async () => {
    const answer = await exportCall(metricsBody(metricsOf('grpc-served', [numberMetric('served', [1])])));
    expect(answer.code, answer.details).toBe(GRPC_STATUS.OK);
  };

  it('stores NaN, infinities and a 1 MB attribute, and leaves out a count past int64', async () => {
    const good = [
      numberMetric('grpc.nan', [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], { gauge: true }),
      numberMetric('grpc.huge', [1], { attributes: { huge: 'h'.repeat(MB) } }),
    ];
    const request = metricsOf('grpc-odd-values', [...good, histogramMetric('grpc.overflow', [{ ...histogram([1, 2], [1]), count: 2 ** 63 }])]);
    const answer = await exportCall(metricsBody(request));
    expect(answer.code, answer.details).toBe(GRPC_STATUS.OK);
    expect(metricsAnswer(answer.response!)).toEqual({ rejectedDataPoints: 1, errorMessage: '1 data points rejected: 1 with a count beyond the int64 range' });
    expect(await storedPoints(r.receiver.db, 'grpc-odd-values')).toEqual(pointsOf(metricsOf('grpc-odd-values', good)));
  });

  /** OK (its response an ExportMetricsServiceResponse) or INVALID_ARGUMENT with details: never INTERNAL, UNKNOWN or a hang. */
  function answered(answer: GrpcAnswer, what: string): void {
    expect([GRPC_STATUS.OK, GRPC_STATUS.INVALID_ARGUMENT], `${what} ended ${answer.code}: ${answer.details}`).toContain(answer.code);
    if (answer.code === GRPC_STATUS.OK) metricsAnswer(answer.response!);
    else expect(answer.details, `${what} ended without details`).toMatch(/[a-z]{3,}/);
  }

  it('ends every cut-off and 200 mutated messages OK or INVALID_ARGUMENT with details, and keeps serving', async () => {
    const seed = Buffer.from(encode('ExportMetricsServiceRequest', everyFieldRequest(Date.now() - 1000, 'protobuf')));
    const codes = new Set<number>();
    for (const [i, message] of [...prefixes(seed, 3), ...byteMutants(seed, 200, 21)].entries()) {
      const answer = await exportCall(message);
      answered(answer, `message ${i} (${message.toString('hex')})`);
      codes.add(answer.code);
    }
    expect(codes).toEqual(new Set([GRPC_STATUS.OK, GRPC_STATUS.INVALID_ARGUMENT]));
    await stillServing();
  });

  it('ends malformed messages INVALID_ARGUMENT and one over the limit RESOURCE_EXHAUSTED, and keeps serving', async () => {
    const malformed = await exportCall(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1]));
    expect([malformed.code, malformed.details]).toEqual([GRPC_STATUS.INVALID_ARGUMENT, expect.stringMatching(/ExportMetricsServiceRequest|protobuf/)]);
    const wrongType = await exportCall(Buffer.from([0x0d, 1, 2, 3, 4]));
    expect(wrongType.code, wrongType.details).toBe(GRPC_STATUS.INVALID_ARGUMENT);
    const tooLarge = await exportCall(Buffer.alloc(5 * MB));
    expect([tooLarge.code, tooLarge.details]).toEqual([GRPC_STATUS.RESOURCE_EXHAUSTED, expect.stringMatching(/larger than/)]);
    await stillServing();
  });
});
