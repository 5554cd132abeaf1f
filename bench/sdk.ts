/**
 * `npm run bench:sdk`: what a pipeline pays per call with pipemon, beside the official OpenTelemetry JS
 * SDK doing the same work in the same run (its BatchSpanProcessor and BatchLogRecordProcessor with their
 * default settings, and the OTLP/protobuf exporters) and pino; both SDKs send to the same local sink, which
 * counts what arrived (OpenTelemetry's batch processors drop what does not fit their queue of 2 048). Then
 * time and memory of a 1 M-record burst with the receiver down, each SDK in a process of its own. Prints
 * one JSON object.
 *
 * Calls run in synchronous chunks that are timed; between chunks the event loop runs, so export work
 * happens off the clock, as it does off the caller's stack in a real pipeline. Goals: monitored() adds
 * < 1 µs sampled out and < 5 µs sampled in; a log record costs at most 1.5x OpenTelemetry's
 * `logger.emit`. Two rounds of each SDK, alternating so that neither gets all of the JIT's warm-up; the
 * faster round of each is kept, and what each lost is summed.
 *
 * Flags (`npm run bench:sdk -- --small --busy`): --small runs every measurement at a tenth of the calls and
 * a 20 000-record burst, in seconds, so that CI can run the whole bench (its figures then mean little);
 * --busy keeps as many CPU-burning processes running as there are CPUs while it measures.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Tracer } from '@opentelemetry/api';
import { SeverityNumber, type LogRecord } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { AlwaysOffSampler, BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { decodeLogsProtobuf, decodeTracesProtobuf } from '../receiver/decode/otlp-protobuf.js';
import { monitored, run, shutdown, start } from '../sdk/index.js';

const FLAGS = ['--small', '--busy'];
const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg.startsWith('--') && !FLAGS.includes(arg));
if (unknown.length > 0) {
  console.error(`bench:sdk: unknown flag ${unknown.join(' ')}; it takes ${FLAGS.join(' and ')} (npm run bench:sdk -- --small)`);
  process.exit(2);
}
const SMALL = args.includes('--small');
const BUSY = args.includes('--busy');

const CHUNK = 2_000;
const N = SMALL ? 20_000 : 200_000;
const BURST = SMALL ? 20_000 : 1_000_000;
const tick = () => new Promise((resolve) => setImmediate(resolve));
const plain = (a: number, b: number) => a + b;
let sinkValue = 0;

/** Median over chunks of the nanoseconds per call of `body`, timed in synchronous chunks. */
async function nsPerCall(total: number, body: (i: number) => void): Promise<number> {
  const samples: number[] = [];
  for (let done = 0; done < total; done += CHUNK) {
    // Exactly `total` calls: the sink counts what each case sent.
    const calls = Math.min(CHUNK, total - done);
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) body(done + i);
    samples.push(((performance.now() - t0) * 1e6) / calls);
    await tick();
  }
  samples.sort((a, b) => a - b);
  return round1(samples[Math.floor(samples.length / 2)]!);
}

/**
 * N log records: the cost of each on the caller, and the time per record from the first emit until
 * `flush` resolved with everything sent (its inverse is the records per second end to end).
 */
async function logRecords(emit: (i: number) => void, flush: () => Promise<unknown>) {
  const t0 = performance.now();
  const log_record = await nsPerCall(N, emit);
  await flush();
  return { log_record, log_end_to_end: round1(((performance.now() - t0) * 1e6) / N) };
}

interface Sink {
  url: string;
  /** Request bodies received since the last take, by signal path. */
  take(): Array<{ signal: string; body: Buffer }>;
  close(): void;
}

