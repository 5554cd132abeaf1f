/**
 * OTLP metrics over HTTP against the real receiver on each backend, sent by the official OpenTelemetry JS
 * exporters from a MeterProvider with every instrument kind: the points stored equal the points the SDK
 * exported, field for field, in the database and through the query API, in protobuf (cumulative) and gzipped
 * JSON (delta); a resend stores nothing new, a run's id puts the points on the run, invalid points are a
 * partial success, and the counters say so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR } from '../../../contract/vocabulary.js';
import { apiPoints, apiPointsOf, expectStored } from '../../helpers/api-points.js';
import {
  capturing,
  exportedPoints,
  exportEveryKind,
  histogram,
  histogramMetric,
  metricsAnswer,
  metricsBody,
  metricsOf,
  numberMetric,
  pointsOf,
  type Capturing,
  type PointFacts,
} from '../../helpers/metrics-sdk.js';
import { decodeRpcStatus } from '../../helpers/grpc.js';
import { post, receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { receiverCount, storedPoints, storedRunIds } from '../../helpers/stored-points.js';

const JSON_TYPE = 'application/json';

/** The message of a refusal: a google.rpc.Status in the request's encoding (JSON when the receiver cannot tell). */
function refusalMessage(answer: Awaited<ReturnType<typeof post>>): string {
  if (answer.headers.get('content-type')?.includes('json')) return JSON.parse(answer.body.toString()).message;
  return decodeRpcStatus(answer.body).message;
}

/** What a point is, beside its values: each kind the test means the SDK to have exported. */
const shape = (p: PointFacts) => `${p.metric} ${p.kind} temporality=${p.temporality} monotonic=${p.monotonic}`;

