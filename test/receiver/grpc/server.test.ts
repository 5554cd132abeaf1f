/**
 * OTLP over gRPC against the real receiver on each backend: the official gRPC exporters, and a raw
 * grpc-js client to see the status codes and trailers exporters act on (OTLP spec, "OTLP/gRPC Response"
 * and "OTLP/gRPC Throttling").
 */
import { Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
// The exporters' own enum (from the package they share), as their compression option takes it.
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SERVICES } from '../../../receiver/grpc/services.js';
import { GRPC_STATUS, RETRY_AFTER_SECONDS } from '../../../receiver/model/outcome.js';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { until } from '../../helpers/async.js';
import { grpcClient, retryDelayOf, type GrpcAnswer } from '../../helpers/grpc.js';
import { otlpType } from '../../../harness/otlp-fixtures.js';
import { SpanKind, getJson, holdBudget, logsRequest, receiverBackends, startTestReceiver, startWithTightBudget, tracesRequest, type TestReceiver } from '../../helpers/receiver.js';

const DAY_MS = 86_400_000;

async function metric(r: TestReceiver, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${r.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function countRows(databaseUrl: string, sql: string, values: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql, values)).rows[0]!.n);
  } finally {
    await client.end();
  }
}

describe.each(receiverBackends())('OTLP/gRPC on $name', (backend) => {
  let r: TestReceiver;
  let databaseUrl: string;
  let address: string;
  let client: ReturnType<typeof grpcClient>;
  beforeAll(async () => {
    const options = await backend.options();
    databaseUrl = options.databaseUrl!;
    r = await startTestReceiver({ ...options, grpcPort: 0, maxBodyBytes: 1024 * 1024 });
    address = r.receiver.grpcAddress!;
    client = grpcClient(address);
  });
  afterAll(async () => {
    client?.close();
    await r?.close();
  });

  const stillServing = async () => {
    const answer = await client.call('logs', logsRequest([{ body: 'still serving' }]), { key: r.key });
    expect(answer.code, answer.details).toBe(GRPC_STATUS.OK);
  };

  it('listens on a free port of the host when asked for port 0', () => {
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(address).not.toBe('127.0.0.1:4317');
  });

  it.each([CompressionAlgorithm.NONE, CompressionAlgorithm.GZIP])(
    'stores what the official gRPC exporters send (compression %s) and derives the run',
    async (compression) => {
      const resource = resourceFromAttributes({ 'service.name': 'grpc-exporter-test' });
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${r.key}`);
      const options = { url: `http://${address}`, metadata, compression };
      const runId = `grpc-run-${compression}`;
      const run = { [ATTR.pipelineName]: 'grpc-orders', [ATTR.runId]: runId };
      const started = Date.now() - 60_000;

      const logs = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter(options) })] });
      const logger = logs.getLogger('grpc-scope', '1.2.3');
      logger.emit({ eventName: EVENT.runStart, body: 'run started', attributes: { ...run, via: compression }, timestamp: started });
      logger.emit({
        eventName: EVENT.runEnd,
        body: 'run ended',
        attributes: { ...run, via: compression, [ATTR.runResult]: 'success', [ATTR.durationSeconds]: 42, [ATTR.rowsWritten]: 7 },
        timestamp: started + 42_000,
      });
      await logs.forceFlush();
      await logs.shutdown();

      const traces = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(options))] });
      const span = traces.getTracer('grpc-scope').startSpan(`load ${compression}`, { kind: SpanKind.CLIENT, attributes: { via: compression, n: 7 } });
      const traceId = span.spanContext().traceId;
      span.end();
      await traces.forceFlush();
      await traces.shutdown();

      const stored = await getJson(r.url, `/api/v1/logs?run_id=${runId}`, r.key);
      expect(stored.body.items).toHaveLength(2);
      expect(stored.body.items[0]).toMatchObject({
        service_name: 'grpc-exporter-test',
        scope: { name: 'grpc-scope', version: '1.2.3' },
        attributes: { via: compression },
      });
      const derived = await getJson(r.url, `/api/v1/runs/${runId}`, r.key);
      expect(derived.body).toMatchObject({ pipeline: 'grpc-orders', state: 'ended', result: 'success', duration_seconds: 42, rows: { written: 7 } });
      const trace = await getJson(r.url, `/api/v1/traces/${traceId}`, r.key);
      expect(trace.status).toBe(200);
      expect(trace.body.spans).toEqual([expect.objectContaining({ name: `load ${compression}`, kind: 3, attributes: { via: compression, n: 7 } })]);
    },
  );

  it('stores a resent export once, whichever way it comes and whichever header holds the key', async () => {
    const specs = Array.from({ length: 30 }, (_, i) => ({ body: `resend ${i}`, attributes: { batch: 'grpc-resend' }, timestampMs: Date.now() - 60_000 + i }));
    const message = logsRequest(specs);
    const before = await metric(r, 'pipemon_receiver_accepted_records_total', 'signal="logs"');
    const gzipped = grpcClient(address, { gzip: true });
    try {
      const answers = [
        await client.call('logs', message, { key: r.key }),
        await gzipped.call('logs', message, { key: r.key }),
        await client.call('logs', message, { key: r.key, header: 'x-api-key' }),
      ];
      expect(answers.map((a) => a.code)).toEqual([GRPC_STATUS.OK, GRPC_STATUS.OK, GRPC_STATUS.OK]);
      // A full success is an empty ExportLogsServiceResponse.
      expect(answers.map((a) => a.response?.length)).toEqual([0, 0, 0]);
    } finally {
      gzipped.close();
    }
    expect((await metric(r, 'pipemon_receiver_accepted_records_total', 'signal="logs"')) - before).toBe(30);
    const stored = await countRows(databaseUrl, `SELECT count(*) AS n FROM logs WHERE attributes->>'batch' = 'grpc-resend'`);
    expect(stored).toBe(30);
  });

  it('stores the valid records and reports the invalid ones as a partial success', async () => {
    const message = logsRequest([
      { body: 'fresh', attributes: { case: 'grpc-partial' } },
      { body: 'too old', attributes: { case: 'grpc-partial' }, timestampMs: Date.now() - 400 * DAY_MS },
    ]);
    const answer = await client.call('logs', message, { key: r.key });
    expect(answer.code).toBe(GRPC_STATUS.OK);
    const Response = otlpType('ExportLogsServiceResponse');
    const response = Response.toObject(Response.decode(answer.response!), { longs: Number });
    expect(response.partialSuccess).toEqual({ rejectedLogRecords: 1, errorMessage: expect.stringMatching(/older than the retention window/) });
    const spans = tracesRequest([{ name: 'fine span' }]);
    const tracesAnswer = await client.call('traces', spans, { key: r.key });
    expect([tracesAnswer.code, tracesAnswer.response?.length]).toEqual([GRPC_STATUS.OK, 0]);
  });

  it('records request durations by signal and gRPC code name', async () => {
    await stillServing();
    await client.call('logs', logsRequest([{ body: 'x' }]), { key: null });
    expect(await metric(r, 'pipemon_receiver_request_duration_seconds_count', 'signal="logs",code="OK"')).toBeGreaterThan(0);
    expect(await metric(r, 'pipemon_receiver_request_duration_seconds_count', 'signal="logs",code="UNAUTHENTICATED"')).toBeGreaterThan(0);
  });

  describe('refuses bad calls with the status the OTLP spec says, and keeps serving', () => {
    const valid = () => logsRequest([{ body: 'refused' }]);
    const cases: [string, () => Promise<GrpcAnswer>, number, RegExp][] = [
      ['no API key', () => client.call('logs', valid(), { key: null }), GRPC_STATUS.UNAUTHENTICATED, /missing API key/],
      ['an unknown API key', () => client.call('logs', valid(), { key: 'pm_1_000000000000_' + '0'.repeat(64) }), GRPC_STATUS.UNAUTHENTICATED, /unknown or revoked/],
      ['an unknown key in x-api-key', () => client.call('logs', valid(), { key: 'hunter2', header: 'x-api-key' }), GRPC_STATUS.UNAUTHENTICATED, /unknown or revoked/],
      [
        'a read-only key',
        async () => client.call('logs', valid(), { key: await r.keyFor('acme', ['read']) }),
        GRPC_STATUS.PERMISSION_DENIED,
        /lacks the "ingest" scope/,
      ],
      ['malformed protobuf', () => client.call('logs', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1]), { key: r.key }), GRPC_STATUS.INVALID_ARGUMENT, /ExportLogsServiceRequest/],
      ['truncated spans', () => client.call('traces', tracesRequest([{ name: 'cut' }]).subarray(0, 40), { key: r.key }), GRPC_STATUS.INVALID_ARGUMENT, /truncated|protobuf|Export/],
      ['a message over the limit', () => client.call('logs', Buffer.alloc(2 * 1024 * 1024), { key: r.key }), GRPC_STATUS.RESOURCE_EXHAUSTED, /larger than/],
      [
        'a gzip message over the limit once inflated',
        async () => {
          const gzipped = grpcClient(address, { gzip: true });
          try {
            return await gzipped.call('logs', Buffer.alloc(8 * 1024 * 1024), { key: r.key });
          } finally {
            gzipped.close();
          }
        },
        GRPC_STATUS.RESOURCE_EXHAUSTED,
        /decompresses to a size larger than/,
      ],
      [
        'an unknown method',
        () => client.call('logs', valid(), { key: r.key, path: '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export' }),
        GRPC_STATUS.UNIMPLEMENTED,
        /ProfilesService|unimplemented|not implemented/i,
      ],
    ];
    it.each(cases)('%s', async (_name, call, code, details) => {
      const answer = await call();
      expect(answer.code, answer.details).toBe(code);
      expect(answer.details).toMatch(details);
      // Only the kinds worth retrying carry RetryInfo: these must not be retried as they are.
      expect(retryDelayOf(answer)).toBeUndefined();
      await stillServing();
    });
  });

  it('answers UNAVAILABLE with RetryInfo while the database is unreachable, and serves again after', async () => {
    const seenKey = await r.keyFor('acme', ['ingest']);
    const unseenKey = await r.keyFor('acme', ['ingest']);
    expect((await client.call('logs', logsRequest([{ body: 'key seen' }]), { key: seenKey })).code).toBe(GRPC_STATUS.OK);
    // From the server's maintenance database: no session may disallow connections to its own.
    const name = new URL(databaseUrl).pathname.slice(1);
    const maintenance = new URL(databaseUrl);
    maintenance.pathname = '/postgres';
    const admin = new pg.Client({ connectionString: maintenance.toString() });
    await admin.connect();
    try {
      // New connections refused, the receiver's open ones cut: as a database that went away.
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      for (const key of [seenKey, unseenKey]) {
        const answer = await client.call('logs', logsRequest([{ body: 'while down', attributes: { case: 'grpc-down' } }]), { key });
        expect(answer.code, answer.details).toBe(GRPC_STATUS.UNAVAILABLE);
        expect(answer.details).toMatch(/retry later/);
        expect(retryDelayOf(answer)).toBe(RETRY_AFTER_SECONDS.unavailable);
      }
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await until(async () => (await client.call('logs', logsRequest([{ body: 'back' }]), { key: seenKey })).code === GRPC_STATUS.OK, 'the database serves again');
  });
});

