/**
 * Durability against real processes and real databases: a 200 means COMMIT, so what was acknowledged
 * must survive a SIGTERM, a kill -9 and a database that goes away, and receivers starting together on
 * one database must both come up. Only acknowledged requests are asserted: one answered with an error,
 * or cut off, may or may not be stored (the client resends it either way).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKey, startReceiver, type Receiver } from '../receiver/index.js';
import { decodeLogsProtobuf } from '../receiver/otlp/protobuf.js';
import type { Queryable } from '../receiver/storage/database.js';
import { MIGRATIONS } from '../receiver/storage/migrations.js';
import { openDatabase } from '../receiver/storage/open.js';
import { backends, createTestDatabase } from './helpers/backends.js';
import { logsRequest, post } from './helpers/receiver.js';
import { startPostgres, type PostgresServer } from './setup/postgres.js';

const CLI = fileURLToPath(new URL('../dist/bin/pipemon.js', import.meta.url));
const CLIENTS = 8;
const RECORDS = 1000;
/** The attribute naming the request a record came in, so rows can be counted per request. */
const REQUEST = 'test.request';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

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

beforeAll(() => {
  // Every assertion below counts records: a builder that silently made empty requests would prove nothing.
  expect(decodeLogsProtobuf(batch('probe')), 'test/helpers/receiver.ts logsRequest() built a request without its records').toHaveLength(RECORDS);
});

interface PipemonProcess {
  child: ChildProcess;
  url: string;
  key: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

const children: ChildProcess[] = [];
const directories: string[] = [];

afterEach(() => {
  // A failed test must not leave a receiver running; each is killed by its own pid.
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of directories.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** `pipemon serve --port 0` as a separate process, as an operator runs it; resolves once it listens. */
async function spawnPipemon(dataDir: string, databaseUrl: string | undefined): Promise<PipemonProcess> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build; npm test does it)`);
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
    // An empty DATABASE_URL selects the embedded database, whatever the environment running the tests holds.
    env: { ...process.env, DATABASE_URL: databaseUrl ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pipemon did not start within 60 s:\n${output}`)), 60_000);
    const onData = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`pipemon exited (${signal ?? code}) before listening:\n${output}`));
    });
  });
  // The first start on an empty database saves the default key before it listens.
  const key = fs.readFileSync(path.join(dataDir, 'default-api-key'), 'utf8').trim();
  return { child, url, key, exited, output: () => output };
}

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

describe.each(backends())('a pipemon process on $name', (backend) => {
  async function setUp() {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-durability-'));
    directories.push(dataDir);
    const databaseUrl = await backend.databaseUrl();
    return { dataDir, databaseUrl, pipemon: await spawnPipemon(dataDir, databaseUrl) };
  }

  /** Rows per request as stored, read after the process is gone (the embedded database is then free). */
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

// Without PostgreSQL's server binaries there is no test server: globalSetup then warns loudly, or fails
// the run when CI is set.
describe.skipIf(!inject('databaseUrl'))('receivers on a PostgreSQL server', () => {
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

    const statuses = new Map<number, number>();
    let withoutRetryAfter = 0;
    let networkErrors = 0;
    let acked = 0;
    let next = 0;
    // As an OTLP exporter does: resend on 503 after Retry-After, and on a network error after a pause.
    const exporter = async () => {
      while (next < BATCHES) {
        const body = batch(`batch-${next++}`, BATCH_RECORDS);
        for (;;) {
          let waitMs: number;
          try {
            const { status, headers } = await post(url, '/v1/logs', body, { key });
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (status === 200) {
              acked++;
              break;
            }
            if (status !== 503) break;
            const retryAfter = headers.get('retry-after');
            if (retryAfter === null) withoutRetryAfter++;
            waitMs = Number(retryAfter ?? 1) * 1000;
          } catch {
            networkErrors++;
            waitMs = 200;
          }
          await sleep(waitMs);
        }
      }
    };
    const exporters = Promise.all(Array.from({ length: EXPORTERS }, exporter));

    await until(() => acked >= 8, '8 batches are acknowledged');
    await server.stop();
    await until(() => (statuses.get(503) ?? 0) >= EXPORTERS, `${EXPORTERS} answers are 503`);
    const unseen = await post(url, '/v1/logs', batch('unseen-key', 1), { key: unseenKey });
    await server.start();
    await exporters;

    expect([...statuses.keys()].sort(), `network errors: ${networkErrors}`).toEqual([200, 503]);
    expect(withoutRetryAfter).toBe(0);
    expect([unseen.status, unseen.headers.get('retry-after')]).toEqual([503, expect.stringMatching(/^\d+$/)]);
    const stored = await rowsPerRequest(receiver.db);
    const ids = Array.from({ length: BATCHES }, (_, i) => `batch-${i}`);
    expect(missing(ids, stored, BATCH_RECORDS)).toEqual([]);
    expect([...stored.values()].reduce((sum, n) => sum + n, 0)).toBe(BATCHES * BATCH_RECORDS);
  }, 120_000);

  it('two receivers starting at once on one database both come up', async () => {
    const databaseUrl = await createTestDatabase(inject('databaseUrl')!);
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
