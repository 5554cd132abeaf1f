/**
 * Ingest speed of the receiver against the database's own ceiling, on the embedded default (the npm
 * package's PostgreSQL server, as npm start runs it) and on Debian's PostgreSQL server where installed,
 * both with durable defaults (fsync and synchronous_commit on), each measurement on fresh tables:
 *
 * - end_to_end: a receiver (in this process) taking OTLP protobuf requests of 1,000 realistic log
 *   records from concurrent clients, each answered 200 after COMMIT;
 * - end_to_end_grpc: the same requests to the same receiver over OTLP/gRPC (grpc-js clients), in
 *   the same rounds, alternating which transport goes first; grpc_vs_http is the median ratio;
 * - raw_copy: the same rows rendered by the receiver's renderLog and COPYed straight into log_streams
 *   and log_records, 5,000-row batches, on one connection and on two in parallel (the receiver overlaps
 *   two transactions): the ceiling, with no HTTP, decoding, idempotency or group commit;
 * - bytes on disk per record of the rows stored end to end (receiver/storage/log-bytes.ts), beside the
 *   same rows in the layout before migration 4 (copied into logs_v1) and their OTLP protobuf size;
 * - insert_per_record: one INSERT per record, as a logging API that stores each posted record on its own does, on a smaller sample
 *   (embedded default only);
 * - overload: a receiver with a small --max-queue-bytes budget under many clients that resend at once
 *   (embedded default only);
 * - metrics: end_to_end, end_to_end_grpc and raw_copy as above for OTLP metrics (POST /v1/metrics and
 *   MetricsService/Export), with requests of 1,000 data points as four services' OpenTelemetry SDKs
 *   export them each interval (harness/otlp-fixtures.ts), each request the next interval; raw COPY
 *   renders them by renderPoint into metric_streams (each series once) and metric_points; and bytes on
 *   disk per point of both tables (receiver/storage/point-bytes.ts) beside their OTLP protobuf size.
 *
 * Every run checks rows stored == records (or points) acknowledged, and that a request sent again once
 * stored is answered 200, counted as duplicates and stores nothing new. Requests refused on the way (a 503 or
 * UNAVAILABLE outside the overload run) are counted with their messages in the JSON rather than ending
 * the run. Prints one JSON object. `--small` runs each part at a size that takes seconds (CI runs it:
 * test/bench/ingest.test.ts): its figures say the parts work, not how fast.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as GrpcClient, Metadata, credentials, status as grpcStatus } from '@grpc/grpc-js';
import pg from 'pg';
import protobuf from 'protobufjs';
import { startReceiver, type Receiver } from '../receiver/serve.js';
import { decodeMetricsProtobuf } from '../receiver/decode/otlp-metrics-protobuf.js';
import { decodeLogsProtobuf } from '../receiver/decode/otlp-protobuf.js';
import type { LogRow, MetricPointRow } from '../receiver/model/records.js';
import type { Queryable, Transaction } from '../receiver/storage/database.js';
import { startEmbeddedServer, type PostgresBinaries } from '../receiver/storage/embedded-server.js';
import { measureLogBytes } from '../receiver/storage/log-bytes.js';
import { METRIC_POINT_COLUMNS, METRIC_STREAM_COLUMNS, renderPoint } from '../receiver/storage/metric-csv.js';
import { createPartitionManager, type PartitionedTable, type PartitionManager } from '../receiver/storage/partitions.js';
import { measurePointBytes } from '../receiver/storage/point-bytes.js';
import { openDatabase } from '../receiver/storage/open.js';
import { LOG_RECORD_COLUMNS, LOG_STREAM_COLUMNS, renderLog } from '../receiver/storage/rows-csv.js';
import {
  METRIC_POINTS_PER_REQUEST,
  otlpString,
  otlpType,
  realisticLogsRequest,
  realisticMetricsRequests,
} from '../harness/otlp-fixtures.js';
import { DEBIAN_HINT, debianBinaries } from '../harness/postgres.js';

const RECORDS = 1000;
const CLIENTS = 8;
const WARMUP_REQUESTS = CLIENTS;
const COPY_BATCH_ROWS = 5000;
const OVERLOAD_CLIENTS = 32;
const OVERLOAD_BUDGET_BYTES = 2 * 1024 * 1024;

export interface BenchSize {
  /**
   * End to end and raw COPY run in alternation, `rounds` times each, and their ratio is the median of
   * each round's ratio: other load on the machine (another process, a checkpoint) then weighs on both alike.
   */
  rounds: number;
  requestsPerRound: number;
  insertSampleRows: number;
  overloadMs: number;
}

