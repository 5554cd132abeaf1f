/**
 * The OTLP metrics decoders: what the OpenTelemetry JS SDK collects, serialized by its exporters'
 * protobuf and JSON serializers, decodes to the same rows either way and to what the SDK collected;
 * what the SDK cannot send (summaries, exemplars, negative buckets, unpacked repeated fields, unknown
 * fields, every OTLP/JSON spelling) is written by hand in both encodings; malformed input, fuzzed too,
 * is refused with a DecodeError naming where, and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { ValueType, type Attributes as SdkAttributes, type HrTime } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
  type ResourceMetrics,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { random } from '../../../bench/query-world.js';
import { ProtobufWriter } from '../../../contract/protobuf-writer.js';
import { decodeMetricsJson } from '../../../receiver/decode/otlp-metrics-json.js';
import { decodeMetricsProtobuf } from '../../../receiver/decode/otlp-metrics-protobuf.js';
import { encodeExportResponseJson } from '../../../receiver/decode/otlp-json.js';
import type { MetricPointRow } from '../../../receiver/model/records.js';
import { decodeRefusal, decodesOrRefuses } from '../../helpers/decode-refusal.js';
import { pointRow } from '../../helpers/rows.js';

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

/** A reader the test collects from when it likes, with the temporality it is given. */
class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Every instrument kind, measured a few times, as one SDK collection with this temporality. */
async function sdkCollection(temporality: AggregationTemporality): Promise<ResourceMetrics> {
  const reader = new CollectingReader({ aggregationTemporalitySelector: () => temporality });
  const provider = new MeterProvider({
    resource: resourceFromAttributes(
      { 'service.name': 'orders-etl', 'host.name': 'worker-3', 'process.pid': 4242 },
      { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' },
    ),
    readers: [reader],
    views: [
      { instrumentName: 'load.duration', aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [0, 10, 100] } } },
      { instrumentName: 'row.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 20 } } },
    ],
  });
  const meter = provider.getMeter('pipemon-test', '0.1.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.25.0' });
  const rows = meter.createCounter('rows.loaded', { description: 'Rows loaded', unit: '{row}', valueType: ValueType.INT });
  rows.add(5, { table: 'orders' });
  rows.add(7, { table: 'orders' });
  rows.add(2, { table: 'customers' });
  const queue = meter.createUpDownCounter('queue.depth', { valueType: ValueType.DOUBLE });
  queue.add(2.5);
  queue.add(-4);
  const duration = meter.createHistogram('load.duration', { unit: 'ms' });
  for (const ms of [0, 5, 5, 50, 500]) duration.record(ms, { stage: 'load' });
  const size = meter.createHistogram('row.size', { unit: 'By' });
  for (const bytes of [0, 1, 2, 3.5, 1024]) size.record(bytes);
  meter.createGauge('lag.seconds').record(12.25, { source: 'kafka' });
  meter.createObservableGauge('workers.busy', { valueType: ValueType.INT }).addCallback((result) => result.observe(3, { pool: 'a' }));
  meter.createObservableCounter('bytes.read', { valueType: ValueType.INT }).addCallback((result) => result.observe(2 ** 40));
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  await provider.shutdown();
  return resourceMetrics;
}

const nanos = ([seconds, ns]: HrTime): string => (BigInt(seconds) * 1_000_000_000n + BigInt(ns)).toString();

/** The rows the decoders should make of an SDK collection, read from the SDK's own objects. */
function sdkRows(collected: ResourceMetrics): MetricPointRow[] {
  const resource = {
    attributes: collected.resource.attributes as Record<string, unknown>,
    schemaUrl: collected.resource.schemaUrl ?? '',
    droppedAttributesCount: 0,
  };
  return collected.scopeMetrics.flatMap((scopeMetrics: ScopeMetrics) => {
    const { name, version = '', schemaUrl = '' } = scopeMetrics.scope;
    const scope = { name, version, attributes: {}, schemaUrl };
    return scopeMetrics.metrics.flatMap((data) => data.dataPoints.map((point) => sdkRow(resource, scope, data, point)));
  });
}

