/**
 * Durability against real processes and real databases: a 200 means COMMIT, so what was acknowledged
 * must survive a SIGTERM, a kill -9 and a database that goes away, and receivers starting together on
 * one database must both come up. Only acknowledged requests are asserted: one answered with an error,
 * or cut off, may or may not be stored (the client resends it either way).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, startReceiver, type Receiver } from '../../receiver/index.js';
import { decodeLogsProtobuf } from '../../receiver/decode/otlp-protobuf.js';
import type { Queryable } from '../../receiver/storage/database.js';
import { MIGRATIONS } from '../../receiver/storage/migrations.js';
import { openDatabase } from '../../receiver/storage/open.js';
import { sleep, until } from '../helpers/async.js';
import { backends, createTestDatabase, testServerUrl } from '../helpers/backends.js';
import { spawnPipemon, tempDataDir } from '../helpers/pipemon-process.js';
import { logsRequest, post } from '../helpers/receiver.js';
import { startPostgres, type PostgresServer } from '../../harness/postgres.js';
const CLIENTS = 8;
const RECORDS = 1000;
/** The attribute naming the request a record came in, so rows can be counted per request. */
const REQUEST = 'test.request';

function batch(id: string, records = RECORDS): Buffer {
  return logsRequest(
    Array.from({ length: records }, (_, i) => ({
      body: `batch ${i} of ${id} loaded into warehouse.orders_daily: 4980 rows, 20 rejected`,
      attributes: { [REQUEST]: id, 'test.seq': i },
    })),
  );
}

/** Stored rows per request id. */
async function rowsPerRequest(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ id: string; n: number }>(
    `SELECT attributes->>'${REQUEST}' AS id, count(*)::int AS n FROM logs GROUP BY 1`,
  );
  return new Map(rows.map((row) => [row.id, row.n]));
}

/** Request ids acknowledged with 200 whose rows are not all stored exactly once, with what is stored. */
function missing(acked: Iterable<string>, stored: Map<string, number>, records = RECORDS): string[] {
  return [...acked].filter((id) => stored.get(id) !== records).map((id) => `${id}: ${stored.get(id) ?? 0} rows`);
}

/**
 * EXPORTERS clients sending `batches` requests of `records` log records (ids batch-0, batch-1, ...) as an
 * OTLP exporter does: resend on 503 after Retry-After, and on a network error after a pause.
 */
function exportWithRetries(url: string, key: string, batches: number, records: number, exporters: number) {
  const progress = { statuses: new Map<number, number>(), withoutRetryAfter: 0, networkErrors: 0, acked: 0, done: Promise.resolve() };
  let next = 0;
  const exporter = async () => {
    while (next < batches) {
      const body = batch(`batch-${next++}`, records);
      for (;;) {
        let waitMs: number;
        try {
          const { status, headers } = await post(url, '/v1/logs', body, { key });
          progress.statuses.set(status, (progress.statuses.get(status) ?? 0) + 1);
          if (status === 200) {
            progress.acked++;
            break;
          }
          if (status !== 503) break;
          const retryAfter = headers.get('retry-after');
          if (retryAfter === null) progress.withoutRetryAfter++;
          waitMs = Number(retryAfter ?? 1) * 1000;
        } catch {
          progress.networkErrors++;
          waitMs = 200;
        }
        await sleep(waitMs);
      }
    }
  };
  progress.done = Promise.all(Array.from({ length: exporters }, exporter)).then(() => undefined);
  return progress;
}

beforeAll(() => {
  // Every assertion below counts records: a builder that silently made empty requests would prove nothing.
  expect(decodeLogsProtobuf(batch('probe')), 'test/helpers/receiver.ts logsRequest() built a request without its records').toHaveLength(RECORDS);
});

interface Ack {
  id: string;
  sentMs: number;
  ackedMs: number;
}

/**
 * CLIENTS exporters sending RECORDS-record protobuf batches back to back, each until the receiver stops
 * answering (a refused or reset connection). Other statuses are kept to show in failures.
 */
function streamUntilGone(url: string, key: string) {
  const acks: Ack[] = [];
  const refusals: number[] = [];
  let sequence = 0;
  const client = async (c: number) => {
    for (;;) {
      const id = `c${c}-${sequence++}`;
      const body = batch(id);
      const sentMs = performance.now();
      try {
        const { status } = await post(url, '/v1/logs', body, { key });
        if (status === 200) acks.push({ id, sentMs, ackedMs: performance.now() });
        else refusals.push(status);
      } catch {
        return;
      }
    }
  };
  return { acks, refusals, done: Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c))) };
}