export const FULL_SIZE: BenchSize = { rounds: 5, requestsPerRound: 100, insertSampleRows: 20_000, overloadMs: 8000 };
export const SMALL_SIZE: BenchSize = { rounds: 1, requestsPerRound: 8, insertSampleRows: 1000, overloadMs: 1000 };
const RSS_SAMPLE_MS = 50;
/** The default tenant a fresh receiver creates; raw loads file their rows under the same id. */
const TENANT_ID = 1;

// --- Requests -----------------------------------------------------------------------------------

const Resource = otlpType('Resource');
const ScopeLogs = otlpType('ScopeLogs');

/**
 * The realistic request (harness/otlp-fixtures.ts: 1,000 records, ~100-byte body, 10 attributes,
 * trace and span ids), its records from a minute ago: inside the receiver's accepted time window, and
 * all in one day's partition or two.
 */
const [REQUEST] = realisticLogsRequest({
  values: 'protobuf',
  records: RECORDS,
  startUnixNano: BigInt(Date.now() - 60_000) * 1_000_000n,
  stepNanos: 1_000_000n,
  scope: { name: 'pipemon-bench', version: '0.1.0' },
}).resourceLogs;
const RESOURCE_ATTRIBUTES = REQUEST.resource.attributes;
const SCHEMA_URL = REQUEST.schemaUrl;
const SCOPE_LOGS = ScopeLogs.encode(ScopeLogs.fromObject(REQUEST.scopeLogs[0])).finish();

/**
 * ExportLogsServiceRequest number n: the shared records under a resource naming the request. The
 * fingerprint covers the resource, so every request's records are distinct rows, while the clients
 * (in this process, sharing its CPU with the receiver) only frame bytes encoded once.
 */
function requestBody(n: number): Uint8Array<ArrayBuffer> {
  const resource = Resource.encode(Resource.fromObject({ attributes: [...RESOURCE_ATTRIBUTES, otlpString('bench.request', String(n))] })).finish();
  // ResourceLogs { resource = 1; scope_logs = 2; schema_url = 3 } as field 1 of the request.
  const resourceLogs = protobuf.Writer.create().uint32(0x0a).bytes(resource).uint32(0x12).bytes(SCOPE_LOGS).uint32(0x1a).string(SCHEMA_URL).finish();
  // A copy into a plain ArrayBuffer: what fetch takes as a body.
  return new Uint8Array(protobuf.Writer.create().uint32(0x0a).bytes(resourceLogs).finish());
}

// --- What each signal sends and stores ----------------------------------------------------------

/** A row rendered for COPY by rows-csv.ts or metric-csv.ts: its line, its stream's line, and its day. */
interface Rendered {
  line: string;
  stream: { key: string; line: string };
  dayMs: number;
}

/** One signal's part: the requests its clients send, the rows the receiver makes of them, and their tables. */
interface Workload<Row> {
  signal: 'logs' | 'metrics';
  /** What the JSON counts: log records or data points. */
  unit: 'records' | 'points';
  perRequest: number;
  grpcMethod: string;
  /** Request n, from 0: every request's rows are new rows. */
  body(n: number): Uint8Array<ArrayBuffer>;
  decode(body: Uint8Array): Row[];
  render(tenantId: number, row: Row): Rendered;
  rows: { table: PartitionedTable; columns: readonly string[] };
  streams: { table: string; columns: readonly string[] };
  /** Bytes on disk per row of the database an end-to-end round filled, beside their OTLP size. */
  bytesPerRow(databaseUrl: string): Promise<Record<string, unknown>>;
}

const LOGS: Workload<LogRow> = {
  signal: 'logs',
  unit: 'records',
  perRequest: RECORDS,
  grpcMethod: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  body: requestBody,
  decode: decodeLogsProtobuf,
  render: renderLog,
  rows: { table: 'log_records', columns: LOG_RECORD_COLUMNS },
  streams: { table: 'log_streams', columns: LOG_STREAM_COLUMNS },
  bytesPerRow: (databaseUrl) => bytesPerRecord(databaseUrl),
};

const METRICS_INTERVAL_NANOS = 10_000_000_000n;

/**
 * The metrics part's `requests` requests, made before any is sent: the fixture runs the SDK (about 10 ms
 * a request), which would take the CPU the receiver is timed on. Their intervals end by now.
 */