describe.each(receiverBackends())('OTLP/HTTP metrics on $name', (backend) => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await backend.options()), maxBodyBytes: 1024 * 1024 });
  });
  afterAll(() => r?.close());

  const counted = (name: string, where: Record<string, string> = {}) =>
    receiverCount(r.receiver.metricsUrl, `pipemon_receiver_${name}_total`, { signal: 'metrics', ...where });
  const headers = () => ({ Authorization: `Bearer ${r.key}` });

  /** Every kind exported by `capture` from `service`, which is also their pipeline, with attributes of every type on the resource. */
  const exportFrom = (service: string, capture: Capturing) =>
    exportEveryKind(
      resourceFromAttributes(
        { 'service.name': service, [ATTR.pipelineName]: service, 'service.version': '3.1.0', 'host.cores': 8, 'host.load': 0.75, 'host.virtual': true },
        { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' },
      ),
      capture,
    );

  it('stores every instrument kind as the protobuf exporter sent it, cumulative, point for point', async () => {
    const before = await counted('accepted_records');
    const capture = capturing(new ProtoMetricExporter({ url: `${r.url}/v1/metrics`, headers: headers() }));
    const exported = await exportFrom('metrics-proto', capture);

    expect(new Set(exported.map(shape))).toEqual(
      new Set([
        'rows.read sum temporality=2 monotonic=true',
        'bytes.written sum temporality=2 monotonic=true',
        'queue.depth sum temporality=2 monotonic=false',
        'batch.duration histogram temporality=2 monotonic=false',
        'load.latency exponential_histogram temporality=2 monotonic=false',
        'disk.temperature gauge temporality=0 monotonic=false',
        'memory.used gauge temporality=0 monotonic=false',
        'files.seen sum temporality=2 monotonic=true',
        'workers.busy sum temporality=2 monotonic=false',
      ]),
    );
    // Three collections of 11 series: nothing left out before the comparison.
    expect(exported).toHaveLength(33);
    await expectStored(r, 'metrics-proto', exported);
    expect((await counted('accepted_records')) - before).toBe(exported.length);
  });

  it('stores what the JSON exporter sent gzipped with delta temporality, point for point', async () => {
    const before = await counted('accepted_records');
    const exporter = new JsonMetricExporter({
      url: `${r.url}/v1/metrics`,
      headers: headers(),
      compression: CompressionAlgorithm.GZIP,
      temporalityPreference: AggregationTemporalityPreference.DELTA,
    });
    const capture = capturing(exporter);
    const exported = await exportFrom('metrics-json', capture);

    // Delta as the OTLP exporters choose it: counters and histograms; up-down counters stay cumulative.
    const temporalities = Object.fromEntries(exported.map((p) => [p.metric, p.temporality]));
    expect(temporalities).toEqual({
      'rows.read': 1,
      'bytes.written': 1,
      'queue.depth': 2,
      'batch.duration': 1,
      'load.latency': 1,
      'disk.temperature': 0,
      'memory.used': 0,
      'files.seen': 1,
      'workers.busy': 2,
    });
    await expectStored(r, 'metrics-json', exported);
    expect((await counted('accepted_records')) - before).toBe(exported.length);
  });

  it('stores a resent request once, in protobuf, gzip and JSON, and answers each with a full success', async () => {
    const capture = capturing(new ProtoMetricExporter({ url: `${r.url}/v1/metrics`, headers: headers() }));
    const exported = await exportFrom('metrics-resend', capture);
    const first = capture.exported[0]!;
    const accepted = await counted('accepted_records');
    const duplicates = await counted('duplicate_records');

    const answers = [
      await post(r.url, '/v1/metrics', metricsBody(first), { key: r.key }),
      await post(r.url, '/v1/metrics', metricsBody(first), { key: r.key, encoding: 'gzip' }),
      await post(r.url, '/v1/metrics', metricsBody(first, 'json'), { key: r.key, contentType: JSON_TYPE }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => a.body.toString())).toEqual(['', '', '{}']);
    const resent = exportedPoints([first]).length;
    expect((await counted('accepted_records')) - accepted).toBe(0);
    expect((await counted('duplicate_records')) - duplicates).toBe(3 * resent);
    await expectStored(r, 'metrics-resend', exported);
  });

  it("puts the points on the run its id names, on the resource or on the point's attributes", async () => {
    const onResource = metricsOf('metrics-run-resource', [numberMetric('rows.written', [3]), numberMetric('lag', [0.5], { gauge: true })], {
      [ATTR.runId]: 'run-on-resource',
      [ATTR.pipelineName]: 'orders',
    });
    const onAttributes = metricsOf('metrics-run-attributes', [
      numberMetric('rows.written', [4], { attributes: { [ATTR.runId]: 'run-on-point', [ATTR.pipelineName]: 'orders' } }),
      numberMetric('lag', [1.5], { gauge: true }),
    ]);
    for (const request of [onResource, onAttributes]) {
      const answer = await post(r.url, '/v1/metrics', metricsBody(request), { key: r.key });
      expect([answer.status, answer.body.length]).toEqual([200, 0]);
    }
    expect(await storedRunIds(r.receiver.db, 'metrics-run-resource')).toEqual({ 'rows.written': 'run-on-resource', lag: 'run-on-resource' });
    expect(await storedRunIds(r.receiver.db, 'metrics-run-attributes')).toEqual({ 'rows.written': 'run-on-point', lag: null });
    expect(await apiPoints(r.url, r.key, 'run_id=run-on-resource')).toEqual(apiPointsOf(exportedPoints([onResource])));
    expect((await apiPoints(r.url, r.key, 'run_id=run-on-point')).map((p) => [p.metric, p.value])).toEqual([['rows.written', 4]]);
  });

  it.each(['protobuf', 'json'] as const)('stores the valid points beside invalid ones and answers a partial success with counts (%s)', async (format) => {
    const service = `metrics-partial-${format}`;
    const good = [numberMetric('good.sum', [1, 2]), histogramMetric('good.histogram', [histogram([1, 2, 3], [1, 10])])];
    const bad = [
      // One count more than bounds, or none: these have one too many, and one too few.
      histogramMetric('bad.histogram', [histogram([1, 2, 3, 4], [1, 10]), histogram([1], [1, 10])]),
      numberMetric('x'.repeat(2_000), [1]),
    ];
    const request = metricsOf(service, [...good, ...bad], { [ATTR.pipelineName]: service });
    const refusedBefore = await counted('refused_records', { reason: 'histogram bucket_counts not one more than explicit_bounds' });

    const answer = await post(r.url, '/v1/metrics', metricsBody(request, format), { key: r.key, contentType: format === 'json' ? JSON_TYPE : undefined });
    expect(answer.status).toBe(200);
    const partial = metricsAnswer(answer.body, format);
    expect(Number(partial.rejectedDataPoints)).toBe(3);
    expect(partial.errorMessage).toBe(
      '3 data points rejected: 2 with histogram bucket_counts not one more than explicit_bounds; 1 with a metric name over 1024 bytes',
    );
    expect((await counted('refused_records', { reason: 'histogram bucket_counts not one more than explicit_bounds' })) - refusedBefore).toBe(2);
    await expectStored(r, service, pointsOf(metricsOf(service, good, { [ATTR.pipelineName]: service })));
  });

  describe('refuses what it must not store, with the status the OTLP spec says, and keeps serving', () => {
    const body = () => metricsBody(metricsOf('metrics-refused', [numberMetric('refused', [1])]));
    const cases: [string, () => Promise<Awaited<ReturnType<typeof post>>>, number, RegExp][] = [
      ['no API key', () => post(r.url, '/v1/metrics', body(), { key: null }), 401, /missing API key/],
      ['an unknown API key', () => post(r.url, '/v1/metrics', body(), { key: 'pm_1_000000000000_' + '0'.repeat(64) }), 401, /unknown or revoked/],
      ['a key without the ingest scope', async () => post(r.url, '/v1/metrics', body(), { key: await r.keyFor('acme', ['read']) }), 403, /lacks the "ingest" scope/],
      ['text/plain', () => post(r.url, '/v1/metrics', body(), { key: r.key, contentType: 'text/plain' }), 415, /Content-Type/],
      ['no content type', () => post(r.url, '/v1/metrics', body(), { key: r.key, contentType: '' }), 415, /Content-Type/],
    ];
    it.each(cases)('%s', async (_name, send, status, message) => {
      const accepted = await counted('accepted_records');
      const answer = await send();
      expect(answer.status).toBe(status);
      expect(refusalMessage(answer)).toMatch(message);
      expect(await counted('accepted_records')).toBe(accepted);
      expect(await storedPoints(r.receiver.db, 'metrics-refused')).toEqual([]);
      const served = await post(r.url, '/v1/metrics', metricsBody(metricsOf('metrics-served', [numberMetric('served', [1])])), { key: r.key });
      expect(served.status).toBe(200);
    });
  });
});
