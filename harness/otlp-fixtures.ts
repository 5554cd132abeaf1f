/**
 * OTLP fixtures shared by the decoding tests and the benchmarks: the OTLP messages for protobufjs, and
 * the realistic logs request a batching SDK sends. No vitest here: bench/ imports this module too.
 */
import { Buffer } from 'node:buffer';
import protobuf from 'protobufjs';
import { ATTR } from '../contract/vocabulary.js';

// The OTLP messages (opentelemetry-proto v1), enums as int32 (same wire form), for protobufjs.
const root = protobuf.parse(`
syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
  double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message LogRecord { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; int32 severity_number = 2;
  string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; uint32 dropped_attributes_count = 7;
  fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10; string event_name = 12; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4;
  fixed32 flags = 16; string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10; repeated Event events = 11;
  uint32 dropped_events_count = 12; repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15;
  message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3;
    uint32 dropped_attributes_count = 4; }
  message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5; fixed32 flags = 6; } }
message Status { string message = 2; int32 code = 3; }
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
message ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
message RpcStatus { int32 code = 1; string message = 2; }
`).root;

/** An OTLP message type by its name in opentelemetry-proto ('ExportLogsServiceRequest', 'ScopeLogs', 'RpcStatus'...). */
export function otlpType(name: string): protobuf.Type {
  return root.lookupType(`otlp.${name}`);
}

/**
 * How values are written: 'json' as OTLP/JSON has them (64-bit integers as decimal strings, ids as hex),
 * 'protobuf' as protobufjs's fromObject takes them for the binary encoding (numbers, ids as bytes).
 */
export type OtlpValueShapes = 'json' | 'protobuf';

export type OtlpAnyValue = { stringValue: string } | { intValue: string | number } | { doubleValue: number } | { boolValue: boolean };
export type OtlpKeyValue = { key: string; value: OtlpAnyValue };

export const otlpString = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });

export type RealisticLogRecord = {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: { stringValue: string };
  attributes: OtlpKeyValue[];
  flags: number;
  traceId: string | Buffer;
  spanId: string | Buffer;
};

export type RealisticLogsRequest = {
  resourceLogs: [
    {
      resource: { attributes: OtlpKeyValue[] };
      scopeLogs: [{ scope: { name: string; version: string }; logRecords: RealisticLogRecord[] }];
      schemaUrl: string;
    },
  ];
};

export interface RealisticLogsOptions {
  values: OtlpValueShapes;
  /** Time of the first record; record i is at startUnixNano + i * stepNanos. */
  startUnixNano: bigint;
  stepNanos: bigint;
  /** The instrumentation scope the records are filed under. */
  scope: { name: string; version: string };
  /** Default 1,000. */
  records?: number;
  /** The keys of the pipeline name, run id and stage attributes; default the vocabulary's (contract/vocabulary.ts). */
  pipelineKeys?: { name: string; runId: string; stage: string };
  /** Appended to the service, host and SDK-language attributes of the resource. */
  moreResourceAttributes?: OtlpKeyValue[];
}

/**
 * An ExportLogsServiceRequest as a batching SDK sends it: one resource, one scope, `records` log records
 * (default 1,000), each with a ~100-byte body, 10 attributes of every scalar type, trace and span ids.
 */
export function realisticLogsRequest(options: RealisticLogsOptions): RealisticLogsRequest {
  const json = options.values === 'json';
  const keys = options.pipelineKeys ?? { name: ATTR.pipelineName, runId: ATTR.runId, stage: ATTR.stageName };
  const int = (key: string, value: number): OtlpKeyValue => ({ key, value: { intValue: json ? String(value) : value } });
  const hexOrBytes = (hex: string) => (json ? hex : Buffer.from(hex, 'hex'));
  const logRecords = Array.from({ length: options.records ?? 1000 }, (_, i): RealisticLogRecord => {
    const time = (options.startUnixNano + BigInt(i) * options.stepNanos).toString();
    return {
      timeUnixNano: time,
      observedTimeUnixNano: time,
      severityNumber: 9,
      severityText: 'INFO',
      body: { stringValue: `batch ${i} of orders loaded into warehouse.orders_daily: 4980 rows, 20 rejected, 1.9 s`.padEnd(100, '.') },
      attributes: [
        otlpString(keys.name, 'orders-nightly'),
        otlpString(keys.runId, `run-2024-06-01-${i % 7}`),
        otlpString(keys.stage, 'load'),
        otlpString('db.system', 'postgresql'),
        otlpString(ATTR.dbCollection, 'orders_daily'),
        int('batch.index', i),
        int('batch.rows', 4980),
        int('batch.rejected', 20),
        { key: 'batch.duration_s', value: { doubleValue: 1.9 + i / 1000 } },
        { key: 'batch.retried', value: { boolValue: i % 10 === 0 } },
      ],
      flags: 1,
      traceId: hexOrBytes((0x5b8efff798038103n * 0x10000000000000000n + BigInt(i)).toString(16).padStart(32, '0')),
      spanId: hexOrBytes((0xeee19b7ec3c1b100n + BigInt(i)).toString(16)),
    };
  });
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [
            otlpString(ATTR.serviceName, 'orders-etl'),
            otlpString('service.version', '1.4.2'),
            otlpString('service.namespace', 'data-platform'),
            otlpString(ATTR.environment, 'production'),
            otlpString('host.name', 'ip-10-0-3-17.ec2.internal'),
            int('process.pid', 4242),
            otlpString('telemetry.sdk.language', 'nodejs'),
            ...(options.moreResourceAttributes ?? []),
          ],
        },
        scopeLogs: [{ scope: options.scope, logRecords }],
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      },
    ],
  };
}
