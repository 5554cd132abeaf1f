/**
 * The query API reads on a pool of its own (receiver/storage/pg.ts): a read that runs past the time limit
 * is cancelled by PostgreSQL and answered 504 with the filters that would narrow it, and reads that hold
 * every connection of their pool leave the writer's free, so ingest keeps committing beside them. Reads
 * are held up for real: a test connection locks the table they read.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { READ_POOL_SIZE } from '../../../receiver/storage/pg.js';
import { api } from '../../helpers/api.js';
import { until } from '../../helpers/async.js';
import { otlpJsonLogs } from '../../helpers/otlp-json.js';
import { post, receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A connection of the test's own holding ACCESS EXCLUSIVE on `tables` until release(): reads of them wait. */
async function lockTables(databaseUrl: string, tables: string[]) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${tables.join(', ')} IN ACCESS EXCLUSIVE MODE`);
  let released = false;
  return {
    /** Sessions of other connections waiting for a lock: the reads held up. */
    async waiting() {
      // Inside a transaction the activity view keeps its first snapshot unless cleared.
      await client.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return rows[0]!.n;
    },
    release: async () => {
      if (released) return;
      released = true;
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

describe.each(receiverBackends())('query API reads on $name', (backend) => {
  let r: TestReceiver | undefined;
  let lock: Awaited<ReturnType<typeof lockTables>> | undefined;
  afterEach(async () => {
    await lock?.release();
    await r?.close();
  });

  async function start(readTimeoutMs: number, tables: string[]) {
    const options = await backend.options();
    r = await startTestReceiver({ ...options, readTimeoutMs });
    lock = await lockTables(options.databaseUrl!, tables);
    return r;
  }

  it('answers 504 for a read cancelled at the time limit, naming the filters its route takes, then reads again', async () => {
    const { url, key } = await start(300, ['log_records', 'spans']);

    const logs = await api(url, '/api/v1/logs?pipeline=orders', { key });
    expect(logs.status).toBe(504);
    expect(logs.headers.get('retry-after')).toBeNull();
    expect(logs.body.error).toBe(
      'the query ran past the 0.3 s read time limit and was cancelled: narrow it (a later "since", an earlier "until", one "pipeline", one "run_id", one "stage", one "trace_id") and ask again',
    );
    // A route that takes no filter (one trace by its id) says so rather than naming none.
    const trace = await api(url, `/api/v1/traces/${hex(16)}`, { key });
    expect([trace.status, trace.body.error]).toEqual([
      504,
      'the query ran past the 0.3 s read time limit and was cancelled: ask again when the database is less busy',
    ]);

    await lock!.release();
    expect((await api(url, '/api/v1/logs?pipeline=orders', { key })).status).toBe(200);
  });

  it('keeps committing ingest while reads hold every connection of their pool', async () => {
    // A limit no read reaches here: the reads wait until the lock is released.
    const { url, key, receiver } = await start(600_000, ['spans']);
    const reads = Array.from({ length: READ_POOL_SIZE + 3 }, () => api(url, `/api/v1/traces/${hex(16)}`, { key }));
    await until(async () => (await lock!.waiting()) === READ_POOL_SIZE, `${READ_POOL_SIZE} reads wait for the lock`);

    const timeMs = Date.now();
    const body = otlpJsonLogs({ 'service.name': 'beside-reads' }, [{ body: 'stored while reads wait', timeMs }, { body: 'and this one', timeMs }]);
    const answer = await post(url, '/v1/logs', body, { key, contentType: 'application/json' });
    expect([answer.status, answer.body.toString()]).toEqual([200, '{}']);
    const { rows } = await receiver.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM logs WHERE body IN ('stored while reads wait', 'and this one')`);
    expect(rows[0]!.n).toBe(2);
    // The reads beyond the pool's size wait in the pool, not on connections of the writer's.
    expect(await lock!.waiting()).toBe(READ_POOL_SIZE);

    await lock!.release();
    expect((await Promise.all(reads)).map((read) => read.status)).toEqual(reads.map(() => 404));
  });
});