function sdkRow(resource: MetricPointRow['resource'], scope: MetricPointRow['scope'], data: MetricData, point: MetricData['dataPoints'][number]): MetricPointRow {
  const kinds = { [DataPointType.GAUGE]: 'gauge', [DataPointType.SUM]: 'sum', [DataPointType.HISTOGRAM]: 'histogram', [DataPointType.EXPONENTIAL_HISTOGRAM]: 'exponential_histogram' } as const;
  const kind = kinds[data.dataPointType];
  const row = pointRow({
    resource,
    scope,
    metric: {
      name: data.descriptor.name,
      description: data.descriptor.description,
      unit: data.descriptor.unit,
      kind,
      temporality: kind === 'gauge' ? 0 : data.aggregationTemporality === AggregationTemporality.DELTA ? 1 : 2,
      monotonic: data.dataPointType === DataPointType.SUM && data.isMonotonic,
      metadata: {},
    },
    attributes: point.attributes as SdkAttributes,
    startTimeUnixNano: nanos(point.startTime),
    timeUnixNano: nanos(point.endTime),
    asInt: null,
  });
  const value = point.value;
  if (typeof value === 'number') {
    if (data.descriptor.valueType === ValueType.INT) row.asInt = String(value);
    else row.asDouble = value;
  } else {
    Object.assign(row, { count: String(value.count), sum: value.sum ?? null, min: value.min ?? null, max: value.max ?? null });
    if ('buckets' in value) {
      Object.assign(row, { bucketCounts: value.buckets.counts.map(String), explicitBounds: value.buckets.boundaries });
    } else {
      const buckets = ({ offset, bucketCounts }: { offset: number; bucketCounts: number[] }) => ({ offset, bucketCounts: bucketCounts.map(String) });
      row.exponential = { scale: value.scale, zeroCount: String(value.zeroCount), zeroThreshold: 0, positive: buckets(value.positive), negative: buckets(value.negative) };
    }
  }
  return row;
}

function bothEncodings(collected: ResourceMetrics): { protobuf: MetricPointRow[]; json: MetricPointRow[] } {
  const protobuf = decodeMetricsProtobuf(ProtobufMetricsSerializer.serializeRequest(collected)!);
  const json = decodeMetricsJson(new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(collected)));
  return { protobuf, json };
}

const byName = (rows: MetricPointRow[], name: string) => rows.filter((row) => row.metric.name === name);

describe('metrics from the OpenTelemetry JS SDK', () => {
  for (const [label, temporality, expected] of [
    ['cumulative', AggregationTemporality.CUMULATIVE, 2],
    ['delta', AggregationTemporality.DELTA, 1],
  ] as const) {
    it(`decode every instrument kind (${label}) to the same rows from protobuf and JSON, as the SDK collected them`, async () => {
      const collected = await sdkCollection(temporality);
      const { protobuf, json } = bothEncodings(collected);
      expect(json).toEqual(protobuf);
      expect(protobuf).toEqual(sdkRows(collected));

      // What was measured, not only what the SDK made of it.
      expect(protobuf).toHaveLength(8);
      const loaded = byName(protobuf, 'rows.loaded');
      expect(loaded.map((row) => [row.attributes, row.asInt, row.asDouble])).toEqual([
        [{ table: 'orders' }, '12', null],
        [{ table: 'customers' }, '2', null],
      ]);
      expect(loaded[0]!.metric).toMatchObject({ kind: 'sum', temporality: expected, monotonic: true, description: 'Rows loaded', unit: '{row}' });
      expect(byName(protobuf, 'queue.depth')[0]).toMatchObject({ asDouble: -1.5, asInt: null, metric: { kind: 'sum', monotonic: false } });
      expect(byName(protobuf, 'load.duration')[0]).toMatchObject({
        metric: { kind: 'histogram', temporality: expected, monotonic: false },
        attributes: { stage: 'load' },
        count: '5',
        sum: 560,
        min: 0,
        max: 500,
        bucketCounts: ['1', '2', '1', '1'],
        explicitBounds: [0, 10, 100],
        exponential: null,
      });
      const size = byName(protobuf, 'row.size')[0]!;
      expect(size).toMatchObject({ metric: { kind: 'exponential_histogram', temporality: expected }, count: '5', sum: 1030.5, min: 0, max: 1024 });
      expect(size.exponential!.zeroCount).toBe('1');
      expect(size.exponential!.positive.bucketCounts.reduce((sum, count) => sum + Number(count), 0)).toBe(4);
      expect(byName(protobuf, 'lag.seconds')[0]).toMatchObject({ asDouble: 12.25, metric: { kind: 'gauge', temporality: 0 } });
      expect(byName(protobuf, 'workers.busy')[0]).toMatchObject({ asInt: '3', attributes: { pool: 'a' }, metric: { kind: 'gauge' } });
      expect(byName(protobuf, 'bytes.read')[0]).toMatchObject({ asInt: String(2 ** 40), metric: { kind: 'sum', temporality: expected, monotonic: true } });
      for (const row of protobuf) expect(BigInt(row.timeUnixNano)).toBeGreaterThanOrEqual(BigInt(row.startTimeUnixNano));
    });
  }

  it('shares one resource, scope and metric object among the rows they hold, in both decoders', async () => {
    const { protobuf, json } = bothEncodings(await sdkCollection(AggregationTemporality.CUMULATIVE));
    for (const rows of [protobuf, json]) {
      const [orders, customers] = byName(rows, 'rows.loaded');
      expect(customers!.metric).toBe(orders!.metric);
      expect(rows.every((row) => row.resource === rows[0]!.resource && row.scope === rows[0]!.scope)).toBe(true);
      expect(byName(rows, 'queue.depth')[0]!.metric).not.toBe(orders!.metric);
    }
  });
});