/** A receiver stand-in that answers every export with an empty 200 and keeps the bodies (outside the heap). */
async function startSink(): Promise<Sink> {
  let bodies: Array<{ signal: string; body: Buffer }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push({ signal: req.url ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    take() {
      const taken = bodies;
      bodies = [];
      return taken;
    },
    close: () => server.close(),
  };
}

/** How many of each kind sent ("logs": the `row loaded` records; otherwise a span name) never reached the sink (a resent one counts once). */
function lostAtSink(sink: Sink, sent: Record<string, number>): Record<string, number> {
  const received: Record<string, Set<unknown>> = Object.fromEntries(Object.keys(sent).map((kind) => [kind, new Set()]));
  for (const { signal, body } of sink.take()) {
    if (signal === '/v1/logs') {
      for (const row of decodeLogsProtobuf(body)) if (row.body === 'row loaded') received.logs?.add(row.attributes.i);
    } else {
      for (const row of decodeTracesProtobuf(body)) received[row.name]?.add(row.spanId);
    }
  }
  return Object.fromEntries(Object.entries(sent).map(([kind, count]) => [kind, count - received[kind]!.size]));
}

/** One round's figures: nanoseconds per call (lower is better), and records sent and lost by kind. */
interface Round {
  ns: Record<string, number>;
  sent: Record<string, number>;
  lost: Record<string, number>;
}

/** pipemon: monitored() sampled out and in, a stage, log records in a run; then what the sink missed. */
async function pipemonRound(sink: Sink): Promise<Round> {
  const sampledOut = monitored(plain, { name: 'plain', sampleRate: 0 });
  const sampledIn = monitored(plain, { name: 'plain', sampleRate: 1 });
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-bench-'));
  const sdk = start({ endpoint: sink.url, spoolDir, handleExit: false, heartbeatSeconds: 0 });
  // Each measurement starts with nothing left to export from the one before, as OpenTelemetry's do with
  // their fresh providers: a stage burst left 60 000 records for the log record to compete with.
  const settle = () => sdk.flush(60_000);
  const ns: Record<string, number> = {};
  sink.take();
  await run('bench', async (r) => {
    ns.plain_function = await nsPerCall(N, (i) => (sinkValue += plain(i, 1)));
    ns.monitored_sampled_out = await nsPerCall(N, (i) => (sinkValue += sampledOut(i, 1)));
    await settle();
    ns.monitored_sampled_in = await nsPerCall(N / 4, (i) => (sinkValue += sampledIn(i, 1)));
    await settle();
    ns.stage = await nsPerCall(N / 10, (i) => r.stage('s', () => (sinkValue += i)));
    await settle();
    Object.assign(ns, await logRecords((i) => r.log.info('row loaded', { i }), settle));
  });
  await shutdown(30_000);
  fs.rmSync(spoolDir, { recursive: true, force: true });
  const sent = { logs: N, plain: N / 4, s: N / 10 };
  return { ns, sent, lost: lostAtSink(sink, sent) };
}

/** A call wrapped in a span, as OpenTelemetry's own instrumentation of a function does. */
function spanned(tracer: Tracer, fn: (a: number, b: number) => number) {
  return (a: number, b: number) => {
    const span = tracer.startSpan('plain');
    try {
      return fn(a, b);
    } finally {
      span.end();
    }
  };
}

const rowLoaded = (i: number): LogRecord => ({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'row loaded', attributes: { i } });

/** The OpenTelemetry SDK's log pipeline as an application sets it up, sending to `url`. */
function otelLogs(url: string, timeoutMillis?: number): LoggerProvider {
  return new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${url}/v1/logs`, timeoutMillis }) })] });
}

/** The OpenTelemetry SDK: a span around a call sampled out and in, log records; then what the sink missed. */
async function otelRound(sink: Sink): Promise<Round> {
  const logs = otelLogs(sink.url);
  const traces = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${sink.url}/v1/traces` }))] });
  const sampledOut = spanned(new BasicTracerProvider({ sampler: new AlwaysOffSampler() }).getTracer('bench'), plain);
  const sampledIn = spanned(traces.getTracer('bench'), plain);
  const logger = logs.getLogger('bench');
  sink.take();
  const ns: Record<string, number> = {};
  ns.span_sampled_out = await nsPerCall(N, (i) => (sinkValue += sampledOut(i, 1)));
  ns.span_sampled_in = await nsPerCall(N / 4, (i) => (sinkValue += sampledIn(i, 1)));
  await traces.forceFlush();
  Object.assign(ns, await logRecords((i) => logger.emit(rowLoaded(i)), () => logs.forceFlush()));
  await Promise.all([logs.shutdown(), traces.shutdown()]);
  const sent = { logs: N, plain: N / 4 };
  return { ns, sent, lost: lostAtSink(sink, sent) };
}

