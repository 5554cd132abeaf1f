/**
 * `npm run bench:sdk`: the cost a pipeline pays per call, beside raw OpenTelemetry and pino, and memory
 * during a 1 M-record burst with the receiver down. Prints one JSON object.
 *
 * Calls run in synchronous chunks that are timed; between chunks the event loop runs, so export work
 * (to a local sink that answers 200) happens off the clock, as it does off the caller's stack in a real
 * pipeline. Goals (issue 3): monitored() adds < 1 µs sampled out and < 5 µs sampled in; a log record
 * costs at most 1.5x raw OpenTelemetry `logger.emit`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { pino } from 'pino';
import { decodeLogsProtobuf, decodeTracesProtobuf } from '../receiver/decode/otlp-protobuf.js';
import { monitored, run, shutdown, start, type Run } from '../sdk/index.js';

const CHUNK = 2_000;
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Median over rounds of the nanoseconds per call of `body`, timed in synchronous chunks. */
async function nsPerCall(total: number, body: (i: number) => void): Promise<number> {
  const samples: number[] = [];
  for (let done = 0; done < total; done += CHUNK) {
    const t0 = performance.now();
    for (let i = 0; i < CHUNK; i++) body(done + i);
    samples.push(((performance.now() - t0) * 1e6) / CHUNK);
    await tick();
  }
  samples.sort((a, b) => a - b);
  return Math.round(samples[Math.floor(samples.length / 2)]! * 10) / 10;
}

async function main(): Promise<void> {
  // A sink that answers every export with an empty 200, so the SDK sees a healthy receiver. It keeps the
  // request bodies of the measured run (outside the heap) and decodes them only at the end.
  const bodies: Array<{ signal: string; body: Buffer }> = [];
  let keepBodies = true;
  const sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (keepBodies) bodies.push({ signal: req.url ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-bench-'));

  const N = 200_000;
  let sinkValue = 0;
  const plain = (a: number, b: number) => a + b;
  const sampledOut = monitored(plain, { name: 'plain', sampleRate: 0 });
  const sampledIn = monitored(plain, { name: 'plain', sampleRate: 1 });

  const measured = start({ endpoint: sinkUrl, spoolDir, handleExit: false, heartbeatSeconds: 0 });
  const results: Record<string, number> = {};
  // Each measurement starts with nothing left to export from the one before, as the raw OpenTelemetry
  // one does with its fresh provider: a stage burst left 60 000 records for the log record to compete with.
  const settle = () => measured.flush(60_000);
  await run('bench', async (r: Run) => {
    results.plain_function = await nsPerCall(N, (i) => (sinkValue += plain(i, 1)));
    results.monitored_sampled_out = await nsPerCall(N, (i) => (sinkValue += sampledOut(i, 1)));
    await settle();
    results.monitored_sampled_in = await nsPerCall(N / 4, (i) => (sinkValue += sampledIn(i, 1)));
    await settle();
    results.stage = await nsPerCall(N / 10, (i) => r.stage('s', () => (sinkValue += i)));
    await settle();
    results.log_record = await nsPerCall(N, (i) => r.log.info('row loaded', { i }));
  });
  await shutdown(30_000);
  keepBodies = false;
  // Records in == records out: every call measured above reached the sink (a resent batch counts once).
  const logIds = new Set<unknown>();
  const spanIds = { plain: new Set<string>(), s: new Set<string>() };
  for (const { signal, body } of bodies) {
    if (signal === '/v1/logs') {
      for (const row of decodeLogsProtobuf(body)) if (row.body === 'row loaded') logIds.add(row.attributes.i);
    } else {
      for (const row of decodeTracesProtobuf(body)) if (row.name === 'plain' || row.name === 's') spanIds[row.name].add(row.spanId);
    }
  }
  bodies.length = 0;
  const delivered = {
    log_records: { sent: N, received: logIds.size },
    sampled_in_spans: { sent: N / 4, received: spanIds.plain.size },
    stage_spans: { sent: N / 10, received: spanIds.s.size },
  };

  // Raw OpenTelemetry: the logs SDK with its batch processor and the official exporter to the same sink.
  const provider = new LoggerProvider({
    processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${sinkUrl}/v1/logs` }), maxQueueSize: 100_000 })],
  });
  const otel = provider.getLogger('bench');
  results.raw_otel_emit = await nsPerCall(N, (i) =>
    otel.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'row loaded', attributes: { i } }),
  );
  await provider.shutdown();

  const nullStream = new Writable({ write: (_chunk, _encoding, done) => done() });
  const logger = pino(nullStream);
  results.pino_null_stream = await nsPerCall(N, (i) => logger.info({ i }, 'row loaded'));
  sink.close();

  // 1 M records with the receiver down: memory stays bounded; overflow goes to the spool.
  const deadPort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const burstSpool = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-bench-burst-'));
  const sdk = start({ endpoint: `http://127.0.0.1:${deadPort}`, spoolDir: burstSpool, exportTimeoutMs: 1000, handleExit: false, heartbeatSeconds: 0 });
  global.gc?.();
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakRss = before.rss;
  const burstStart = performance.now();
  const BURST = 1_000_000;
  await run('burst', async (r) => {
    for (let i = 0; i < BURST; i += 10_000) {
      for (let j = 0; j < 10_000; j++) r.log.info('row loaded', { i: i + j });
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
      await tick();
    }
  });
  const emitSeconds = (performance.now() - burstStart) / 1000;
  await sdk.flush(60_000);
  const stats = sdk.stats();
  await shutdown(60_000);
  fs.rmSync(burstSpool, { recursive: true, force: true });
  fs.rmSync(spoolDir, { recursive: true, force: true });

  const overheadOut = results.monitored_sampled_out! - results.plain_function!;
  const overheadIn = results.monitored_sampled_in! - results.plain_function!;
  console.log(
    JSON.stringify({
      ns_per_call: results,
      monitored_overhead_ns: { sampled_out: Math.round(overheadOut), sampled_in: Math.round(overheadIn) },
      log_record_vs_raw_otel: Math.round((results.log_record! / results.raw_otel_emit!) * 100) / 100,
      delivered,
      burst_receiver_down: {
        records: BURST,
        emit_seconds: Math.round(emitSeconds * 100) / 100,
        heap_mb_before: Math.round(before.heapUsed / 2 ** 20),
        peak_heap_mb: Math.round(peakHeap / 2 ** 20),
        peak_rss_mb: Math.round(peakRss / 2 ** 20),
        spooled_batches: stats.spooledBatches,
        spooled_mb: Math.round(stats.spooledBytes / 2 ** 20),
        dropped: stats.dropped,
      },
      goals: {
        monitored_sampled_out_under_1us: overheadOut < 1000,
        monitored_sampled_in_under_5us: overheadIn < 5000,
        log_record_within_1_5x_raw_otel: results.log_record! <= 1.5 * results.raw_otel_emit!,
      },
      all_delivered: Object.values(delivered).every(({ sent, received }) => sent === received),
      checksum: sinkValue > 0,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
