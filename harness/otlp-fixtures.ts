/**
 * OTLP fixtures shared by the decoding tests and the benchmarks: the OTLP messages for protobufjs, the
 * realistic logs request a batching SDK sends, and realistic metrics requests as pipelines' SDKs export
 * them. No vitest here: bench/ imports this module too.
 */
import { Buffer } from 'node:buffer';
import { ValueType, type HrTime } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, MeterProvider, MetricReader, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
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

// --- Metrics ------------------------------------------------------------------------------------

/** A reader collected when the fixture says an interval ended, cumulative as the SDK's default. */
class IntervalReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One MeterProvider and its reader; the series it collects all start at `startUnixNano`. */
interface Provider {
  provider: MeterProvider;
  reader: IntervalReader;
  startUnixNano: bigint;
}

const hrTime = (nanos: bigint): HrTime => [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)];

// What every service of the fixture measures: its queues, memory, API calls, sources and record sizes
// (40 data points), and in each run the records read and written and the batch durations per table.
const QUEUES = ['extract', 'transform', 'load', 'retry'];
const MEMORY = ['heap_used', 'heap_total', 'rss', 'external'];
const ENDPOINTS = ['/v2/orders', '/v2/customers', '/v2/invoices', '/v2/products', '/v2/refunds', '/v2/events'];
const STATUSES = [200, 429, 500];
const SOURCES = ['s3://landing/orders', 's3://landing/customers', 'kafka://events', 'postgres://crm', 'sftp://partner-a', 'https://api.vendor', 'gs://exports'];
const TABLES_PER_RUN = 70;
const SERVICES = ['orders-etl', 'customers-sync', 'events-loader', 'billing-export'];
/** Each service's share of a request: 40 + 3 × 70 points. */
export const METRIC_POINTS_PER_SERVICE = 4 + 4 + ENDPOINTS.length * STATUSES.length + ENDPOINTS.length + SOURCES.length + 1 + 3 * TABLES_PER_RUN;
export const METRIC_POINTS_PER_REQUEST = SERVICES.length * METRIC_POINTS_PER_SERVICE;

export interface RealisticMetricsOptions {
  /** When the services started: interval n (from 0) ends `(n + 1) * intervalNanos` later. */
  startUnixNano: bigint;
  /** Default 10 s: the SDK's export interval as pipelines set it (its default is 60 s). */
  intervalNanos?: bigint;
  /** A run lasts this many intervals; the next starts at once, with series of its own. Default 60. */
  intervalsPerRun?: number;
}

/**
 * One service as its OpenTelemetry SDK runs in a pipeline: a MeterProvider for the process, and one per
 * run whose points carry the run's pipeline name and id, as the Node SDK's run meter makes them.
 */
class ServiceMeters {
  private run: Provider | null = null;
  private runNumber = -1;
  private readonly process: Provider;
  private readonly queueDepth = new Map<string, number>();
  private readonly memory = new Map<string, number>();

  constructor(
    private readonly index: number,
    private readonly options: Required<RealisticMetricsOptions>,
  ) {
    this.process = this.newProvider(options.startUnixNano);
    const meter = this.process.provider.getMeter('pipemon-bench', '0.1.0');
    meter.createObservableGauge('pipeline.queue.depth', { unit: '{record}', valueType: ValueType.INT })
      .addCallback((result) => this.queueDepth.forEach((depth, queue) => result.observe(depth, { 'pipeline.queue': queue })));
    meter.createObservableUpDownCounter('process.memory.usage', { unit: 'By', valueType: ValueType.INT })
      .addCallback((result) => this.memory.forEach((bytes, type) => result.observe(bytes, { 'process.memory.type': type })));
  }

  private get name(): string {
    return SERVICES[this.index]!;
  }