/** Folds a round into the figures so far: the faster time of each call, the sum of what was sent and lost. */
function fold(into: Round | undefined, round: Round): Round {
  if (!into) return round;
  const sum = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v + b[k]!]));
  const ns = Object.fromEntries(Object.entries(into.ns).map(([k, v]) => [k, Math.min(v, round.ns[k]!)]));
  return { ns, sent: sum(into.sent, round.sent), lost: sum(into.lost, round.lost) };
}

/** A port nothing listens on: the receiver is down. */
function deadUrl(): Promise<string> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(`http://127.0.0.1:${port}`));
    });
  });
}

/** BURST records emitted in chunks of 10 000 with the event loop running between: time and peak memory. */
async function burst(emit: (i: number) => void) {
  global.gc?.();
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakRss = before.rss;
  const t0 = performance.now();
  for (let i = 0; i < BURST; i += 10_000) {
    for (let j = 0; j < 10_000; j++) emit(i + j);
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
    await tick();
  }
  return {
    records: BURST,
    emit_seconds: Math.round((performance.now() - t0) / 10) / 100,
    heap_mb_before: mb(before.heapUsed),
    peak_heap_mb: mb(peakHeap),
    peak_rss_mb: mb(peakRss),
  };
}

/** pipemon's burst: what the receiver could not take goes to the spool. */
async function pipemonBurst(url: string) {
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-bench-burst-'));
  const sdk = start({ endpoint: url, spoolDir, exportTimeoutMs: 1000, handleExit: false, heartbeatSeconds: 0 });
  const figures = await run('burst', (r) => burst((i) => r.log.info('row loaded', { i })));
  await sdk.flush(2_000);
  const stats = sdk.stats();
  await shutdown(2_000);
  fs.rmSync(spoolDir, { recursive: true, force: true });
  return { ...figures, spooled_mb: mb(stats.spooledBytes), lost: stats.dropped };
}

/** OpenTelemetry's burst: it has no spool, so what its queue did not drop fails to export and is lost too. */
async function otelBurst(url: string) {
  const logs = otelLogs(url, 1000);
  const logger = logs.getLogger('bench');
  const figures = await burst((i) => logger.emit(rowLoaded(i)));
  await logs.shutdown();
  return { ...figures, spooled_mb: 0, lost: BURST };
}

const BURSTS = { pipemon: pipemonBurst, opentelemetry: otelBurst };
type BurstFigures = Awaited<ReturnType<typeof pipemonBurst>>;

/** A burst in a fresh process (this file, `burst <sdk> <url>`), so its memory figures carry nothing of the rounds or the other burst. */
async function burstApart(sdk: keyof typeof BURSTS, url: string): Promise<BurstFigures> {
  const size = SMALL ? ['--small'] : [];
  const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), 'burst', sdk, url, ...size], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`the ${sdk} burst exited with code ${code}; its error is above`);
  return JSON.parse(out) as BurstFigures;
}

/** Which pipemon figure each OpenTelemetry figure is the counterpart of. */
const COUNTERPARTS = {
  sampled_out: ['monitored_sampled_out', 'span_sampled_out'],
  sampled_in: ['monitored_sampled_in', 'span_sampled_in'],
  log_record: ['log_record', 'log_record'],
  log_end_to_end: ['log_end_to_end', 'log_end_to_end'],
} as const;

/** Log records per second end to end: emitted and flushed, and of those the ones the sink received. */
function throughput(r: Round) {
  const emitted = 1e9 / r.ns.log_end_to_end!;
  return { emitted: Math.round(emitted), delivered: Math.round(emitted * (1 - r.lost.logs! / r.sent.logs!)) };
}