describe.each(receiverBackends())('OTLP/gRPC under memory pressure on $name', (backend) => {
  it('answers UNAVAILABLE with RetryInfo while the writer budget is held, and serves again after', async () => {
    const { r, body: message } = await startWithTightBudget({ ...(await backend.options()), grpcPort: 0 });
    const client = grpcClient(r.receiver.grpcAddress!);
    try {
      // A slow OTLP/HTTP upload holds the budget, which gRPC calls share.
      const slow = await holdBudget(r, message);

      const refused = await client.call('logs', message, { key: r.key });
      expect(refused.code, refused.details).toBe(GRPC_STATUS.UNAVAILABLE);
      expect(refused.details).toMatch(/memory budget full/);
      expect(retryDelayOf(refused)).toBe(RETRY_AFTER_SECONDS.overloaded);

      expect(await slow.finish()).toBe(200);
      expect((await client.call('logs', message, { key: r.key })).code).toBe(GRPC_STATUS.OK);
    } finally {
      client.close();
      await r.close();
    }
  });

  it('reads no more large messages at once than the writer budget holds: the excess is answered UNAVAILABLE with RetryInfo, and every acknowledged record is stored', async () => {
    const { databaseUrl } = (await backend.options()) as { databaseUrl: string };
    const CALLS = 40;
    const RECORDS = 1000;
    const messages = Array.from({ length: CALLS }, (_, c) =>
      logsRequest(Array.from({ length: RECORDS }, (_, i) => ({ body: `flood ${c} ${i}`.padEnd(200, '.'), attributes: { case: 'grpc-flood', call: c } }))),
    );
    // Each call claims the largest message before it is read, then its own length: with these sizes,
    // four deposits fill the budget, and four messages leave less free than a deposit.
    const maxBodyBytes = Math.max(...messages.map((m) => m.length)) + 1024;
    const ADMITTED = 4;
    // grpc-js hands each message it has read in full to the service's deserializer: counting the large
    // ones counts the messages read. (RSS says nothing here: the clients share this process.)
    const deserialize = vi.spyOn(SERVICES.logs.Export!, 'requestDeserialize');
    const readLarge = () => deserialize.mock.calls.filter(([bytes]) => (bytes as Buffer).length > maxBodyBytes / 2).length;
    const r = await startTestReceiver({ databaseUrl, grpcPort: 0, maxQueueBytes: ADMITTED * maxBodyBytes, maxBodyBytes });
    // Four connections, ten calls each.
    const clients = Array.from({ length: 4 }, () => grpcClient(r.receiver.grpcAddress!));
    const locker = new pg.Client({ connectionString: databaseUrl });
    await locker.connect();
    try {
      expect((await clients[0]!.call('logs', logsRequest([{ body: 'warm' }]), { key: r.key })).code).toBe(GRPC_STATUS.OK);
      // Commits wait on this lock, so the admitted messages stay held: what is admitted is what fits.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE logs IN ACCESS EXCLUSIVE MODE');
      let answered = 0;
      const calls = messages.map((message, c) =>
        clients[c % clients.length]!.call('logs', message, { key: r.key }).then((answer) => {
          answered += 1;
          return answer;
        }),
      );
      await until(() => answered === CALLS - ADMITTED, 'every call beyond the budget is answered');
      // Refused before a byte of their messages was read: only the admitted ones were held.
      expect(readLarge()).toBe(ADMITTED);
      await locker.query('COMMIT');
      const answers = await Promise.all(calls);

      const ok = answers.flatMap((a, c) => (a.code === GRPC_STATUS.OK ? [c] : []));
      const refused = answers.filter((a) => a.code !== GRPC_STATUS.OK);
      expect(ok).toHaveLength(ADMITTED);
      expect(refused).toHaveLength(CALLS - ADMITTED);
      for (const answer of refused) {
        expect(answer.code, answer.details).toBe(GRPC_STATUS.UNAVAILABLE);
        expect(answer.details).toMatch(/memory budget full/);
        expect(retryDelayOf(answer)).toBe(RETRY_AFTER_SECONDS.overloaded);
      }
      const stored = await countRows(databaseUrl, `SELECT count(*) AS n FROM logs WHERE attributes->>'case' = 'grpc-flood'`);
      expect(stored).toBe(ADMITTED * RECORDS);
      const storedCalls = await countRows(
        databaseUrl,
        `SELECT count(DISTINCT attributes->>'call') AS n FROM logs WHERE attributes->>'case' = 'grpc-flood' AND (attributes->>'call')::int = ANY($1)`,
        [ok],
      );
      expect(storedCalls).toBe(ADMITTED);

      // Still up, with the whole budget free again: a refused call sent again is taken.
      const again = await clients[0]!.call('logs', messages[answers.findIndex((a) => a.code !== GRPC_STATUS.OK)]!, { key: r.key });
      expect(again.code, again.details).toBe(GRPC_STATUS.OK);
    } finally {
      deserialize.mockRestore();
      for (const client of clients) client.close();
      await locker.end();
      await r.close();
    }
  });
});