// The embedded server (the default: no DATABASE_URL) and each test server as a DATABASE_URL.
const storages = [
  { name: 'its embedded server', databaseUrl: async (): Promise<string | undefined> => undefined },
  ...backends().map((backend) => ({ name: backend.name, databaseUrl: backend.databaseUrl })),
];

describe.each(storages)('a pipemon process on $name', (backend) => {
  async function setUp() {
    const dataDir = tempDataDir();
    const databaseUrl = await backend.databaseUrl();
    return { dataDir, databaseUrl, pipemon: await spawnPipemon(dataDir, databaseUrl) };
  }

  /** Rows per request as stored, read after the process is gone (the embedded server is then free). */
  async function storedAfterExit(dataDir: string, databaseUrl: string | undefined): Promise<Map<string, number>> {
    const db = await openDatabase({ databaseUrl, dataDir });
    try {
      return await rowsPerRequest(db);
    } finally {
      await db.close();
    }
  }

  it('SIGTERM finishes and commits accepted requests, then exits 0', async () => {
    const { dataDir, databaseUrl, pipemon } = await setUp();
    const stream = streamUntilGone(pipemon.url, pipemon.key);
    await until(() => stream.acks.length >= CLIENTS, `${CLIENTS} requests are acknowledged`);
    const signalledMs = performance.now();
    pipemon.child.kill('SIGTERM');

    // The receiver's own shutdown deadline is 30 s: past that, it is stuck.
    const exit = await Promise.race([pipemon.exited, sleep(45_000).then(() => 'still running 45 s after SIGTERM')]);
    await stream.done;
    expect(exit, pipemon.output()).toEqual({ code: 0, signal: null });
    // The embedded server was shut down cleanly with it (PostgreSQL removes its pid file last).
    if (!databaseUrl) expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    // Requests under way when the signal came were finished, not dropped.
    expect(stream.acks.filter((ack) => ack.sentMs < signalledMs && ack.ackedMs > signalledMs).length).toBeGreaterThan(0);
    const stored = await storedAfterExit(dataDir, databaseUrl);
    expect(missing(stream.acks.map((ack) => ack.id), stored), `refused: ${stream.refusals.join(',')}`).toEqual([]);
  }, 120_000);

  it('kill -9 mid-stream loses nothing that was acknowledged', async () => {
    const { dataDir, databaseUrl, pipemon } = await setUp();
    const stream = streamUntilGone(pipemon.url, pipemon.key);
    await until(() => stream.acks.length >= 2 * CLIENTS, `${2 * CLIENTS} requests are acknowledged`);
    pipemon.child.kill('SIGKILL');
    // Answers already on their way when the process died still arrive: they are acknowledgements too.
    const exit = await pipemon.exited;
    await stream.done;
    expect(exit.signal).toBe('SIGKILL');

    const stored = await storedAfterExit(dataDir, databaseUrl);
    expect(missing(stream.acks.map((ack) => ack.id), stored), `refused: ${stream.refusals.join(',')}`).toEqual([]);
  }, 120_000);
});

