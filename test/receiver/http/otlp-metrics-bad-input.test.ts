/**
 * POST /v1/metrics on bad input, against the real receiver on each backend: values no other signal has (NaN
 * and infinities, counts past int64, histograms whose counts do not fit their bounds), huge attributes and
 * names, malformed, cut-off and mutated bodies. Every answer is a 200 (a partial success naming what was left
 * out, the rest stored) or a 400/413 with a message: never a 500, never a hang, and the receiver serves on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR } from '../../../contract/vocabulary.js';
import { expectStored } from '../../helpers/api-points.js';
import { byteMutants, jsonMutants, prefixes } from '../../helpers/fuzz.js';
import { histogram, histogramMetric, metricsAnswer, metricsBody, metricsOf, numberMetric, pointsOf, type NumberValue } from '../../helpers/metrics-sdk.js';
import { everyFieldRequest } from '../../helpers/otlp-metrics-proto.js';
import { encode } from '../../helpers/otlp-decode.js';
import { post, receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { receiverCount, storedPoints } from '../../helpers/stored-points.js';

const JSON_TYPE = 'application/json';
const MB = 1024 * 1024;

type Answer = Awaited<ReturnType<typeof post>>;

describe.each(receiverBackends())('POST /v1/metrics on bad input on $name', (backend) => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await backend.options()), maxBodyBytes: 8 * MB });
  });
  afterAll(() => r?.close());

  const send = (body: Buffer | string, format: 'protobuf' | 'json' = 'protobuf') =>
    post(r.url, '/v1/metrics', body, { key: r.key, contentType: format === 'json' ? JSON_TYPE : undefined });

  /** Expects a 200 (its body an ExportMetricsServiceResponse) or a 400/413 naming the problem; never anything else. */
  function answered(answer: Answer, format: 'protobuf' | 'json', what: string): void {
    const text = answer.status === 200 ? '' : answer.body.toString('latin1');
    expect([200, 400, 413], `${what} answered ${answer.status}: ${text}`).toContain(answer.status);
    if (answer.status === 200) metricsAnswer(answer.body, format);
    else expect(text, `${what} answered ${answer.status} without a message`).toMatch(/[a-z]{3,}/);
  }

  /** The partial success of a request that must not be refused whole (a 200); {} for a full success. */
  function partialOf(answer: Answer, format: 'protobuf' | 'json' = 'protobuf', what = 'the request') {
    expect(answer.status, `${what} was refused whole: ${answer.body.toString('latin1')}`).toBe(200);
    return metricsAnswer(answer.body, format);
  }

  async function stillServing() {
    const answer = await send(metricsBody(metricsOf('bad-input-served', [numberMetric('served', [1])])));
    expect(answer.status).toBe(200);
  }

  it('stores NaN and infinities of gauges, sums and histograms, and reads them back as such (protobuf)', async () => {
    const request = metricsOf(
      'bad-input-nan',
      [
        numberMetric('nan.gauge', [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], { gauge: true }),
        numberMetric('nan.sum', [Number.POSITIVE_INFINITY]),
        histogramMetric('nan.histogram', [{ ...histogram([1, 1], [0]), sum: Number.NaN, min: Number.NEGATIVE_INFINITY, max: Number.POSITIVE_INFINITY }]),
      ],
      { [ATTR.pipelineName]: 'bad-input-nan' },
    );
    const answer = await send(metricsBody(request));
    expect([answer.status, answer.body.length]).toEqual([200, 0]);
    const read = await expectStored(r, 'bad-input-nan', pointsOf(request));
    expect(read.map((p) => p.value ?? [p.sum, p.min, p.max])).toEqual(['NaN', 'Infinity', '-Infinity', ['NaN', '-Infinity', 'Infinity'], 'Infinity']);
  });

  it('stores NaN and infinities spelled as OTLP/JSON spells them, and reads them back as such', async () => {
    const request = metricsOf('bad-input-nan-json', [numberMetric('nan.gauge', [1.25, 2.25, 3.25], { gauge: true })]);
    const json = JSON.parse(metricsBody(request, 'json').toString());
    const spelled = ['NaN', 'Infinity', '-Infinity'];
    json.resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints.forEach((p: { asDouble: unknown }, i: number) => (p.asDouble = spelled[i]));
    const answer = await send(JSON.stringify(json), 'json');
    expect([answer.status, answer.body.toString()]).toEqual([200, '{}']);
    const stored = await storedPoints(r.receiver.db, 'bad-input-nan-json');
    expect(stored.map((p) => (p.value as NumberValue).asDouble)).toEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });

  it('leaves out histograms whose counts or bounds do not fit and counts past int64, storing the rest', async () => {
    const beyondInt64 = 2 ** 63;
    const good = [histogramMetric('fit.histogram', [histogram([0, 5], [10])]), numberMetric('fit.sum', [2 ** 53 - 1])];
    const request = metricsOf('bad-input-histograms', [
      ...good,
      histogramMetric('unfit.histogram', [
        histogram([1, 2], [1, 2]),
        histogram([1, 2, 3], [5, 1]),
        histogram([1, 2, 3], [1, Number.NaN]),
        histogram([1, 1], [Number.POSITIVE_INFINITY]),
        // The count past int64 (the serializer writes it exactly: 2^63), and a bucket's.
        { ...histogram([1, 2], [1]), count: beyondInt64 },
        histogram([beyondInt64, 0], [1]),
      ]),
    ]);
    const partial = partialOf(await send(metricsBody(request)));
    expect(partial).toEqual({
      rejectedDataPoints: 6,
      errorMessage:
        '6 data points rejected: 1 with histogram bucket_counts not one more than explicit_bounds; ' +
        '3 with histogram explicit_bounds not finite and increasing; 2 with a count beyond the int64 range',
    });
    expect(await storedPoints(r.receiver.db, 'bad-input-histograms')).toEqual(pointsOf(metricsOf('bad-input-histograms', good)));
  });

  it('answers integers past 64 bits, or negative where unsigned, in OTLP/JSON with a 400 naming the field', async () => {
    const time = `${Date.now()}000000`;
    const histogramJson = (fields: Record<string, unknown>) =>
      JSON.stringify({
        resourceMetrics: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bad-input-overflow' } }] },
          scopeMetrics: [{ metrics: [{ name: 'overflow', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: time, count: '3', bucketCounts: ['1', '2'], explicitBounds: [1], ...fields }] } }] }],
        }],
      });
    const cases: [string, Record<string, unknown>][] = [
      ['count', { count: '18446744073709551616' }],
      ['bucketCounts', { bucketCounts: ['1', '18446744073709551616'] }],
      ['count', { count: '-1' }],
      ['timeUnixNano', { timeUnixNano: '18446744073709551616' }],
    ];
    for (const [field, fields] of cases) {
      const answer = await send(histogramJson(fields), 'json');
      expect([answer.status, JSON.parse(answer.body.toString()).message], JSON.stringify(fields)).toEqual([400, expect.stringContaining(field)]);
    }
    // A uint64 past int64 is valid OTLP: its point alone is left out.
    const partial = partialOf(await send(histogramJson({ count: '18446744073709551615' }), 'json'), 'json');
    expect(partial).toEqual({ rejectedDataPoints: '1', errorMessage: '1 data points rejected: 1 with a count beyond the int64 range' });
    expect(await storedPoints(r.receiver.db, 'bad-input-overflow')).toEqual([]);
    await stillServing();
  });

  /** Sends `request` in `format`: every point is stored as exported, or left out and counted in the partial success; the plain one is stored. */
  async function storedOrCounted(service: string, request: ReturnType<typeof metricsOf>, format: 'protobuf' | 'json') {
    const partial = partialOf(await send(metricsBody(request, format), format), format, `${service} in ${format}`);
    const rejected = Number(partial.rejectedDataPoints ?? 0);
    if (rejected > 0) expect(partial.errorMessage).toMatch(/data points rejected: /);
    const stored = await storedPoints(r.receiver.db, service);
    const names = new Set(stored.map((p) => p.metric));
    expect(names).toContain('plain');
    const sent = pointsOf(request);
    expect(stored).toEqual(sent.filter((p) => names.has(p.metric)));
    expect(stored.length + rejected).toBe(sent.length);
  }

  it.each(['protobuf', 'json'] as const)('stores points of a 1 MB attribute and of 10,000 attributes beside the others, or leaves them out saying why (%s)', async (format) => {
    const huge = 'h'.repeat(MB);
    const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`attribute.${i}`, i % 2 === 0 ? `value ${i}` : i]));
    const points = metricsOf(`bad-input-huge-${format}`, [
      numberMetric('huge.value', [1], { attributes: { huge } }),
      numberMetric('many.attributes', [2], { attributes: many }),
      numberMetric('plain', [3]),
    ]);
    await storedOrCounted(`bad-input-huge-${format}`, points, format);
    const resource = metricsOf(`bad-input-huge-resource-${format}`, [numberMetric('plain', [4])], { 'host.description': huge, ...many });
    await storedOrCounted(`bad-input-huge-resource-${format}`, resource, format);
  });

  it('leaves out a metric name of 2,000 bytes, counted in bytes, and a run id no index can hold, storing the rest', async () => {
    const good = [numberMetric('n'.repeat(1_000), [1]), numberMetric('€'.repeat(341), [2])];
    const request = metricsOf('bad-input-names', [
      ...good,
      numberMetric('x'.repeat(2_000), [3]),
      // 700 characters, 2,100 bytes.
      numberMetric('€'.repeat(700), [4]),
      numberMetric('long.run', [5], { attributes: { [ATTR.runId]: 'r'.repeat(3_000) } }),
    ]);
    const partial = partialOf(await send(metricsBody(request)));
    expect(partial).toEqual({
      rejectedDataPoints: 3,
      errorMessage: '3 data points rejected: 2 with a metric name over 1024 bytes; 1 with a pipeline, run or stage name over 1024 bytes',
    });
    expect(await storedPoints(r.receiver.db, 'bad-input-names')).toEqual(pointsOf(metricsOf('bad-input-names', good)));
  });

  describe('refuses malformed bodies with a 400 naming the problem, and keeps serving', () => {
    const cases: [string, () => Promise<Answer>, RegExp][] = [
      ['bytes that are no protobuf', () => send(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1])), /protobuf|ExportMetricsServiceRequest/],
      ['a length longer than 10 bytes', () => send(Buffer.from([0x0a, ...Array(11).fill(0xff), 0x01])), /varint|protobuf|ExportMetricsServiceRequest/],
      ['a field of a wrong wire type', () => send(Buffer.from([0x0d, 1, 2, 3, 4])), /wire type|ExportMetricsServiceRequest/],
      ['invalid JSON', () => send('{"resourceMetrics": [', 'json'), /JSON/],
      ['JSON of the wrong types', () => send('{"resourceMetrics": {"a": 1}}', 'json'), /resourceMetrics/],
      ['a data point that is not an object', () => send('{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[7]}}]}]}]}', 'json'), /dataPoints/],
      ['invalid gzip', () => post(r.url, '/v1/metrics', Buffer.from('not gzip'), { key: r.key, headers: { 'content-encoding': 'gzip' } }), /gzip/],
    ];
    it.each(cases)('%s', async (_name, sendIt, message) => {
      const answer = await sendIt();
      expect(answer.status).toBe(400);
      const text = answer.headers.get('content-type')?.includes('json') ? JSON.parse(answer.body.toString()).message : answer.body.toString('latin1');
      expect(text).toMatch(message);
      await stillServing();
    });
  });

  it('answers every cut-off and 300 mutated protobuf requests with a 200 or a 400 naming the problem', async () => {
    const seed = Buffer.from(encode('ExportMetricsServiceRequest', everyFieldRequest(Date.now() - 1000, 'protobuf')));
    const accepted = await receiverCount(r.receiver.metricsUrl, 'pipemon_receiver_accepted_records_total', { signal: 'metrics' });
    const statuses = new Set<number>();
    for (const [i, body] of [...prefixes(seed, 3), ...byteMutants(seed, 300, 11)].entries()) {
      const answer = await send(body);
      answered(answer, 'protobuf', `body ${i} (${body.toString('hex')})`);
      statuses.add(answer.status);
    }
    expect(statuses).toEqual(new Set([200, 400]));
    expect(await receiverCount(r.receiver.metricsUrl, 'pipemon_receiver_accepted_records_total', { signal: 'metrics' })).toBeGreaterThan(accepted);
    await stillServing();
  });

  it('answers 300 JSON requests with an odd value anywhere with a 200 or a 400 naming the problem', async () => {
    const seed = everyFieldRequest(Date.now() - 1000, 'json');
    const statuses = new Set<number>();
    for (const body of jsonMutants(seed, 300, 12)) {
      const answer = await send(body, 'json');
      answered(answer, 'json', body);
      statuses.add(answer.status);
    }
    expect(statuses).toEqual(new Set([200, 400]));
    await stillServing();
  });
});
