/**
 * PostgreSQL through node-postgres (receiver/storage/pg.ts), the one Database behind the seam of
 * database.ts, on every supported server: values come back in the same shapes, transactions commit or roll
 * back whole, COPY stores what it is given, and a server that cannot be opened, goes away or cuts a
 * connection yields an error that says what to do, not a crash.
 */
import { describe, expect, it } from 'vitest';
import { startPostgres } from '../../../harness/postgres.js';
import { describeDatabaseError, isQueryCancelled, isTransient } from '../../../receiver/model/database-errors.js';
import { csvField } from '../../../receiver/storage/csv.js';
import { openDatabase } from '../../../receiver/storage/open.js';
import { openServerDatabase } from '../../../receiver/storage/pg.js';
import { rejection } from '../../helpers/async.js';
import { backends, createTestDatabase, databaseFor, testServerUrl } from '../../helpers/backends.js';

describe.each(backends())('pg on $name', (backend) => {
  const db = databaseFor(backend);

  describe('queries and transactions', () => {
    it('returns values in the same shapes on every backend', async () => {
      const { rows } = await db.query(
        `SELECT 1::int4 AS int4, 9007199254740993::int8 AS int8, 1.5::float8 AS float8, 1.10::numeric AS numeric,
                true AS bool, 'x'::text AS text, '\\x0102ff'::bytea AS bytea, '2024-02-29'::date AS date,
                '2024-02-29T10:00:00Z'::timestamptz AS ts, '{"a":[1,"b"]}'::jsonb AS jsonb,
                ARRAY['a','b']::text[] AS texts, ARRAY[1,2]::int4[] AS ints, NULL::text AS nothing`,
      );
      expect(rows[0]).toEqual({
        int4: 1,
        int8: '9007199254740993',
        float8: 1.5,
        numeric: '1.10',
        bool: true,
        text: 'x',
        bytea: Buffer.from([1, 2, 255]),
        date: '2024-02-29',
        ts: new Date('2024-02-29T10:00:00Z'),
        jsonb: { a: [1, 'b'] },
        texts: ['a', 'b'],
        ints: [1, 2],
        nothing: null,
      });
      expect(Buffer.isBuffer(rows[0]!.bytea)).toBe(true);
    });

    it('runs several statements in one query without parameters, answering with the last', async () => {
      const { rows } = await db.query<{ n: number }>('CREATE TEMP TABLE IF NOT EXISTS multi (n int); SELECT 2 AS n');
      expect(rows).toEqual([{ n: 2 }]);
    });

    it('commits what the function did and returns its result', async () => {
      await db.query('CREATE TABLE committed (n int)');
      const result = await db.transaction(async (tx) => {
        await tx.query('INSERT INTO committed VALUES ($1)', [1]);
        return 'done';
      });
      expect(result).toBe('done');
      expect((await db.query('SELECT n FROM committed')).rows).toEqual([{ n: 1 }]);
    });

    it('rolls back and rethrows when the function throws', async () => {
      await db.query('CREATE TABLE rolled_back (n int)');
      const thrown = new Error('boom');
      const err = await rejection(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO rolled_back VALUES (1)');
          throw thrown;
        }),
      );
      expect(err).toBe(thrown);
      expect((await db.query('SELECT n FROM rolled_back')).rows).toEqual([]);
      // The connection is usable afterwards.
      await db.transaction((tx) => tx.query('INSERT INTO rolled_back VALUES (2)'));
      expect((await db.query('SELECT n FROM rolled_back')).rows).toEqual([{ n: 2 }]);
    });

    it('never reports success for a transaction whose failed statement was caught inside', async () => {
      await db.query('CREATE TABLE swallowed (n int PRIMARY KEY)');
      await db.query('INSERT INTO swallowed VALUES (1)');
      await rejection(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO swallowed VALUES (2)');
          await tx.query('INSERT INTO swallowed VALUES (1)').catch(() => undefined);
        }),
      );
      expect((await db.query('SELECT n FROM swallowed')).rows).toEqual([{ n: 1 }]);
    });

    it('runs transactions one at a time per connection, each seeing only its own work', async () => {
      await db.query('CREATE TABLE counter (n int)');
      await db.query('INSERT INTO counter VALUES (0)');
      await Promise.all(
        Array.from({ length: 8 }, () =>
          db.transaction(async (tx) => {
            await tx.query('SELECT n FROM counter FOR UPDATE');
            await tx.query('UPDATE counter SET n = n + 1');
          }),
        ),
      );
      expect((await db.query('SELECT n FROM counter')).rows).toEqual([{ n: 8 }]);
    });

    it('runs without JIT, which compiled for seconds on plans over many partitions', async () => {
      expect((await db.query<{ jit: string }>('SHOW jit')).rows).toEqual([{ jit: 'off' }]);
      await db.transaction(async (tx) => expect((await tx.query<{ jit: string }>('SHOW jit')).rows).toEqual([{ jit: 'off' }]));
      expect((await db.reads.query<{ jit: string }>('SHOW jit')).rows).toEqual([{ jit: 'off' }]);
    });
  });

  describe('COPY', () => {
    const tricky: (string | null)[] = [
      'plain',
      'with "quotes"',
      '"',
      'a,b',
      'line\nbreak',
      'crlf\r\nend',
      'back\\slash',
      '\\.',
      '\\N',
      'NULL',
      ' surrounding spaces ',
      'unicode: é ✓ 日本 😀',
      '{"json": "with \\"escapes\\"", "n": [1, 2]}',
      '',
      null,
    ];

    it('round-trips quotes, commas, newlines, backslashes, unicode, and empty string apart from NULL', async () => {
      await db.query('CREATE TABLE copied (id int, value text, n bigint)');
      const csv = tricky.map((value, i) => `${csvField(i)},${csvField(value)},${csvField(i * 1000)}\n`).join('');
      await db.transaction((tx) => tx.copyCsv('copied', ['id', 'value', 'n'], csv));
      const { rows } = await db.query<{ value: string | null; n: string }>('SELECT value, n FROM copied ORDER BY id');
      expect(rows.map((row) => row.value)).toEqual(tricky);
      expect(rows.map((row) => row.n)).toEqual(tricky.map((_, i) => String(i * 1000)));
    });

    it('copies nothing from an empty string', async () => {
      await db.query('CREATE TABLE copied_empty (value text)');
      await db.transaction((tx) => tx.copyCsv('copied_empty', ['value'], ''));
      expect((await db.query('SELECT * FROM copied_empty')).rows).toEqual([]);
    });

    it('refuses rows the table refuses, as a permanent error, and stores none of the batch', async () => {
      await db.query('CREATE TABLE copied_strict (id int PRIMARY KEY, value text NOT NULL)');
      const err = await rejection(db.transaction((tx) => tx.copyCsv('copied_strict', ['id', 'value'], '1,a\n2,\n')));
      expect(isTransient(err)).toBe(false);
      expect(describeDatabaseError(err)).toMatch(/SQLSTATE 23502/);
      expect((await db.query('SELECT * FROM copied_strict')).rows).toEqual([]);
      await db.transaction((tx) => tx.copyCsv('copied_strict', ['id', 'value'], '1,a\n'));
      expect((await db.query('SELECT * FROM copied_strict')).rows).toEqual([{ id: 1, value: 'a' }]);
    });

    it('refuses a table or column name that would need quoting', async () => {
      const err = await rejection(db.transaction((tx) => tx.copyCsv('copied; DROP TABLE tenants', ['id'], '')));
      expect(err.message).toMatch(/unexpected table name/);
    });
  });
});