// Hand-written messages: what the SDK cannot send. Protobuf by ProtobufWriter, JSON as clients write it.
const message = (write: (w: ProtobufWriter) => ProtobufWriter): Uint8Array => write(new ProtobufWriter()).finish();
const anyString = (s: string) => message((w) => w.stringField(1, s));
const keyValue = (key: string, value: Uint8Array) => message((w) => w.stringField(1, key).bytesField(2, value));
const zigzag = (n: number): number => (n << 1) ^ (n >> 31);
/** Packed fixed64s or doubles: eight bytes each, little-endian. */
function packed8<T>(values: T[], set: (view: DataView, at: number, value: T) => void): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  values.forEach((value, i) => set(new DataView(bytes.buffer), i * 8, value));
  return bytes;
}
const fixed64s = (values: bigint[]) => packed8(values, (view, at, value) => view.setBigUint64(at, value, true));
const doubles = (values: number[]) => packed8(values, (view, at, value) => view.setFloat64(at, value, true));
/** Packed uint64 varints: ProtobufWriter writes a varint field's tag too, so the tag bytes are cut off. */
const varints = (values: bigint[]) => Uint8Array.from(values.flatMap((v) => [...message((w) => w.varintField(1, v)).subarray(1)]));
const T0 = 1_700_000_000_000_000_000n;
const BIG = 2n ** 60n + 1n; // past 2^53: only a decimal string holds it exactly
/** Fields no decoder knows: every message must skip them. */
const unknown = (w: ProtobufWriter) => w.varintField(99, 7).stringField(98, 'later').fixed64Field(97, 1n);

function exemplarBytes(value: (w: ProtobufWriter) => ProtobufWriter): Uint8Array {
  return message((w) =>
    unknown(value(w.bytesField(7, keyValue('pipeline.run', anyString('r-1'))).fixed64Field(2, T0 + 5n)))
      .bytesField(4, Buffer.from(SPAN_ID, 'hex'))
      .bytesField(5, Buffer.from(TRACE_ID, 'hex')),
  );
}

