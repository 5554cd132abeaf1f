/**
 * The OTLP metrics messages (opentelemetry-proto v1 metrics.proto and its service's request and response)
 * for protobufjs, added to the root of harness/otlp-fixtures.ts, whose KeyValue, Resource and
 * InstrumentationScope they use, so that otlpType() and test/helpers/otlp-decode.ts's encode() know them.
 * They are added once, and not at all when that root has them already.
 */
import protobuf from 'protobufjs';
import { otlpType } from '../../harness/otlp-fixtures.js';

const METRICS_PROTO = `
syntax = "proto3";
package otlp;
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric { string name = 1; string description = 2; string unit = 3; repeated KeyValue metadata = 12;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10;
    Summary summary = 11; } }
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message Summary { repeated SummaryDataPoint data_points = 1; }
message NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; } repeated Exemplar exemplars = 5; uint32 flags = 8; }
message HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
  repeated Exemplar exemplars = 8; uint32 flags = 10; optional double min = 11; optional double max = 12; }
message ExponentialHistogramDataPoint { repeated KeyValue attributes = 1; fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3; fixed64 count = 4; optional double sum = 5; sint32 scale = 6; fixed64 zero_count = 7;
  Buckets positive = 8; Buckets negative = 9; uint32 flags = 10; repeated Exemplar exemplars = 11; optional double min = 12;
  optional double max = 13; double zero_threshold = 14;
  message Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; } }
message SummaryDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; double sum = 5; repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8;
  message ValueAtQuantile { double quantile = 1; double value = 2; } }
message Exemplar { repeated KeyValue filtered_attributes = 7; fixed64 time_unix_nano = 2;
  oneof value { double as_double = 3; sfixed64 as_int = 6; } bytes span_id = 4; bytes trace_id = 5; }
message ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; }
message ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }
`;

const root = otlpType('KeyValue').root;
if (root.lookup('otlp.ExportMetricsServiceRequest') === null) protobuf.parse(METRICS_PROTO, root);

/** Ids as each encoding has them: hex in OTLP/JSON, bytes for protobufjs. */
const id = (hex: string, shape: 'json' | 'protobuf') => (shape === 'json' ? hex : Buffer.from(hex, 'hex'));

/**
 * An ExportMetricsServiceRequest of every kind and field, summaries, exemplars, metadata and flags
 * included (which the JS SDK never sends), timed `atMs`: in the form OTLP/JSON has it, or as protobufjs's
 * fromObject takes it for the binary encoding.
 */
export function everyFieldRequest(atMs: number, shape: 'json' | 'protobuf'): Record<string, unknown> {
  const time = `${atMs}000000`;
  const start = `${atMs - 60_000}000000`;
  const exemplars = [
    { filteredAttributes: [{ key: 'user', value: { stringValue: 'u1' } }], timeUnixNano: time, asDouble: 0.5, traceId: id('5b8efff798038103d269b633813fc60c', shape), spanId: id('eee19b7ec3c1b174', shape) },
    { timeUnixNano: time, asInt: '9007199254740993' },
  ];
  const attributes = [
    { key: 'table', value: { stringValue: 'orders' } },
    { key: 'size', value: { intValue: '500' } },
    { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'eu' }, { boolValue: true }] } } },
    { key: 'where', value: { kvlistValue: { values: [{ key: 'db', value: { stringValue: 'crm' } }] } } },
  ];
  const point = { attributes, startTimeUnixNano: start, timeUnixNano: time, flags: 1 };
  const metrics = [
    { name: 'g', unit: '1', metadata: [{ key: 'origin', value: { stringValue: 'fuzz' } }], gauge: { dataPoints: [{ ...point, asDouble: 1.5, exemplars }] } },
    { name: 's', description: 'sum', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ ...point, asInt: '-42' }] } },
    {
      name: 'h',
      histogram: { aggregationTemporality: 2, dataPoints: [{ ...point, count: '6', sum: 7.5, bucketCounts: ['1', '2', '3'], explicitBounds: [1, 5], min: 0.1, max: 9, exemplars }] },
    },
    {
      name: 'e',
      exponentialHistogram: {
        aggregationTemporality: 2,
        dataPoints: [{ ...point, count: '5', sum: 3, scale: -2, zeroCount: '1', zeroThreshold: 0.001, positive: { offset: -3, bucketCounts: ['1', '2'] }, negative: { offset: 1, bucketCounts: ['1'] }, min: -4, max: 2 }],
      },
    },
    { name: 'q', summary: { dataPoints: [{ ...point, count: '3', sum: 9, quantileValues: [{ quantile: 0.5, value: 2 }, { quantile: 1, value: 4 }] }] } },
  ];
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }, { key: 'cicd.pipeline.run.id', value: { stringValue: 'fuzz-run' } }] },
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scopeMetrics: [{ scope: { name: 'fuzz-scope', version: '1' }, schemaUrl: 'https://opentelemetry.io/schemas/1.25.0', metrics }],
      },
    ],
  };
}