async function metricsWorkload(requests: number): Promise<Workload<MetricPointRow>> {
  const startUnixNano = BigInt(Date.now()) * 1_000_000n - BigInt(requests) * METRICS_INTERVAL_NANOS;
  const bodies = await realisticMetricsRequests(requests, { startUnixNano, intervalNanos: METRICS_INTERVAL_NANOS });
  return {
    signal: 'metrics',
    unit: 'points',
    perRequest: METRIC_POINTS_PER_REQUEST,
    grpcMethod: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
    body(n) {
      const body = bodies[n];
      if (body === undefined) throw new Error(`metrics request ${n} was not made: make more than ${requests} in metricsWorkload()`);
      return body;
    },
    decode: decodeMetricsProtobuf,
    render: renderPoint,
    rows: { table: 'metric_points', columns: METRIC_POINT_COLUMNS },
    streams: { table: 'metric_streams', columns: METRIC_STREAM_COLUMNS },
    bytesPerRow: (databaseUrl) => bytesPerPoint(databaseUrl, bodies),
  };
}

// --- Measuring ----------------------------------------------------------------------------------

const MB = 1024 * 1024;
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Peak resident memory of this process while running fn, sampled every RSS_SAMPLE_MS. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peakRssMb: number; startRssMb: number }> {
  const startRss = process.memoryUsage().rss;
  let peak = startRss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), RSS_SAMPLE_MS);
  try {
    const result = await fn();
    return { result, peakRssMb: round(peak / MB), startRssMb: round(startRss / MB) };
  } finally {
    clearInterval(timer);
  }
}

const RpcStatus = otlpType('RpcStatus');

interface Sent {
  status: number;
  retryAfter: string | null;
  /** The OTLP Status message of a refusal; empty on success. */
  message: string;
}

async function send(url: string, path: string, key: string, body: Uint8Array<ArrayBuffer>): Promise<Sent> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` },
    body,
  });
  const answer = new Uint8Array(await response.arrayBuffer());
  const message = response.ok ? '' : (RpcStatus.toObject(RpcStatus.decode(answer)).message as string | undefined) ?? '';
  return { status: response.status, retryAfter: response.headers.get('retry-after'), message };
}

/** A refused request as the JSON counts it: the status (HTTP, or gRPC's code name) and the message. */
type Refused = string;

/** Refused requests by status and message, for the JSON: what a run met instead of ending it. */
function tally(refused: Refused[]) {
  const byAnswer: Record<string, number> = {};
  for (const answer of refused) byAnswer[answer] = (byAnswer[answer] ?? 0) + 1;
  return { count: refused.length, by_answer: byAnswer };
}

const raw = (bytes: Buffer) => bytes;

/** One OTLP/gRPC channel sending request bodies to `method`; resolves null on success, else what was refused. */
function grpcSender(address: string, method: string, key: string) {
  const client = new GrpcClient(address, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${key}`);
  return {
    send: (body: Uint8Array<ArrayBuffer>) =>
      new Promise<Refused | null>((resolve) => {
        const message = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        client.makeUnaryRequest(method, raw, raw, message, metadata, (error) =>
          resolve(error ? `${grpcStatus[error.code ?? grpcStatus.UNKNOWN]} ${error.details}` : null),
        );
      }),
    close: () => client.close(),
  };
}

/** OTLP/HTTP to `path` in the shape of grpcSender: null on success, else what was refused. */
const httpSender = (url: string, path: string, key: string) => async (body: Uint8Array<ArrayBuffer>): Promise<Refused | null> => {
  const { status, message } = await send(url, path, key, body);
  return status === 200 ? null : `${status} ${message}`;
};

async function countRows(db: Queryable, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`benchmark check failed: ${message}`);
}

/** Mean of a Prometheus histogram (`name_sum / name_count`) and its count, from the receiver's /metrics. */
async function histogramMean(url: string, name: string): Promise<{ count: number; mean: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (suffix: string) => Number(new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const count = value('count');
  return { count, mean: value('sum') / count };
}

/** A counter's value for one signal from the receiver's /metrics (0 before its first increment). */
async function signalCounter(url: string, name: string, signal: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name}\\{signal="${signal}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

// --- The runs -----------------------------------------------------------------------------------

interface Phase {
  rowsPerSecond: number;
  latenciesMs: number[];
  peakRssMb: number;
  refused: Refused[];
}

interface EndToEndRound {
  http: Phase;
  grpc: Phase;
  /** Refused warm-up requests, both transports. */
  warmUpRefused: Refused[];
  /** Commits of both phases: they share the receiver's writer. */
  commits: { count: number; meanRecords: number; meanMs: number };
}

type Sender = (body: Uint8Array<ArrayBuffer>) => Promise<Refused | null>;

/** `requests` requests numbered from `first`, from CLIENTS concurrent clients. */
async function phase<Row>(workload: Workload<Row>, sendOne: Sender, first: number, requests: number): Promise<Phase> {
  let next = first;
  const last = first + requests;
  const latenciesMs: number[] = [];
  const refused: Refused[] = [];
  const { result: seconds, peakRssMb } = await withPeakRss(async () => {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < last) {
          const body = workload.body(next++);
          const sent = performance.now();
          const answer = await sendOne(body);
          if (answer === null) latenciesMs.push(performance.now() - sent);
          else refused.push(answer);
        }
      }),
    );
    return (performance.now() - started) / 1000;
  });
  return { rowsPerSecond: (latenciesMs.length * workload.perRequest) / seconds, latenciesMs, peakRssMb, refused };
}

