/**
 * bench:query's ingest load, run as a child process (query-ingest.ts starts it): a receiver of its own on
 * the bench's database, and clients sending it OTLP/HTTP protobuf requests of 1,000 realistic records
 * (harness/otlp-fixtures.ts, as bench:ingest sends) at full speed or at a given rate, until told to stop
 * (SIGUSR2) or for a given time. It prints one JSON line: records acknowledged, seconds, records/s.
 * In its own process, its decoding and sending take no time from the bench's client timings, only the
 * cores all share.
 */
import protobuf from 'protobufjs';
import { otlpString, otlpType, realisticLogsRequest } from '../harness/otlp-fixtures.js';
import { startReceiver } from '../receiver/serve.js';

export interface LoadOrder {
  databaseUrl: string;
  /** An ingest key of the tenant the records go to. */
  key: string;
  /** Records per second; 0 for as fast as the receiver answers. */
  rate: number;
  /** Seconds to send for; 0 for until SIGUSR2. */
  seconds: number;
  retentionDays: number;
}

export interface LoadResult {
  records: number;
  seconds: number;
  records_per_second: number;
  /** Requests answered other than 200 (a 503 under overload is the receiver asking to slow down). */
  refused: Record<string, number>;
}

export const RECORDS_PER_REQUEST = 1000;
const CLIENTS = 8;

const Resource = otlpType('Resource');
const ScopeLogs = otlpType('ScopeLogs');

/** Request bodies, each a new set of records: the same records under a resource naming the request (the fingerprint covers it). */
function requests(startMs: number): (n: number) => Uint8Array<ArrayBuffer> {
  const [template] = realisticLogsRequest({
    values: 'protobuf',
    records: RECORDS_PER_REQUEST,
    startUnixNano: BigInt(startMs) * 1_000_000n,
    stepNanos: 1_000_000n,
    scope: { name: 'pipemon-bench-query-load', version: '0.1.0' },
  }).resourceLogs;
  const scopeLogs = ScopeLogs.encode(ScopeLogs.fromObject(template.scopeLogs[0])).finish();
  return (n) => {
    const resource = Resource.encode(Resource.fromObject({ attributes: [...template.resource.attributes, otlpString('bench.request', `${startMs}-${n}`)] })).finish();
    // ResourceLogs { resource = 1; scope_logs = 2; schema_url = 3 } as field 1 of ExportLogsServiceRequest.
    const resourceLogs = protobuf.Writer.create().uint32(0x0a).bytes(resource).uint32(0x12).bytes(scopeLogs).uint32(0x1a).string(template.schemaUrl).finish();
    return new Uint8Array(protobuf.Writer.create().uint32(0x0a).bytes(resourceLogs).finish());
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends until `stopped()`: each of CLIENTS clients takes the next request, at its due time when there is a rate. */
async function send(url: string, order: LoadOrder, stopped: () => boolean): Promise<LoadResult> {
  const body = requests(Date.now() - 60_000);
  const refused: Record<string, number> = {};
  let next = 0;
  let acknowledged = 0;
  const started = performance.now();
  const dueMs = (n: number) => (order.rate > 0 ? (n * RECORDS_PER_REQUEST * 1000) / order.rate : 0);
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (!stopped()) {
        const n = next++;
        const wait = started + dueMs(n) - performance.now();
        if (wait > 0) await sleep(wait);
        const response = await fetch(`${url}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${order.key}` },
          body: body(n),
        });
        await response.arrayBuffer();
        if (response.status === 200) acknowledged += RECORDS_PER_REQUEST;
        else refused[response.status] = (refused[response.status] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { records: acknowledged, seconds: Math.round(seconds * 10) / 10, records_per_second: Math.round(acknowledged / seconds), refused };
}

/**
 * Stops at `seconds`, or at SIGUSR2 (not stdin's end or SIGTERM: under vite-node, Vite's server takes
 * those to exit at once), or when the bench that started it is gone (this process handed to another parent), so that a
 * load is never left running.
 */
function stopSignal(seconds: number): () => boolean {
  let stop = false;
  if (seconds > 0) setTimeout(() => (stop = true), seconds * 1000).unref();
  else process.once('SIGUSR2', () => (stop = true));
  const parent = process.ppid;
  return () => stop || process.ppid !== parent;
}

async function main(order: LoadOrder): Promise<void> {
  const receiver = await startReceiver({ port: 0, databaseUrl: order.databaseUrl, retentionDays: order.retentionDays });
  try {
    // Tells the bench the receiver is up: the clock of a timed load starts now.
    process.stderr.write('query-ingest-load: ready\n');
    const result = await send(receiver.url, order, stopSignal(order.seconds));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await receiver.close();
  }
}

const given = process.argv.find((arg) => arg.startsWith('--order='));
if (given) await main(JSON.parse(given.slice('--order='.length)) as LoadOrder);
