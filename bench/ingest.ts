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
 *   (embedded default only).
 *
 * Every run checks rows stored == records acknowledged. Requests refused on the way (a 503 or
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
import { startReceiver } from '../receiver/serve.js';
import { decodeLogsProtobuf } from '../receiver/decode/otlp-protobuf.js';
import type { LogRow } from '../receiver/model/records.js';
import type { Queryable, Transaction } from '../receiver/storage/database.js';
import { startEmbeddedServer, type PostgresBinaries } from '../receiver/storage/embedded-server.js';
import { measureLogBytes } from '../receiver/storage/log-bytes.js';
import { createPartitionManager, type PartitionManager } from '../receiver/storage/partitions.js';
import { openDatabase } from '../receiver/storage/open.js';
import { LOG_RECORD_COLUMNS, LOG_STREAM_COLUMNS, renderLog, type RenderedLog } from '../receiver/storage/rows-csv.js';
import { otlpString, otlpType, realisticLogsRequest } from '../harness/otlp-fixtures.js';
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

async function send(url: string, key: string, body: Uint8Array<ArrayBuffer>): Promise<Sent> {
  const response = await fetch(`${url}/v1/logs`, {
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

const LOGS_EXPORT = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const raw = (bytes: Buffer) => bytes;

/** One OTLP/gRPC channel sending the same request bodies; resolves null on success, else what was refused. */
function grpcSender(address: string, key: string) {
  const client = new GrpcClient(address, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${key}`);
  return {
    send: (body: Uint8Array<ArrayBuffer>) =>
      new Promise<Refused | null>((resolve) => {
        const message = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        client.makeUnaryRequest(LOGS_EXPORT, raw, raw, message, metadata, (error) =>
          resolve(error ? `${grpcStatus[error.code ?? grpcStatus.UNKNOWN]} ${error.details}` : null),
        );
      }),
    close: () => client.close(),
  };
}

/** OTLP/HTTP in the shape of grpcSender: null on success, else what was refused. */
const httpSender = (url: string, key: string) => async (body: Uint8Array<ArrayBuffer>): Promise<Refused | null> => {
  const { status, message } = await send(url, key, body);
  return status === 200 ? null : `${status} ${message}`;
};

async function countLogs(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM logs');
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

// --- The runs -----------------------------------------------------------------------------------

interface Phase {
  recordsPerSecond: number;
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
async function phase(sendOne: Sender, first: number, requests: number): Promise<Phase> {
  let next = first;
  const last = first + requests;
  const latenciesMs: number[] = [];
  const refused: Refused[] = [];
  const { result: seconds, peakRssMb } = await withPeakRss(async () => {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < last) {
          const body = requestBody(next++);
          const sent = performance.now();
          const answer = await sendOne(body);
          if (answer === null) latenciesMs.push(performance.now() - sent);
          else refused.push(answer);
        }
      }),
    );
    return (performance.now() - started) / 1000;
  });
  return { recordsPerSecond: (latenciesMs.length * RECORDS) / seconds, latenciesMs, peakRssMb, refused };
}

/** One receiver, the same requests over OTLP/HTTP and OTLP/gRPC; `grpcFirst` alternates the order between rounds. */
async function endToEnd(databaseUrl: string, grpcFirst: boolean, requests: number): Promise<EndToEndRound> {
  const receiver = await startReceiver({ port: 0, grpcPort: 0, databaseUrl });
  const grpc = grpcSender(receiver.grpcAddress!, receiver.defaultKey!);
  try {
    const sendHttp = httpSender(receiver.url, receiver.defaultKey!);
    // Creates the day's partitions and warms the JIT on both paths, at once as a fresh receiver may be
    // met; acknowledged, so counted in the check below.
    const warmUp = await Promise.all(Array.from({ length: WARMUP_REQUESTS }, (_, i) => (i % 2 === 0 ? sendHttp : grpc.send)(requestBody(i))));
    const warmUpRefused = warmUp.filter((answer) => answer !== null);

    // The second phase sends the next requests: each request's records are new rows.
    const overHttp = (first: number) => phase(sendHttp, first, requests);
    const overGrpc = (first: number) => phase(grpc.send, first, requests);
    const [first, second] = [WARMUP_REQUESTS, WARMUP_REQUESTS + requests];
    const phases = grpcFirst
      ? { grpc: await overGrpc(first), http: await overHttp(second) }
      : { http: await overHttp(first), grpc: await overGrpc(second) };
    const stored = await countLogs(receiver.db);
    const acknowledged = (WARMUP_REQUESTS - warmUpRefused.length + phases.http.latenciesMs.length + phases.grpc.latenciesMs.length) * RECORDS;
    check(stored === acknowledged, `end to end: ${stored} rows stored, ${acknowledged} records acknowledged`);

    const batch = await histogramMean(receiver.url, 'pipemon_writer_batch_records');
    const commit = await histogramMean(receiver.url, 'pipemon_writer_commit_duration_seconds');
    return { ...phases, warmUpRefused, commits: { count: batch.count, meanRecords: batch.mean, meanMs: commit.mean * 1000 } };
  } finally {
    grpc.close();
    await receiver.close();
  }
}

/** The rows of the first `requests` requests as the receiver decodes them, `perChunk` requests at a time. */
function* decodedChunks(requests: number, perChunk: number): Generator<LogRow[]> {
  for (let n = 0; n < requests; n += perChunk) {
    yield Array.from({ length: Math.min(perChunk, requests - n) }, (_, i) => decodeLogsProtobuf(requestBody(n + i))).flat();
  }
}

/** One batch of rendered rows COPYed as the writer's staging would, without its idempotency. */
async function copyRendered(tx: Transaction, partitions: PartitionManager, rendered: RenderedLog[]): Promise<void> {
  await partitions.ensure(tx, 'log_records', new Set(rendered.map((r) => r.dayMs)));
  const streams = new Map(rendered.map((r) => [r.stream.key, r.stream.line]));
  await tx.copyCsv('log_streams', LOG_STREAM_COLUMNS, [...streams.values()].join(''));
  await tx.copyCsv('log_records', LOG_RECORD_COLUMNS, rendered.map((r) => r.line).join(''));
}

/**
 * The same rows as a round of endToEnd, rendered by renderLog and COPYed straight into the log tables by
 * `connections` loops in parallel, each taking the next batch.
 */
async function rawCopy(databaseUrl: string, connections: 1 | 2, requests: number): Promise<number> {
  const db = await openDatabase({ databaseUrl });
  try {
    const partitions = createPartitionManager();
    // Decoding is the receiver's work, not the database's: rows are decoded before the clock starts,
    // while rendering (the receiver's renderLog) and COPY are timed.
    const chunks = [...decodedChunks(WARMUP_REQUESTS + requests, COPY_BATCH_ROWS / RECORDS)];
    let copied = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        for (let rows = chunks.shift(); rows; rows = chunks.shift()) {
          const rendered = rows.map((row) => renderLog(TENANT_ID, row));
          await db.transaction((tx) => copyRendered(tx, partitions, rendered));
          copied += rendered.length;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const stored = await countLogs(db);
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
    for (const rows of decodedChunks(sampleRows / RECORDS, 1)) {
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
            const { status, retryAfter } = await send(receiver.url, key, requestBody(next++));
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (status === 503 && retryAfter === null) withoutRetryAfter++;
          }
        }),
      );
    });
    const ok = statuses.get(200) ?? 0;
    const stored = await countLogs(receiver.db);
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

/** End to end beside raw COPY (one connection, and two in parallel) on one server, in alternating rounds. */
async function endToEndBesideCopy(server: ServerUnderTest, size: BenchSize) {
  const endToEndRounds: EndToEndRound[] = [];
  const rawCopyRounds: number[] = [];
  const rawCopyTwoRounds: number[] = [];
  let lastEndToEnd = '';
  const copyRound = async () => {
    rawCopyRounds.push(await rawCopy(await server.freshDatabase(), 1, size.requestsPerRound));
    rawCopyTwoRounds.push(await rawCopy(await server.freshDatabase(), 2, size.requestsPerRound));
  };
  for (let r = 0; r < size.rounds; r++) {
    // Alternating which goes first, so that neither always follows the other's writes.
    if (r % 2 === 1) await copyRound();
    lastEndToEnd = await server.freshDatabase();
    endToEndRounds.push(await endToEnd(lastEndToEnd, r % 2 === 1, size.requestsPerRound));
    if (r % 2 === 0) await copyRound();
  }
  const latencies = (transport: 'http' | 'grpc') => endToEndRounds.flatMap((round) => round[transport].latenciesMs).sort((a, b) => a - b);
  const http = latencies('http');
  const grpc = latencies('grpc');
  const commits = endToEndRounds.map((round) => round.commits);
  const commitCount = commits.reduce((sum, c) => sum + c.count, 0);
  const weighted = (value: (c: (typeof commits)[number]) => number) => commits.reduce((sum, c) => sum + value(c) * c.count, 0) / commitCount;
  const endToEndRate = median(endToEndRounds.map((round) => round.http.recordsPerSecond));
  const ratio = (copies: number[]) => round(median(endToEndRounds.map((round, i) => round.http.recordsPerSecond / copies[i]!)), 2);
  return {
    endToEndRate,
    report: {
      postgres: server.postgres,
      end_to_end: {
        clients: CLIENTS,
        rounds: size.rounds,
        records_per_round: size.requestsPerRound * RECORDS,
        records_per_second_median: round(endToEndRate),
        records_per_second_rounds: endToEndRounds.map((r) => round(r.http.recordsPerSecond)),
        latency_ms: { p50: round(percentile(http, 0.5), 1), p99: round(percentile(http, 0.99), 1) },
        peak_rss_mb: Math.max(...endToEndRounds.map((r) => r.http.peakRssMb)),
        // Both transports' commits: they share the writer.
        commits: { count: commitCount, mean_records: round(weighted((c) => c.meanRecords)), mean_ms: round(weighted((c) => c.meanMs), 1) },
      },
      end_to_end_grpc: {
        records_per_second_median: round(median(endToEndRounds.map((r) => r.grpc.recordsPerSecond))),
        records_per_second_rounds: endToEndRounds.map((r) => round(r.grpc.recordsPerSecond)),
        latency_ms: { p50: round(percentile(grpc, 0.5), 1), p99: round(percentile(grpc, 0.99), 1) },
        peak_rss_mb: Math.max(...endToEndRounds.map((r) => r.grpc.peakRssMb)),
      },
      // Requests answered other than 200 / OK, by answer: counted rather than ending the run.
      refused: {
        warm_up: tally(endToEndRounds.flatMap((r) => r.warmUpRefused)),
        http: tally(endToEndRounds.flatMap((r) => r.http.refused)),
        grpc: tally(endToEndRounds.flatMap((r) => r.grpc.refused)),
      },
      grpc_vs_http: round(median(endToEndRounds.map((r) => r.grpc.recordsPerSecond / r.http.recordsPerSecond)), 2),
      raw_copy: {
        batch_rows: COPY_BATCH_ROWS,
        records_per_second_median: round(median(rawCopyRounds)),
        records_per_second_rounds: rawCopyRounds.map((rate) => round(rate)),
      },
      raw_copy_two_connections: {
        batch_rows: COPY_BATCH_ROWS,
        records_per_second_median: round(median(rawCopyTwoRounds)),
        records_per_second_rounds: rawCopyTwoRounds.map((rate) => round(rate)),
      },
      end_to_end_vs_raw_copy: ratio(rawCopyRounds),
      end_to_end_vs_raw_copy_two_connections: ratio(rawCopyTwoRounds),
      bytes_per_record: await bytesPerRecord(lastEndToEnd),
    },
  };
}

/** Every measurement at `size`, on the embedded default and on Debian's server where installed: the JSON printed. */
export async function runIngestBench(size: BenchSize): Promise<Record<string, unknown>> {
  check(decodeLogsProtobuf(requestBody(0)).length === RECORDS, 'a request does not decode to its records');
  const started = performance.now();
  const results: Record<string, unknown> = {};
  // The embedded default (what npm start runs), then Debian's server where installed: a server of one's own.
  const embedded = await startServer();
  try {
    const { endToEndRate, report } = await endToEndBesideCopy(embedded, size);
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
      results.debian_server = (await endToEndBesideCopy(server, size)).report;
    } finally {
      await server.close();
    }
  } else {
    results.debian_server = `not measured: ${DEBIAN_HINT}`;
  }
  return {
    benchmark: 'ingest OTLP logs into PostgreSQL',
    node: process.version,
    size,
    records_per_request: RECORDS,
    request_bytes: requestBody(0).length,
    ...results,
    // Returned only when every run passed its check() of rows stored against records acknowledged.
    every_acknowledged_record_stored: true,
    seconds: round((performance.now() - started) / 1000, 1),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runIngestBench(process.argv.includes('--small') ? SMALL_SIZE : FULL_SIZE)));
}