/**
 * Sends stored request n again, as a client does whose answer was lost: answered 200, its rows counted as
 * duplicates, nothing new stored.
 */
async function resendStored<Row>(workload: Workload<Row>, receiver: Receiver, sendHttp: Sender, n: number): Promise<void> {
  const duplicates = () => signalCounter(receiver.url, 'pipemon_receiver_duplicate_records_total', workload.signal);
  const [stored, counted] = [await countRows(receiver.db, workload.rows.table), await duplicates()];
  const answer = await sendHttp(workload.body(n));
  check(answer === null, `request ${n} sent again was answered ${answer}`);
  const [storedAfter, countedAfter] = [await countRows(receiver.db, workload.rows.table), await duplicates()];
  check(storedAfter === stored, `request ${n} sent again stored ${storedAfter - stored} new rows`);
  check(countedAfter - counted === workload.perRequest, `request ${n} sent again counted ${countedAfter - counted} duplicates`);
}

/** One receiver, the same requests over OTLP/HTTP and OTLP/gRPC; `grpcFirst` alternates the order between rounds. */
async function endToEnd<Row>(workload: Workload<Row>, databaseUrl: string, grpcFirst: boolean, requests: number): Promise<EndToEndRound> {
  const receiver = await startReceiver({ port: 0, grpcPort: 0, databaseUrl });
  const grpc = grpcSender(receiver.grpcAddress!, workload.grpcMethod, receiver.defaultKey!);
  try {
    const sendHttp = httpSender(receiver.url, `/v1/${workload.signal}`, receiver.defaultKey!);
    // Creates the day's partitions and warms the JIT on both paths, at once as a fresh receiver may be
    // met; acknowledged, so counted in the check below.
    const warmUp = await Promise.all(
      Array.from({ length: WARMUP_REQUESTS }, (_, i) => (i % 2 === 0 ? sendHttp : grpc.send)(workload.body(i))),
    );
    const warmUpRefused = warmUp.filter((answer) => answer !== null);

    // The second phase sends the next requests: each request's rows are new rows.
    const overHttp = (first: number) => phase(workload, sendHttp, first, requests);
    const overGrpc = (first: number) => phase(workload, grpc.send, first, requests);
    const [first, second] = [WARMUP_REQUESTS, WARMUP_REQUESTS + requests];
    const phases = grpcFirst
      ? { grpc: await overGrpc(first), http: await overHttp(second) }
      : { http: await overHttp(first), grpc: await overGrpc(second) };
    const stored = await countRows(receiver.db, workload.rows.table);
    const acknowledged = (WARMUP_REQUESTS - warmUpRefused.length + phases.http.latenciesMs.length + phases.grpc.latenciesMs.length) * workload.perRequest;
    check(stored === acknowledged, `end to end: ${stored} rows stored, ${acknowledged} ${workload.unit} acknowledged`);
    const firstStored = warmUp.indexOf(null);
    check(firstStored !== -1, 'end to end: every warm-up request was refused');
    await resendStored(workload, receiver, sendHttp, firstStored);

    const batch = await histogramMean(receiver.url, 'pipemon_writer_batch_records');
    const commit = await histogramMean(receiver.url, 'pipemon_writer_commit_duration_seconds');
    return { ...phases, warmUpRefused, commits: { count: batch.count, meanRecords: batch.mean, meanMs: commit.mean * 1000 } };
  } finally {
    grpc.close();
    await receiver.close();
  }
}

/** The rows of the first `requests` requests as the receiver decodes them, `perChunk` requests at a time. */
function* decodedChunks<Row>(workload: Workload<Row>, requests: number, perChunk: number): Generator<Row[]> {
  for (let n = 0; n < requests; n += perChunk) {
    yield Array.from({ length: Math.min(perChunk, requests - n) }, (_, i) => workload.decode(workload.body(n + i))).flat();
  }
}