describe.each(receiverBackends())('OTLP/gRPC listener on $name', (backend) => {
  it('refuses a gRPC port already in use, naming the flag', async () => {
    const first = await startTestReceiver({ ...(await backend.options()), grpcPort: 0 });
    try {
      const taken = Number(first.receiver.grpcAddress!.split(':').pop());
      await expect(startTestReceiver({ ...(await backend.options()), grpcPort: taken })).rejects.toThrow(
        new RegExp(`port ${taken} on 127\\.0\\.0\\.1 is already in use: stop the other process or pass --grpc-port`),
      );
      // The refused start changed nothing for the running one.
      const client = grpcClient(first.receiver.grpcAddress!);
      try {
        expect((await client.call('logs', logsRequest([{ body: 'first' }]), { key: first.key })).code).toBe(GRPC_STATUS.OK);
      } finally {
        client.close();
      }
    } finally {
      await first.close();
    }
  });

  it('has no gRPC listener unless asked for one', async () => {
    const r = await startTestReceiver(await backend.options());
    try {
      expect(r.receiver.grpcAddress).toBeNull();
    } finally {
      await r.close();
    }
  });

  it('finishes the calls in flight when closed, answering each only after COMMIT, and takes no new ones', async () => {
    const { databaseUrl } = (await backend.options()) as { databaseUrl: string };
    const r = await startTestReceiver({ databaseUrl, grpcPort: 0 });
    const client = grpcClient(r.receiver.grpcAddress!);
    const CALLS = 10;
    const RECORDS = 100;
    const locker = new pg.Client({ connectionString: databaseUrl });
    await locker.connect();
    try {
      // Partitions first, so that the calls below wait on the lock, not on creating them.
      expect((await client.call('logs', logsRequest([{ body: 'warm' }]), { key: r.key })).code).toBe(GRPC_STATUS.OK);
      // Commits wait while this transaction holds the logs table: the calls stay in flight.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE logs IN ACCESS EXCLUSIVE MODE');
      const calls = Array.from({ length: CALLS }, (_, c) =>
        client.call('logs', logsRequest(Array.from({ length: RECORDS }, (_, i) => ({ body: `call ${c} record ${i}`, attributes: { case: 'grpc-shutdown' } }))), { key: r.key }),
      );
      await until(
        async () => (await locker.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).rows[0].n > 0,
        'a commit waits on the lock',
      );
      const closed = r.close();
      const late = grpcClient(r.receiver.grpcAddress!);
      const refused = await late.call('logs', logsRequest([{ body: 'too late' }]), { key: r.key });
      late.close();
      expect(refused.code, refused.details).toBe(GRPC_STATUS.UNAVAILABLE);
      await locker.query('COMMIT');
      const answers = await Promise.all(calls);
      await closed;
      expect(answers.map((a) => a.code)).toEqual(Array(CALLS).fill(GRPC_STATUS.OK));
      expect(await countRows(databaseUrl, `SELECT count(*) AS n FROM logs WHERE attributes->>'case' = 'grpc-shutdown'`)).toBe(CALLS * RECORDS);
    } finally {
      client.close();
      await locker.end();
      await r.close();
    }
  });
});