/** A request with every kind, every field, exemplars everywhere, both packed and unpacked repeated fields. */
function handRequestProtobuf(): Uint8Array {
  const times = (w: ProtobufWriter) => w.fixed64Field(2, T0).fixed64Field(3, T0 + 60_000_000_000n);
  const gauge = message((w) =>
    unknown(
      times(w.stringField(1, 'labels are gone'))
        .bytesField(7, keyValue('k', anyString('v')))
        .doubleField(4, 1.5) // replaced by as_int below: a oneof keeps the last
        .fixed64Field(6, -42n)
        .bytesField(5, exemplarBytes((e) => e.fixed64Field(6, -(2n ** 63n))))
        .varintField(8, 1),
    ),
  );
  const sumPoint = message((w) => times(w).doubleField(4, NaN).bytesField(5, exemplarBytes((e) => e.doubleField(3, Infinity))));
  const histogramPoint = message((w) =>
    unknown(times(w))
      .fixed64Field(4, BIG)
      .doubleField(5, 0)
      .bytesField(6, fixed64s([1n, 2n])) // packed
      .fixed64Field(6, BIG - 3n) // then one more unpacked
      .doubleField(7, -Infinity)
      .bytesField(7, doubles([0.5])) // unpacked, then packed
      .bytesField(8, exemplarBytes((e) => e.fixed64Field(6, 7n)))
      .bytesField(9, keyValue('stage', anyString('load')))
      .varintField(10, 0)
      .doubleField(11, -Infinity)
      .doubleField(12, 1e300),
  );
  const exponentialPoint = message((w) =>
    unknown(times(w.bytesField(1, keyValue('table', anyString('orders')))))
      .fixed64Field(4, 9n)
      .doubleField(5, -2.5)
      .varintField(6, zigzag(-3))
      .fixed64Field(7, 1n)
      .bytesField(8, message((b) => unknown(b.varintField(1, zigzag(-2)).bytesField(2, varints([1n, 2n ** 63n])))))
      .bytesField(9, message((b) => b.varintField(1, zigzag(5)).varintField(2, 3n).varintField(2, 4n)))
      .varintField(10, 1)
      .bytesField(11, exemplarBytes((e) => e.doubleField(3, -0.25)))
      .doubleField(12, -8)
      .doubleField(13, 4)
      .doubleField(14, 1e-9),
  );
  const quantile = (q: number, v: number) => message((w) => unknown(w.doubleField(1, q).doubleField(2, v)));
  const summaryPoint = message((w) =>
    unknown(times(w))
      .fixed64Field(4, 3n)
      .doubleField(5, 12)
      .bytesField(6, quantile(0, 1))
      .bytesField(6, quantile(0.99, NaN))
      .bytesField(7, keyValue('stage', anyString('load')))
      .varintField(8, 1),
  );
  const metric = (name: string, field: number, data: Uint8Array, more = (w: ProtobufWriter) => w) =>
    message((w) => more(unknown(w.stringField(1, name).stringField(2, `${name} described`).stringField(3, '1').bytesField(field, data))));
  const metrics = [
    metric('g', 5, message((w) => unknown(w.bytesField(1, gauge)))),
    metric('s', 7, message((w) => w.bytesField(1, sumPoint).varintField(2, 1).varintField(3, 1))),
    metric('h', 9, message((w) => w.varintField(2, 2).bytesField(1, histogramPoint))), // temporality before its points
    metric('e', 10, message((w) => w.bytesField(1, exponentialPoint).varintField(2, 1))),
    metric('q', 11, message((w) => w.bytesField(1, summaryPoint)), (w) => w.bytesField(12, keyValue('prometheus.type', anyString('summary')))),
  ];
  const scopeMetrics = message((w) => {
    unknown(w.bytesField(1, message((s) => s.stringField(1, 'etl').stringField(2, '2.0'))));
    for (const m of metrics) w.bytesField(2, m);
    return w.stringField(3, 'https://opentelemetry.io/schemas/1.25.0');
  });
  const resourceMetrics = message((w) =>
    unknown(w.bytesField(1, message((r) => r.bytesField(1, keyValue('service.name', anyString('orders-etl'))))))
      .bytesField(2, scopeMetrics)
      .stringField(3, 'https://opentelemetry.io/schemas/1.26.0'),
  );
  return message((w) => unknown(w.bytesField(1, resourceMetrics)));
}