/**
 * One batch of rendered rows COPYed as the writer's staging would, without its idempotency: each stream
 * once, the first batch to meet it copying it (`copiedStreams`, shared by the connections).
 */
async function copyRendered<Row>(
  workload: Workload<Row>,
  tx: Transaction,
  partitions: PartitionManager,
  rendered: Rendered[],
  copiedStreams: Set<string>,
): Promise<void> {
  await partitions.ensure(tx, workload.rows.table, new Set(rendered.map((r) => r.dayMs)));
  const streams = new Map<string, string>();
  for (const { stream } of rendered) {
    if (!copiedStreams.has(stream.key)) streams.set(stream.key, stream.line);
    copiedStreams.add(stream.key);
  }
  if (streams.size > 0) await tx.copyCsv(workload.streams.table, workload.streams.columns, [...streams.values()].join(''));
  await tx.copyCsv(workload.rows.table, workload.rows.columns, rendered.map((r) => r.line).join(''));
}

/**
 * The same rows as a round of endToEnd, rendered as the receiver renders them and COPYed straight into
 * their tables by `connections` loops in parallel, each taking the next batch.
 */
async function rawCopy<Row>(workload: Workload<Row>, databaseUrl: string, connections: 1 | 2, requests: number): Promise<number> {
  const db = await openDatabase({ databaseUrl });
  try {
    const partitions = createPartitionManager();
    const copiedStreams = new Set<string>();
    // Decoding is the receiver's work, not the database's: rows are decoded before the clock starts,
    // while rendering (the receiver's renderLog or renderPoint) and COPY are timed.
    const chunks = [...decodedChunks(workload, WARMUP_REQUESTS + requests, COPY_BATCH_ROWS / workload.perRequest)];
    let copied = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        for (let rows = chunks.shift(); rows; rows = chunks.shift()) {
          const rendered = rows.map((row) => workload.render(TENANT_ID, row));
          await db.transaction((tx) => copyRendered(workload, tx, partitions, rendered, copiedStreams));
          copied += rendered.length;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const stored = await countRows(db, workload.rows.table);
    check(stored === copied, `raw COPY: ${stored} rows stored, ${copied} copied`);
    return copied / seconds;
  } finally {
    await db.close();
  }
}

/** Fields of one line rendered by rows-csv.ts (csv.ts: an unquoted empty field is NULL, "" in quotes is "). */
function csvFields(line: string): (string | null)[] {
  const end = line.length - 1; // the newline
  const fields: (string | null)[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      for (i++; ; ) {
        const quote = line.indexOf('"', i);
        value += line.slice(i, quote);
        i = quote + 1;
        if (line[i] !== '"') break;
        value += '"';
        i++;
      }
      fields.push(value);
    } else {
      const comma = line.indexOf(',', i);
      const stop = comma === -1 ? end : comma;
      fields.push(stop === i ? null : line.slice(i, stop));
      i = stop;
    }
    if (i >= end) return fields;
    i++;
  }
}