const ratio = (ours: number, theirs: number) => Math.round((ours / theirs) * 100) / 100;

/** pipemon's figures over OpenTelemetry's: below 1, pipemon takes less time or memory (or delivers fewer records a second). */
function ratios(pipemon: Round, otel: Round, bursts: Record<keyof typeof BURSTS, BurstFigures>) {
  const ns = Object.entries(COUNTERPARTS).map(([name, [ours, theirs]]) => [`${name}_ns`, ratio(pipemon.ns[ours]!, otel.ns[theirs]!)]);
  return {
    ...Object.fromEntries(ns),
    delivered_log_records_per_second: ratio(throughput(pipemon).delivered, throughput(otel).delivered),
    burst_peak_heap: ratio(bursts.pipemon.peak_heap_mb, bursts.opentelemetry.peak_heap_mb),
    burst_peak_rss: ratio(bursts.pipemon.peak_rss_mb, bursts.opentelemetry.peak_rss_mb),
  };
}

/** The one JSON object: each SDK's figures, pipemon's over OpenTelemetry's, and the goals. */
function summary(pipemon: Round, otel: Round, bursts: Record<keyof typeof BURSTS, BurstFigures>) {
  const p = pipemon.ns;
  const overhead = { sampled_out: Math.round(p.monitored_sampled_out! - p.plain_function!), sampled_in: Math.round(p.monitored_sampled_in! - p.plain_function!) };
  const figures = (r: Round) => ({ ns_per_call: r.ns, log_records_per_second: throughput(r), sent: r.sent, lost: r.lost });
  return {
    pipemon: { ...figures(pipemon), monitored_overhead_ns: overhead },
    opentelemetry: figures(otel),
    pipemon_vs_opentelemetry: ratios(pipemon, otel, bursts),
    burst_receiver_down: bursts,
    goals: {
      monitored_sampled_out_under_1us: overhead.sampled_out < 1000,
      monitored_sampled_in_under_5us: overhead.sampled_in < 5000,
      log_record_within_1_5x_opentelemetry: p.log_record! <= 1.5 * otel.ns.log_record!,
    },
    all_delivered: Object.values(pipemon.lost).every((lost) => lost === 0),
  };
}

/** As many CPU-burning processes as there are CPUs, killed when this process exits, however it exits. */
function burnCpus(): number {
  const burners = Array.from({ length: os.availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
  for (const burner of burners) burner.unref();
  process.once('exit', () => burners.forEach((burner) => burner.kill('SIGKILL')));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
  return burners.length;
}

async function main(): Promise<void> {
  const busyProcesses = BUSY ? burnCpus() : 0;
  const sink = await startSink();
  let pipemon: Round | undefined;
  let otel: Round | undefined;
  for (let round = 0; round < 2; round++) {
    pipemon = fold(pipemon, await pipemonRound(sink));
    otel = fold(otel, await otelRound(sink));
  }
  sink.close();
  const logger = pino(new Writable({ write: (_chunk, _encoding, done) => done() }));
  const pinoNullStream = await nsPerCall(N, (i) => logger.info({ i }, 'row loaded'));

  const down = await deadUrl();
  const bursts = { pipemon: await burstApart('pipemon', down), opentelemetry: await burstApart('opentelemetry', down) };
  const conditions = { small: SMALL, busy_processes: busyProcesses, load_average: os.loadavg().map((x) => Math.round(x * 100) / 100) };
  console.log(JSON.stringify({ ...conditions, ...summary(pipemon!, otel!, bursts), pino_null_stream_ns: pinoNullStream, checksum: sinkValue > 0 }));
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

const [mode, sdk, url] = args.filter((arg) => !arg.startsWith('--'));
const work = mode === 'burst' ? BURSTS[sdk as keyof typeof BURSTS](url!).then((figures) => console.log(JSON.stringify(figures))) : main();
work.catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