/** The same request as OTLP/JSON clients write it: camelCase and snake_case, enum names, strings for int64 and special doubles. */
function handRequestJson(): string {
  const times = { startTimeUnixNano: String(T0), time_unix_nano: String(T0 + 60_000_000_000n) };
  const exemplar = (value: object) => ({
    filteredAttributes: [{ key: 'pipeline.run', value: { stringValue: 'r-1' } }],
    timeUnixNano: String(T0 + 5n),
    ...value,
    spanId: SPAN_ID.toUpperCase(),
    trace_id: TRACE_ID,
    unknownField: 1,
  });
  const request = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'orders-etl' } }] },
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scope_metrics: [
          {
            scope: { name: 'etl', version: '2.0' },
            schema_url: 'https://opentelemetry.io/schemas/1.25.0',
            metrics: [
              {
                name: 'g',
                description: 'g described',
                unit: '1',
                gauge: {
                  dataPoints: [
                    { attributes: [{ key: 'k', value: { stringValue: 'v' } }], ...times, asDouble: 1.5, as_int: '-42', exemplars: [exemplar({ asInt: '-9223372036854775808' })], flags: 1 },
                  ],
                },
              },
              {
                name: 's',
                description: 's described',
                unit: '1',
                sum: { data_points: [{ ...times, asDouble: 'NaN', exemplars: [exemplar({ as_double: 'Infinity' })] }], aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA', is_monotonic: true },
              },
              {
                name: 'h',
                description: 'h described',
                unit: '1',
                histogram: {
                  aggregation_temporality: 2,
                  dataPoints: [
                    {
                      ...times,
                      count: String(BIG),
                      sum: 0,
                      bucket_counts: [1, '2', String(BIG - 3n)],
                      explicitBounds: ['-Infinity', 0.5],
                      exemplars: [exemplar({ asInt: 7 })],
                      attributes: [{ key: 'stage', value: { stringValue: 'load' } }],
                      flags: 0,
                      min: '-Infinity',
                      max: 1e300,
                    },
                  ],
                },
              },
              {
                name: 'e',
                description: 'e described',
                unit: '1',
                exponentialHistogram: {
                  dataPoints: [
                    {
                      attributes: [{ key: 'table', value: { stringValue: 'orders' } }],
                      ...times,
                      count: 9,
                      sum: -2.5,
                      scale: -3,
                      zero_count: '1',
                      positive: { offset: -2, bucketCounts: ['1', '9223372036854775808'] },
                      negative: { offset: '5', bucket_counts: [3, 4] },
                      flags: 1,
                      exemplars: [exemplar({ asDouble: -0.25 })],
                      min: -8,
                      max: 4,
                      zeroThreshold: 1e-9,
                    },
                  ],
                  aggregationTemporality: 1,
                },
              },
              {
                name: 'q',
                description: 'q described',
                unit: '1',
                summary: {
                  dataPoints: [
                    {
                      ...times,
                      count: '3',
                      sum: 12,
                      quantile_values: [{ quantile: 0, value: 1 }, { quantile: 0.99, value: 'NaN' }],
                      attributes: [{ key: 'stage', value: { stringValue: 'load' } }],
                      flags: 1,
                    },
                  ],
                },
                metadata: [{ key: 'prometheus.type', value: { stringValue: 'summary' } }],
              },
            ],
          },
        ],
      },
    ],
  };
  return JSON.stringify(request);
}