describe('a pipemon process supervising its embedded server', () => {
  it('restarts the server after a kill -9: 503 meanwhile, nothing acknowledged lost', async () => {
    const BATCHES = 40;
    const BATCH_RECORDS = 500;
    const EXPORTERS = 4;
    const dataDir = tempDataDir();
    const pipemon = await spawnPipemon(dataDir, undefined);
    const postmaster = () => Number.parseInt(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8'), 10);
    const exporters = exportWithRetries(pipemon.url, pipemon.key, BATCHES, BATCH_RECORDS, EXPORTERS);
    await until(() => exporters.acked >= 8, '8 batches are acknowledged');
    const killed = postmaster();
    process.kill(killed, 'SIGKILL');
    await exporters.done;
    await until(() => /embedded PostgreSQL server is back/.test(pipemon.output()), 'the server is restarted');

    expect(postmaster()).not.toBe(killed);
    expect(pipemon.output()).toContain(`the embedded PostgreSQL server (pid ${killed}) exited (SIGKILL); restarting it`);
    // The requests in flight when the server died were answered 503 (retry), never dropped with a 4xx.
    expect(exporters.statuses.get(503), pipemon.output()).toBeGreaterThan(0);
    expect([...exporters.statuses.keys()].sort(), `network errors: ${exporters.networkErrors}`).toEqual([200, 503]);
    expect(exporters.withoutRetryAfter).toBe(0);
    pipemon.child.kill('SIGTERM');
    expect(await pipemon.exited).toEqual({ code: 0, signal: null });

    const db = await openDatabase({ dataDir });
    try {
      const stored = await rowsPerRequest(db);
      const ids = Array.from({ length: BATCHES }, (_, i) => `batch-${i}`);
      expect(missing(ids, stored, BATCH_RECORDS)).toEqual([]);
      expect([...stored.values()].reduce((sum, n) => sum + n, 0)).toBe(BATCHES * BATCH_RECORDS);
    } finally {
      await db.close();
    }
  }, 120_000);
});

describe('receivers on a PostgreSQL server', () => {
  let server: PostgresServer | undefined;
  let receiver: Receiver | undefined;
  afterAll(async () => {
    await receiver?.close();
    await server?.destroy();
  });

  it('database stopped mid-stream answers 503 and recovers with nothing lost', async () => {
    const BATCHES = 40;
    const BATCH_RECORDS = 500;
    const EXPORTERS = 4;
    server = await startPostgres();
    receiver = await startReceiver({ port: 0, databaseUrl: server.url });
    const { url, defaultKey: key } = receiver;
    expect(key).toBeTruthy();
    // A key the receiver has not seen yet needs the database to be checked: while it is down, that too
    // must be a 503 (retry), never a 401 (which makes exporters drop the data).
    const { key: unseenKey } = await createKey(receiver.db, 'late-tenant', ['ingest']);

    const exporters = exportWithRetries(url, key!, BATCHES, BATCH_RECORDS, EXPORTERS);

    await until(() => exporters.acked >= 8, '8 batches are acknowledged');
    await server.stop();
    await until(() => (exporters.statuses.get(503) ?? 0) >= EXPORTERS, `${EXPORTERS} answers are 503`);
    const unseen = await post(url, '/v1/logs', batch('unseen-key', 1), { key: unseenKey });
    await server.start();
    await exporters.done;

    expect([...exporters.statuses.keys()].sort(), `network errors: ${exporters.networkErrors}`).toEqual([200, 503]);
    expect(exporters.withoutRetryAfter).toBe(0);
    expect([unseen.status, unseen.headers.get('retry-after')]).toEqual([503, expect.stringMatching(/^\d+$/)]);
    const stored = await rowsPerRequest(receiver.db);
    const ids = Array.from({ length: BATCHES }, (_, i) => `batch-${i}`);
    expect(missing(ids, stored, BATCH_RECORDS)).toEqual([]);
    expect([...stored.values()].reduce((sum, n) => sum + n, 0)).toBe(BATCHES * BATCH_RECORDS);
  }, 120_000);

  it('two receivers starting at once on one database both come up', async () => {
    const databaseUrl = await createTestDatabase(testServerUrl());
    const started = await Promise.allSettled([startReceiver({ port: 0, databaseUrl }), startReceiver({ port: 0, databaseUrl })]);
    const receivers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      expect(started.map((result) => (result.status === 'rejected' ? String(result.reason) : 'up'))).toEqual(['up', 'up']);
      // One default key between them, and it works on both.
      const keys = receivers.map((r) => r.defaultKey).filter((key): key is string => key !== null);
      expect(keys).toHaveLength(1);
      for (const [i, r] of receivers.entries()) {
        expect((await post(r.url, '/v1/logs', batch(`receiver-${i}`), { key: keys[0] })).status).toBe(200);
      }
      const db = receivers[0]!.db;
      const { rows } = await db.query<{ applied: number; versions: number }>(
        'SELECT count(*)::int AS applied, count(DISTINCT version)::int AS versions FROM schema_migrations',
      );
      expect(rows[0]).toEqual({ applied: MIGRATIONS.length, versions: MIGRATIONS.length });
      expect(missing(['receiver-0', 'receiver-1'], await rowsPerRequest(db))).toEqual([]);
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
    }
  });
});