async function insertPerRecord(databaseUrl: string, sampleRows: number) {
  // Tables and partitions as the receiver makes them; then one plain connection, one INSERT per record.
  const db = await openDatabase({ databaseUrl });
  try {
    const days = new Set(decodeLogsProtobuf(requestBody(0)).map((row) => renderLog(TENANT_ID, row).dayMs));
    await db.transaction((tx) => createPartitionManager().ensure(tx, 'log_records', days));
  } finally {
    await db.close();
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Prepared once: the kindest form of row-by-row for the database.
    const insert = {
      name: 'insert-log',
      text: `INSERT INTO log_records (${LOG_RECORD_COLUMNS.join(', ')}) VALUES (${LOG_RECORD_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
    };
    const insertStream = {
      name: 'insert-stream',
      text: `INSERT INTO log_streams (${LOG_STREAM_COLUMNS.join(', ')}) VALUES (${LOG_STREAM_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
             ON CONFLICT DO NOTHING`,
    };
    let seconds = 0;
    let inserted = 0;
    for (const rows of decodedChunks(LOGS, sampleRows / RECORDS, 1)) {
      const rendered = rows.map((row) => renderLog(TENANT_ID, row));
      const values = rendered.map((r) => csvFields(r.line));
      check(values.every((fields) => fields.length === LOG_RECORD_COLUMNS.length), 'a rendered line did not split into one field per column');
      const streams = [...new Map(rendered.map((r) => [r.stream.key, csvFields(r.stream.line)])).values()];
      const started = performance.now();
      for (const fields of streams) await client.query({ ...insertStream, values: fields });
      for (const fields of values) await client.query({ ...insert, values: fields });
      seconds += (performance.now() - started) / 1000;
      inserted += values.length;
    }
    const stored = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM log_records')).rows[0]!.n);
    check(stored === inserted, `INSERT per record: ${stored} rows stored, ${inserted} inserted`);
    return { records_per_second: round(inserted / seconds), seconds: round(seconds, 2), rows_stored: stored };
  } finally {
    await client.end();
  }
}

async function overload(databaseUrl: string, overloadMs: number) {
  const receiver = await startReceiver({ port: 0, databaseUrl, maxQueueBytes: OVERLOAD_BUDGET_BYTES, maxBodyBytes: OVERLOAD_BUDGET_BYTES });
  try {
    const key = receiver.defaultKey!;
    const statuses = new Map<number, number>();
    let withoutRetryAfter = 0;
    let next = 0;
    const { peakRssMb, startRssMb } = await withPeakRss(async () => {
      const stopAt = performance.now() + overloadMs;
      // Clients that ignore Retry-After and resend at once: the worst case for the budget.
      await Promise.all(
        Array.from({ length: OVERLOAD_CLIENTS }, async () => {
          while (performance.now() < stopAt) {
            const { status, retryAfter } = await send(receiver.url, '/v1/logs', key, requestBody(next++));
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (status === 503 && retryAfter === null) withoutRetryAfter++;
          }
        }),
      );
    });
    const ok = statuses.get(200) ?? 0;
    const stored = await countRows(receiver.db, 'log_records');
    check(stored === ok * RECORDS, `overload: ${stored} rows stored, ${ok * RECORDS} records acknowledged`);
    check([...statuses.keys()].every((status) => status === 200 || status === 503), `overload answered ${[...statuses.keys()]}`);
    check(withoutRetryAfter === 0, `${withoutRetryAfter} answers 503 without Retry-After`);
    return {
      clients: OVERLOAD_CLIENTS,
      max_queue_bytes: OVERLOAD_BUDGET_BYTES,
      seconds: overloadMs / 1000,
      requests: next,
      answered_200: ok,
      answered_503: statuses.get(503) ?? 0,
      rss_mb: { start: startRssMb, peak: peakRssMb },
      every_200_stored: stored === ok * RECORDS,
    };
  } finally {
    await receiver.close();
  }
}

// --- Main ---------------------------------------------------------------------------------------

interface ServerUnderTest {
  /** A superuser's URL; measurements run in fresh databases beside its own. */
  url: string;
  postgres: Record<string, string>;
  freshDatabase(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A server with PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes on), started
 * by the code that runs pipemon's embedded default: with the npm package's binaries, it is that default.
 */
async function startServer(binaries?: PostgresBinaries): Promise<ServerUnderTest> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-bench-'));
  const server = await startEmbeddedServer({ dataDir, binaries });
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const { rows } = await admin.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'server_version')`,
  );
  const postgres = Object.fromEntries(rows.map((row) => [row.name, row.setting]));
  check(postgres.fsync === 'on' && postgres.synchronous_commit === 'on', `durable settings not in force: ${JSON.stringify(postgres)}`);
  let databases = 0;
  return {
    url: server.url,
    postgres,
    // Each measurement on a database of its own, so that it starts from empty tables and indexes, and
    // after a CHECKPOINT, so that it does not pay for flushing what the previous one wrote.
    async freshDatabase() {
      const name = `bench_${++databases}`;
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.query('CHECKPOINT');
      const url = new URL(server.url);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      await admin.end();
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Bytes on disk per record of what one end-to-end round stored, beside the same records in the layout
 * before migration 4 (copied through the logs view into logs_v1, whose indexes are the old ones) and
 * their OTLP protobuf size.
 */
async function bytesPerRecord(databaseUrl: string) {
  const db = await openDatabase({ databaseUrl });
  try {
    const current = await measureLogBytes(db, 'current');
    const { rows } = await db.query<{ ms: number }>(`SELECT DISTINCT (extract(epoch FROM date_trunc('day', ts, 'UTC')) * 1000)::float8 AS ms FROM log_records`);
    await db.transaction(async (tx) => {
      await createPartitionManager().ensure(tx, 'logs_v1', rows.map((row) => row.ms));
      // The logs view has columns logs_v1 lacks (its stream id): copy logs_v1's own.
      const { rows: columns } = await tx.query<{ name: string }>(
        `SELECT quote_ident(attname) AS name FROM pg_attribute WHERE attrelid = 'logs_v1'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      );
      const list = columns.map((column) => column.name).join(', ');
      await tx.query(`INSERT INTO logs_v1 (${list}) SELECT ${list} FROM logs`);
    });
    const v1 = await measureLogBytes(db, 'v1');
    check(v1.records === current.records, `logs_v1 holds ${v1.records} records, log_records ${current.records}`);
    const protobuf = round(requestBody(0).length / RECORDS, 1);
    return {
      records: current.records,
      otlp_protobuf: protobuf,
      current: { ...current.per_record, indexes_each: current.index_per_record },
      before_migration_4: { ...v1.per_record, indexes_each: v1.index_per_record },
      current_vs_protobuf: round(current.per_record!.total / protobuf, 2),
      before_vs_protobuf: round(v1.per_record!.total / protobuf, 2),
    };
  } finally {
    await db.close();
  }
}

/**
 * Bytes on disk per data point of what one end-to-end round stored (the requests sent from the first on,
 * and each series' metric_streams row of the day spread over its points), beside their OTLP protobuf size.
 */
async function bytesPerPoint(databaseUrl: string, bodies: Uint8Array[]) {
  const db = await openDatabase({ databaseUrl });
  try {
    const measured = await measurePointBytes(db);
    const requests = measured.points / METRIC_POINTS_PER_REQUEST;
    check(Number.isInteger(requests) && requests <= bodies.length, `${measured.points} points stored: not whole requests of those sent`);
    const protobufBytes = bodies.slice(0, requests).reduce((sum, body) => sum + body.length, 0);
    const protobuf = round(protobufBytes / measured.points, 1);
    return {
      points: measured.points,
      streams: measured.streams,
      otlp_protobuf: protobuf,
      stored: { ...measured.per_point, by_table: measured.per_point_by_table, indexes_each: measured.index_per_point },
      stored_vs_protobuf: round(measured.per_point!.total / protobuf, 2),
    };
  } finally {
    await db.close();
  }
}

/**
 * End to end beside raw COPY (one connection, and two in parallel) of one workload on one server, in
 * alternating rounds; the JSON names its rates by the workload's unit (records_per_second, points_per_second).
 */
async function endToEndBesideCopy<Row>(server: ServerUnderTest, size: BenchSize, workload: Workload<Row>) {
  const endToEndRounds: EndToEndRound[] = [];
  const rawCopyRounds: number[] = [];
  const rawCopyTwoRounds: number[] = [];
  let lastEndToEnd = '';
  const copyRound = async () => {
    rawCopyRounds.push(await rawCopy(workload, await server.freshDatabase(), 1, size.requestsPerRound));
    rawCopyTwoRounds.push(await rawCopy(workload, await server.freshDatabase(), 2, size.requestsPerRound));
  };
  for (let r = 0; r < size.rounds; r++) {
    // Alternating which goes first, so that neither always follows the other's writes.
    if (r % 2 === 1) await copyRound();
    lastEndToEnd = await server.freshDatabase();
    endToEndRounds.push(await endToEnd(workload, lastEndToEnd, r % 2 === 1, size.requestsPerRound));
    if (r % 2 === 0) await copyRound();
  }
  const { unit } = workload;
  const rates = (rounds: number[]) => ({
    [`${unit}_per_second_median`]: round(median(rounds)),
    [`${unit}_per_second_rounds`]: rounds.map((rate) => round(rate)),
  });
  const latencies = (transport: 'http' | 'grpc') => endToEndRounds.flatMap((round) => round[transport].latenciesMs).sort((a, b) => a - b);
  const http = latencies('http');
  const grpc = latencies('grpc');
  const commits = endToEndRounds.map((round) => round.commits);
  const commitCount = commits.reduce((sum, c) => sum + c.count, 0);
  const weighted = (value: (c: (typeof commits)[number]) => number) => commits.reduce((sum, c) => sum + value(c) * c.count, 0) / commitCount;
  const endToEndRate = median(endToEndRounds.map((round) => round.http.rowsPerSecond));
  const ratio = (copies: number[]) => round(median(endToEndRounds.map((round, i) => round.http.rowsPerSecond / copies[i]!)), 2);
  return {
    endToEndRate,
    report: {
      end_to_end: {
        clients: CLIENTS,
        rounds: size.rounds,
        [`${unit}_per_round`]: size.requestsPerRound * workload.perRequest,
        ...rates(endToEndRounds.map((r) => r.http.rowsPerSecond)),
        latency_ms: { p50: round(percentile(http, 0.5), 1), p99: round(percentile(http, 0.99), 1) },
        peak_rss_mb: Math.max(...endToEndRounds.map((r) => r.http.peakRssMb)),
        // Both transports' commits: they share the writer.
        commits: { count: commitCount, mean_records: round(weighted((c) => c.meanRecords)), mean_ms: round(weighted((c) => c.meanMs), 1) },
      },
      end_to_end_grpc: {
        ...rates(endToEndRounds.map((r) => r.grpc.rowsPerSecond)),
        latency_ms: { p50: round(percentile(grpc, 0.5), 1), p99: round(percentile(grpc, 0.99), 1) },
        peak_rss_mb: Math.max(...endToEndRounds.map((r) => r.grpc.peakRssMb)),
      },
      // Requests answered other than 200 / OK, by answer: counted rather than ending the run.
      refused: {
        warm_up: tally(endToEndRounds.flatMap((r) => r.warmUpRefused)),
        http: tally(endToEndRounds.flatMap((r) => r.http.refused)),
        grpc: tally(endToEndRounds.flatMap((r) => r.grpc.refused)),
      },
      grpc_vs_http: round(median(endToEndRounds.map((r) => r.grpc.rowsPerSecond / r.http.rowsPerSecond)), 2),
      raw_copy: { batch_rows: COPY_BATCH_ROWS, ...rates(rawCopyRounds) },
      raw_copy_two_connections: { batch_rows: COPY_BATCH_ROWS, ...rates(rawCopyTwoRounds) },
      end_to_end_vs_raw_copy: ratio(rawCopyRounds),
      end_to_end_vs_raw_copy_two_connections: ratio(rawCopyTwoRounds),
      [`bytes_per_${unit === 'records' ? 'record' : 'point'}`]: await workload.bytesPerRow(lastEndToEnd),
    },
  };
}

/** Logs, then metrics, on one server: the JSON of both, the metrics under `metrics`. */
async function logsAndMetrics(server: ServerUnderTest, size: BenchSize, metrics: Workload<MetricPointRow>) {
  const logs = await endToEndBesideCopy(server, size, LOGS);
  const points = await endToEndBesideCopy(server, size, metrics);
  return { endToEndRate: logs.endToEndRate, report: { postgres: server.postgres, ...logs.report, metrics: points.report } };
}

/** Every measurement at `size`, on the embedded default and on Debian's server where installed: the JSON printed. */
export async function runIngestBench(size: BenchSize): Promise<Record<string, unknown>> {
  check(decodeLogsProtobuf(requestBody(0)).length === RECORDS, 'a request does not decode to its records');
  const started = performance.now();
  // Each round sends its warm-up and both phases' requests.
  const metrics = await metricsWorkload(WARMUP_REQUESTS + 2 * size.requestsPerRound);
  check(metrics.decode(metrics.body(0)).length === METRIC_POINTS_PER_REQUEST, 'a metrics request does not decode to its points');
  const results: Record<string, unknown> = {};
  // The embedded default (what npm start runs), then Debian's server where installed: a server of one's own.
  const embedded = await startServer();
  try {
    const { endToEndRate, report } = await logsAndMetrics(embedded, size, metrics);
    const insert = await insertPerRecord(await embedded.freshDatabase(), size.insertSampleRows);
    results.embedded_default = {
      ...report,
      insert_per_record: insert,
      end_to_end_vs_insert_per_record: round(endToEndRate / insert.records_per_second, 1),
      overload: await overload(await embedded.freshDatabase(), size.overloadMs),
    };
  } finally {
    await embedded.close();
  }
  const debian = debianBinaries();
  if (debian) {
    const server = await startServer(debian);
    try {
      results.debian_server = (await logsAndMetrics(server, size, metrics)).report;
    } finally {
      await server.close();
    }
  } else {
    results.debian_server = `not measured: ${DEBIAN_HINT}`;
  }
  return {
    benchmark: 'ingest OTLP logs and metrics into PostgreSQL',
    node: process.version,
    size,
    records_per_request: RECORDS,
    request_bytes: requestBody(0).length,
    points_per_request: METRIC_POINTS_PER_REQUEST,
    metrics_request_bytes: metrics.body(0).length,
    ...results,
    // Returned only when every run passed its check() of rows stored against records and points acknowledged.
    every_acknowledged_record_stored: true,
    seconds: round((performance.now() - started) / 1000, 1),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runIngestBench(process.argv.includes('--small') ? SMALL_SIZE : FULL_SIZE)));
}