describe('what the SDK cannot send, written by hand', () => {
  it('decodes summaries, exemplars, metadata, flags, special doubles and 64-bit values field for field', () => {
    const rows = decodeMetricsProtobuf(handRequestProtobuf());
    expect(rows.map((row) => [row.metric.name, row.metric.kind, row.metric.temporality, row.metric.monotonic])).toEqual([
      ['g', 'gauge', 0, false],
      ['s', 'sum', 1, true],
      ['h', 'histogram', 2, false],
      ['e', 'exponential_histogram', 1, false],
      ['q', 'summary', 0, false],
    ]);
    const [gauge, sum, histogram, exponential, summary] = rows as [MetricPointRow, MetricPointRow, MetricPointRow, MetricPointRow, MetricPointRow];
    expect(gauge.resource).toEqual({ attributes: { 'service.name': 'orders-etl' }, schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', droppedAttributesCount: 0 });
    expect(gauge.scope).toEqual({ name: 'etl', version: '2.0', attributes: {}, schemaUrl: 'https://opentelemetry.io/schemas/1.25.0' });
    expect(gauge).toMatchObject({
      attributes: { k: 'v' },
      startTimeUnixNano: String(T0),
      timeUnixNano: String(T0 + 60_000_000_000n),
      flags: 1,
      asDouble: null,
      asInt: '-42',
      count: '0',
      sum: null,
      exponential: null,
    });
    expect(gauge.exemplars).toEqual([
      { filteredAttributes: { 'pipeline.run': 'r-1' }, timeUnixNano: String(T0 + 5n), value: '-9223372036854775808', traceId: TRACE_ID, spanId: SPAN_ID },
    ]);
    expect(gauge.metric.description).toBe('g described');
    expect(sum.asDouble).toBeNaN();
    expect(sum.exemplars[0]!.value).toBe(Infinity);
    expect(histogram).toMatchObject({
      attributes: { stage: 'load' },
      count: String(BIG),
      sum: 0,
      min: -Infinity,
      max: 1e300,
      bucketCounts: ['1', '2', String(BIG - 3n)],
      explicitBounds: [-Infinity, 0.5],
      asDouble: null,
      asInt: null,
    });
    expect(histogram.exemplars[0]!.value).toBe(7);
    expect(exponential).toMatchObject({ count: '9', sum: -2.5, min: -8, max: 4, flags: 1, attributes: { table: 'orders' } });
    expect(exponential.exponential).toEqual({
      scale: -3,
      zeroCount: '1',
      zeroThreshold: 1e-9,
      positive: { offset: -2, bucketCounts: ['1', '9223372036854775808'] },
      negative: { offset: 5, bucketCounts: ['3', '4'] },
    });
    expect(exponential.exemplars[0]!.value).toBe(-0.25);
    expect(summary).toMatchObject({ count: '3', sum: 12, flags: 1, min: null, max: null, bucketCounts: [], metric: { metadata: { 'prometheus.type': 'summary' } } });
    expect(summary.quantileValues).toEqual([
      { quantile: 0, value: 1 },
      { quantile: 0.99, value: NaN },
    ]);
  });

  it('decodes the same request written in OTLP/JSON to deep-equal rows', () => {
    expect(decodeMetricsJson(handRequestJson())).toEqual(decodeMetricsProtobuf(handRequestProtobuf()));
  });

  it('gives points without fields their empty values, the same in both encodings', () => {
    const kinds = [5, 7, 9, 10, 11];
    const protobuf = decodeMetricsProtobuf(
      message((w) =>
        w.bytesField(1, message((r) => r.bytesField(2, message((s) => {
          for (const field of kinds) s.bytesField(2, message((m) => m.bytesField(field, message((d) => d.bytesField(1, new Uint8Array(0))))));
          return s;
        })))),
      ),
    );
    const json = decodeMetricsJson(
      JSON.stringify({
        resourceMetrics: [{ scopeMetrics: [{ metrics: ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'].map((kind) => ({ [kind]: { dataPoints: [{}] } })) }] }],
      }),
    );
    expect(json).toEqual(protobuf);
    expect(protobuf.map((row) => [row.metric.kind, row.count, row.sum, row.exponential])).toEqual([
      ['gauge', '0', null, null],
      ['sum', '0', null, null],
      ['histogram', '0', null, null],
      ['exponential_histogram', '0', null, { scale: 0, zeroCount: '0', zeroThreshold: 0, positive: { offset: 0, bucketCounts: [] }, negative: { offset: 0, bucketCounts: [] } }],
      ['summary', '0', 0, null], // a summary's sum is a plain double: absent means 0
    ]);
    expect(protobuf[0]).toMatchObject({ startTimeUnixNano: '0', timeUnixNano: '0', asDouble: null, asInt: null, attributes: {}, exemplars: [] });
  });

  it('keeps only the last of a Metric\'s data fields, as a oneof, and merges a repeated one', () => {
    const point = (value: number) => message((w) => w.doubleField(4, value));
    const rows = decodeMetricsProtobuf(
      message((w) =>
        w.bytesField(1, message((r) => r.bytesField(2, message((s) =>
          s.bytesField(2, message((m) =>
            m
              .bytesField(5, message((d) => d.bytesField(1, point(1))))
              .bytesField(7, message((d) => d.bytesField(1, point(2)).varintField(2, 2)))
              .bytesField(7, message((d) => d.bytesField(1, point(3)).varintField(3, 1))),
          )),
        )))),
      ),
    );
    expect(rows.map((row) => row.asDouble)).toEqual([2, 3]);
    expect(rows[0]!.metric).toMatchObject({ kind: 'sum', temporality: 2, monotonic: true });
    const json = decodeMetricsJson(
      '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"asDouble":1}]},"sum":{"dataPoints":[{"asInt":"2","asDouble":3}]}}]}]}]}',
    );
    expect(json.map((row) => [row.metric.kind, row.asDouble, row.asInt])).toEqual([['sum', 3, null]]);
  });

  it('decodes an empty request, and a metric without data, to no rows', () => {
    expect(decodeMetricsProtobuf(new Uint8Array(0))).toEqual([]);
    expect(decodeMetricsJson('{}')).toEqual([]);
    expect(decodeMetricsJson('{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":null}]}]}]}')).toEqual([]);
  });
});

describe('refusals', () => {
  const inPoint = (kindField: number, point: Uint8Array) =>
    message((w) => w.bytesField(1, message((r) => r.bytesField(2, message((s) => s.bytesField(2, message((m) => m.bytesField(kindField, message((d) => d.bytesField(1, point))))))))));

  it('names the field, message and byte of malformed protobuf', () => {
    expect(decodeRefusal(() => decodeMetricsProtobuf(inPoint(9, message((w) => w.bytesField(6, new Uint8Array(5))))))).toMatch(
      /^truncated protobuf: field 6 of HistogramDataPoint at byte \d+ needs 8 bytes, 5 remain$/,
    );
    expect(decodeRefusal(() => decodeMetricsProtobuf(inPoint(5, message((w) => w.varintField(4, 1)))))).toMatch(
      /^invalid protobuf: field 4 of NumberDataPoint at byte \d+ has wire type 0, expected 1$/,
    );
    expect(decodeRefusal(() => decodeMetricsProtobuf(inPoint(10, message((w) => w.bytesField(8, Uint8Array.of(0x10, 0x80)))))))
      .toMatch(/^truncated protobuf: varint in field 2 of ExponentialHistogramDataPoint.Buckets at byte \d+ runs past the end$/);
    const metricOfWrongWire = message((w) => w.bytesField(1, message((r) => r.bytesField(2, message((s) => s.bytesField(2, message((m) => m.varintField(7, 1))))))));
    expect(decodeRefusal(() => decodeMetricsProtobuf(metricOfWrongWire))).toMatch(/field 7 of Metric at byte \d+ has wire type 0, expected 2/);
    let deep = anyString('leaf');
    for (let i = 0; i < 3000; i++) deep = message((w) => w.bytesField(5, message((a) => a.bytesField(1, deep))));
    const exemplar = message((w) => w.bytesField(7, keyValue('deep', deep)));
    expect(decodeRefusal(() => decodeMetricsProtobuf(inPoint(5, message((w) => w.bytesField(5, exemplar)))))).toMatch(/nested deeper than 32 levels/);
  });

  it('names the JSON path of a wrong value', () => {
    const request = (metric: object) => JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [metric] }] }] });
    const at = 'resourceMetrics[0].scopeMetrics[0].metrics[0]';
    const cases: [object, string][] = [
      [{ histogram: { dataPoints: [{ bucketCounts: [1, -1] }] } }, `${at}.histogram.dataPoints[0].bucketCounts[1]: expected a non-negative 64-bit integer`],
      [{ sum: { aggregationTemporality: 'AGGREGATION_TEMPORALITY_WEEKLY' } }, `${at}.sum.aggregationTemporality: expected an enum number or name, got "AGGREGATION_TEMPORALITY_WEEKLY"`],
      [{ sum: { isMonotonic: 'yes' } }, `${at}.sum.isMonotonic: expected a boolean, got "yes"`],
      [{ exponentialHistogram: { dataPoints: [{ scale: 1.5 }] } }, `${at}.exponentialHistogram.dataPoints[0].scale: expected a 32-bit integer`],
      [{ exponentialHistogram: { dataPoints: [{ negative: { offset: 2 ** 31 } }] } }, `${at}.exponentialHistogram.dataPoints[0].negative.offset: expected a 32-bit integer`],
      [{ gauge: { dataPoints: [{ asInt: 1.5 }] } }, `${at}.gauge.dataPoints[0].asInt: expected a 64-bit integer`],
      [{ gauge: { dataPoints: [{ asDouble: 'many' }] } }, `${at}.gauge.dataPoints[0].asDouble: expected a number, got "many"`],
      [{ gauge: { dataPoints: [{ exemplars: [{ spanId: 'xyz1' }] }] } }, `${at}.gauge.dataPoints[0].exemplars[0].spanId: expected a hex string`],
      [{ summary: { dataPoints: [{ quantileValues: [{ quantile: [] }] }] } }, `${at}.summary.dataPoints[0].quantileValues[0].quantile: expected a number, got array`],
      [{ summary: [] }, `${at}.summary: expected an object, got array`],
      [{ metadata: [{ key: 1 }] }, `${at}.metadata[0].key: expected a string, got 1`],
    ];
    for (const [metric, message] of cases) expect(decodeRefusal(() => decodeMetricsJson(request(metric)))).toContain(message);
    expect(decodeRefusal(() => decodeMetricsJson('{"resourceMetrics": ['))).toMatch(/^body is not valid JSON/);
  });
});