describe('server database', () => {
  const serverUrl = testServerUrl();

  it('explains an unreachable DATABASE_URL, with the remedy', async () => {
    const err = await rejection(openServerDatabase('postgres://pipemon:secret@127.0.0.1:1/pipemon'));
    expect(err.message).toBe(
      'DATABASE_URL unreachable at 127.0.0.1:1 (ECONNREFUSED): start PostgreSQL or unset DATABASE_URL to use the embedded server',
    );
    expect(err.message).not.toContain('secret');
  });

  it('explains a DATABASE_URL that is not one', async () => {
    await expect(openDatabase({ databaseUrl: 'postgres://[::1' })).rejects.toThrow(/DATABASE_URL is not a PostgreSQL connection string/);
  });

  it('explains a database that does not exist', async () => {
    const url = new URL(serverUrl);
    url.pathname = '/no_such_database';
    await expect(openServerDatabase(url.toString())).rejects.toThrow(/no database "no_such_database" at 127\.0\.0\.1:\d+: create it/);
  });

  it('describes itself as host:port/database, without the password', async () => {
    const url = new URL(serverUrl);
    expect(url.password).not.toBe('');
    const db = await openServerDatabase(url.toString());
    try {
      expect(db.description).toBe(`127.0.0.1:${url.port}/pipemon`);
      expect(db.writeConcurrency).toBe(2);
    } finally {
      await db.close();
    }
  });

  it('reads on connections the server cancels past the read time limit, and writes on others that have none', async () => {
    const db = await openServerDatabase(await createTestDatabase(serverUrl), { readTimeoutMs: 200 });
    try {
      expect((await db.reads.query('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '200ms' }]);
      expect((await db.query('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '0' }]);
      const err = await rejection(db.reads.query('SELECT pg_sleep(60)'));
      expect(isQueryCancelled(err)).toBe(true);
      expect(describeDatabaseError(err)).toMatch(/statement timeout \(SQLSTATE 57014\)/);
      // The cancelled read's connection goes back to its pool in working order.
      expect((await db.reads.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('fails transiently while the server is down and recovers when it is back, without crashing', async () => {
    const server = await startPostgres();
    try {
      const db = await openDatabase({ databaseUrl: server.url });
      try {
        // Idle connections in the pool, to be cut by the shutdown.
        await Promise.all([1, 2, 3].map(() => db.query('SELECT pg_sleep(0.05)')));
        await server.stop();
        const queryError = await rejection(db.query('SELECT 1'));
        expect(isTransient(queryError)).toBe(true);
        const transactionError = await rejection(db.transaction((tx) => tx.query('SELECT 1')));
        expect(isTransient(transactionError)).toBe(true);
        expect(describeDatabaseError(transactionError)).not.toBe('');

        await server.start();
        expect((await db.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
        expect(await db.transaction(async (tx) => (await tx.query<{ ok: number }>('SELECT 2 AS ok')).rows)).toEqual([{ ok: 2 }]);
      } finally {
        await db.close();
      }
    } finally {
      await server.destroy();
    }
  });

  it('ends a transaction whose connection is cut, and keeps the pool usable', async () => {
    const db = await openDatabase({ databaseUrl: await createTestDatabase(serverUrl) });
    try {
      const err = await rejection(
        db.transaction(async (tx) => {
          await tx.query('SELECT pg_terminate_backend(pg_backend_pid())').catch(() => undefined);
          await tx.query('SELECT 1');
        }),
      );
      expect(isTransient(err)).toBe(true);
      expect((await db.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await db.close();
    }
  });
});