  private newProvider(startUnixNano: bigint): Provider {
    const reader = new IntervalReader();
    const provider = new MeterProvider({
      resource: resourceFromAttributes(
        {
          [ATTR.serviceName]: this.name,
          'service.version': '1.4.2',
          'service.namespace': 'data-platform',
          [ATTR.environment]: 'production',
          'host.name': `ip-10-0-3-${17 + this.index}.ec2.internal`,
          'process.pid': 4242 + this.index,
          'telemetry.sdk.language': 'nodejs',
        },
        { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' },
      ),
      readers: [reader],
      views: [{ instrumentName: 'pipeline.record.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    return { provider, reader, startUnixNano };
  }

  /** Measures interval n and returns the service's collections at its end, as serialize() wants them. */
  async interval(n: number): Promise<ResourceMetrics[]> {
    const endUnixNano = this.options.startUnixNano + BigInt(n + 1) * this.options.intervalNanos;
    const runNumber = Math.floor(n / this.options.intervalsPerRun);
    if (runNumber !== this.runNumber) await this.startRun(runNumber, endUnixNano - this.options.intervalNanos);
    this.measureProcess(n);
    this.measureRun(n);
    return Promise.all([this.process, this.run!].map((p) => collectAt(p, endUnixNano)));
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.process, this.run].map((p) => p?.provider.shutdown()));
  }

  private async startRun(runNumber: number, startUnixNano: bigint): Promise<void> {
    await this.run?.provider.shutdown();
    this.run = this.newProvider(startUnixNano);
    this.runNumber = runNumber;
  }

  private measureProcess(n: number): void {
    const meter = this.process.provider.getMeter('pipemon-bench', '0.1.0');
    QUEUES.forEach((queue, q) => this.queueDepth.set(queue, (n * 37 + q * 11 + this.index) % 500));
    MEMORY.forEach((type, m) => this.memory.set(type, (200 + m * 150 + ((n * 7 + this.index) % 50)) * 1024 * 1024));
    // getMeter and create* return the same instrument for the same name: only the first call creates it.
    const calls = meter.createCounter('api.calls', { unit: '{call}', valueType: ValueType.INT });
    const duration = meter.createHistogram('http.client.request.duration', { unit: 's' });
    ENDPOINTS.forEach((endpoint, e) => {
      STATUSES.forEach((status, s) => calls.add(1 + ((n + e + s) % (s === 0 ? 40 : 3)), { 'api.endpoint': endpoint, 'http.response.status_code': status }));
      for (let i = 0; i < 3; i++) duration.record(0.05 + ((n * 13 + e * 7 + i) % 90) / 30, { 'api.endpoint': endpoint });
    });
    const bytes = meter.createCounter('pipeline.source.bytes', { unit: 'By', valueType: ValueType.INT });
    SOURCES.forEach((source, s) => bytes.add(1_000_000 + ((n * 7919 + s * 104_729) % 5_000_000), { 'pipeline.source': source }));
    const size = meter.createHistogram('pipeline.record.size', { unit: 'By' });
    for (let i = 0; i < 50; i++) size.record(200 + ((n * 31 + i * 97) % 4800));
  }

  private measureRun(n: number): void {
    const meter = this.run!.provider.getMeter('pipemon-bench', '0.1.0');
    const identity = { [ATTR.pipelineName]: `${this.name}-nightly`, [ATTR.runId]: `run-${this.name}-${this.runNumber}` };
    const read = meter.createCounter('pipeline.records.read', { unit: '{record}', valueType: ValueType.INT });
    const written = meter.createCounter('pipeline.records.written', { unit: '{record}', valueType: ValueType.INT });
    const batch = meter.createHistogram('pipeline.batch.duration', { unit: 's' });
    for (let t = 0; t < TABLES_PER_RUN; t++) {
      const attributes = { ...identity, [ATTR.dbCollection]: `warehouse.table_${String(t).padStart(2, '0')}` };
      const rows = 1000 + ((n * 11 + t * 37) % 4000);
      read.add(rows, attributes);
      written.add(rows - ((n + t) % 20), attributes);
      for (let i = 0; i < 2; i++) batch.record(0.5 + ((n * 3 + t * 7 + i) % 40) / 10, attributes);
    }
  }
}

/**
 * A collection of `p` stamped at the end of its interval: the SDK stamps the clock's time, and the
 * fixture's intervals pass faster than the clock.
 */
async function collectAt(p: Provider, endUnixNano: bigint): Promise<ResourceMetrics> {
  const { resourceMetrics, errors } = await p.reader.collect();
  if (errors.length > 0) throw new Error(`the metrics fixture's collection failed: ${errors.join('; ')}`);
  const [startTime, endTime] = [hrTime(p.startUnixNano), hrTime(endUnixNano)];
  const scopeMetrics = resourceMetrics.scopeMetrics.map((scope) => ({
    ...scope,
    metrics: scope.metrics.map((metric) => ({ ...metric, dataPoints: metric.dataPoints.map((point) => ({ ...point, startTime, endTime })) }) as MetricData),
  }));
  return { ...resourceMetrics, scopeMetrics };
}

/**
 * Realistic ExportMetricsServiceRequests as the Collector gateway forwards them: each request holds interval
 * n of four services' SDKs (the real @opentelemetry/sdk-metrics, cumulative, serialized by otlp-transformer):
 * 1,000 data points of counters, gauges, an up-down counter, histograms with the SDK's default bounds and
 * an exponential histogram, most of them in runs named by cicd.pipeline.name and cicd.pipeline.run.id.
 * Successive requests are successive intervals, so their points are new; a run's series end with it.
 */
export async function realisticMetricsRequests(count: number, options: RealisticMetricsOptions): Promise<Uint8Array<ArrayBuffer>[]> {
  const resolved = { intervalNanos: 10_000_000_000n, intervalsPerRun: 60, ...options };
  const services = SERVICES.map((_, i) => new ServiceMeters(i, resolved));
  const requests: Uint8Array<ArrayBuffer>[] = [];
  for (let n = 0; n < count; n++) {
    const collections = (await Promise.all(services.map((service) => service.interval(n)))).flat();
    // Requests of one resource each, concatenated: protobuf merges repeated fields, so the bytes are the
    // one request that lists them all.
    requests.push(new Uint8Array(Buffer.concat(collections.map((collected) => ProtobufMetricsSerializer.serializeRequest(collected)!))));
  }
  await Promise.all(services.map((service) => service.shutdown()));
  return requests;
}