describe('fuzzed bodies (fixed seeds) decode to rows or a DecodeError, nothing else', async () => {
  const sdk = await sdkCollection(AggregationTemporality.CUMULATIVE);
  const validProtobuf = [ProtobufMetricsSerializer.serializeRequest(sdk)!, handRequestProtobuf()];
  const validJson = [new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(sdk)), handRequestJson()];

  it('every truncation of a valid protobuf body', () => {
    for (const body of validProtobuf) for (let i = 0; i < body.length; i++) decodesOrRefuses(() => decodeMetricsProtobuf(body.subarray(0, i)));
  });

  it('random bytes and random corruptions of valid protobuf bodies', () => {
    const next = random(42);
    const byte = () => Math.floor(next() * 256);
    for (let i = 0; i < 4000; i++) {
      let bytes: Uint8Array;
      if (i % 4 === 0) {
        bytes = Uint8Array.from({ length: Math.floor(next() * 200) }, byte);
      } else {
        bytes = Uint8Array.from(validProtobuf[i % 2]!);
        for (let k = 1 + Math.floor(next() * 4); k > 0; k--) bytes[Math.floor(next() * bytes.length)] = byte();
      }
      decodesOrRefuses(() => decodeMetricsProtobuf(bytes));
    }
  });

  it('every truncation of a valid JSON body, and any value anywhere replaced by another', () => {
    for (const body of validJson) for (let i = 0; i < body.length; i += 7) decodesOrRefuses(() => decodeMetricsJson(body.slice(0, i)));
    const next = random(7);
    const replacements = [null, true, -1, 1.5, 2 ** 64, '', 'NaN', '-Infinity', 'x', '-9223372036854775809', 'AGGREGATION_TEMPORALITY_DELTA', [], {}, [1], { a: 1 }];
    for (let i = 0; i < 3000; i++) {
      const root = JSON.parse(validJson[i % 2]!) as unknown;
      const nodes = containers(root);
      const [parent, key] = nodes[Math.floor(next() * nodes.length)]!;
      (parent as Record<string | number, unknown>)[key] = replacements[Math.floor(next() * replacements.length)];
      decodesOrRefuses(() => decodeMetricsJson(JSON.stringify(root)));
    }
  });
});

/** Every [container, key] pair of a parsed JSON value: the places a fuzzer may put another value. */
function containers(value: unknown, out: [object, string | number][] = []): [object, string | number][] {
  if (typeof value !== 'object' || value === null) return out;
  for (const [key, item] of Object.entries(value)) {
    out.push([value, Array.isArray(value) ? Number(key) : key]);
    containers(item, out);
  }
  return out;
}

describe('export responses', () => {
  it('count rejected data points in JSON as ExportMetricsPartialSuccess does', () => {
    expect(JSON.parse(encodeExportResponseJson('metrics', 3, 'NaN count'))).toEqual({ partialSuccess: { rejectedDataPoints: '3', errorMessage: 'NaN count' } });
    expect(encodeExportResponseJson('metrics', 0, '')).toBe('{}');
  });
});
