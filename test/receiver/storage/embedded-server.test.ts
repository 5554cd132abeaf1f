/**
 * The embedded default: a real PostgreSQL server (the npm package's) that pipemon initialises in its data
 * directory, shares with `pipemon keys`, supervises and stops; and the move of an earlier pipemon's
 * PGlite database into it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createKey, createKeyVerifier, createTenant } from '../../../receiver/auth/keys.js';
import { startEmbeddedServer, type EmbeddedServer } from '../../../receiver/storage/embedded-server.js';
import { MIGRATIONS } from '../../../receiver/storage/migrations.js';
import { movePglite, pgliteDatabase } from '../../../receiver/storage/move-pglite.js';
import { openDatabase } from '../../../receiver/storage/open.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { rejection, sleep, until } from '../../helpers/async.js';
import { tempDataDir } from '../../helpers/pipemon-process.js';

/** Pids of PostgreSQL processes whose command line names `dir`. */
function postgresProcessesOn(dir: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.includes('postgres') && cmdline.includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Runs each statement in turn on one connection; returns the last one's rows. */
async function query<R extends pg.QueryResultRow>(url: string, ...statements: string[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let rows: R[] = [];
    for (const sql of statements) rows = (await client.query<R>(sql)).rows;
    return rows;
  } finally {
    await client.end();
  }
}

describe('the embedded PostgreSQL server', () => {
  it('is initialised on first start: fsync on, loopback only, passwords in a file only its owner reads', async () => {
    const dir = tempDataDir();
    const server = await startEmbeddedServer({ dataDir: dir });
    try {
      const settings = path.join(dir, 'server.json');
      expect(fs.statSync(settings).mode & 0o777).toBe(0o600);
      const { port, owner, reader } = JSON.parse(fs.readFileSync(settings, 'utf8'));
      expect(server.url).toBe(`postgres://pipemon:${owner.password}@127.0.0.1:${port}/pipemon`);
      expect(server.readonlyUrl).toBe(`postgres://pipemon_reader:${reader.password}@127.0.0.1:${port}/pipemon`);
      expect(owner.password).toMatch(/^[\w-]{32}$/);
      expect(reader.password).not.toBe(owner.password);
      const [settingsRow] = await query<{ fsync: string; synchronous_commit: string; listen: string; sockets: string }>(
        server.url,
        `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit,
                current_setting('listen_addresses') AS listen, current_setting('unix_socket_directories') AS sockets`,
      );
      expect(settingsRow).toEqual({ fsync: 'on', synchronous_commit: 'on', listen: '127.0.0.1', sockets: '' });
      // A wrong password is refused: the server does not trust loopback.
      const wrong = new URL(server.url);
      wrong.password = 'not-the-password';
      expect((await rejection(query(wrong.toString(), 'SELECT 1'))).message).toMatch(/password authentication failed/);
    } finally {
      await server.stop();
    }
  });

  it('keeps its data and port across a restart, and releases its lock when stopped', async () => {
    const dir = tempDataDir();
    const first = await startEmbeddedServer({ dataDir: dir });
    try {
      await query(first.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    } finally {
      await first.stop();
    }
    expect(fs.existsSync(path.join(dir, 'pipemon.lock'))).toBe(false);
    const again = await startEmbeddedServer({ dataDir: dir });
    try {
      expect(again.url).toBe(first.url);
      expect(await query(again.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);
    } finally {
      await again.stop();
    }
  });

  it('refuses a second pipemon serve on its directory, and lets pipemon keys connect beside it', async () => {
    const dir = tempDataDir();
    const server = await startEmbeddedServer({ dataDir: dir });
    try {
      const refused = await rejection(startEmbeddedServer({ dataDir: dir }));
      expect(refused.message).toMatch(new RegExp(`${dir} is in use by pipemon process ${process.pid}: stop that pipemon first.*pipemon keys works beside it`));
      const beside = await openDatabase({ dataDir: dir, whenInUse: 'connect' });
      try {
        expect(beside.description).toBe(`embedded PostgreSQL server in ${dir} (run by pipemon process ${process.pid})`);
        await createTenant(beside, 'from-keys');
      } finally {
        await beside.close();
      }
      // Closing the connection beside it stops nothing.
      expect(await query(server.url, 'SELECT name FROM tenants')).toEqual([{ name: 'from-keys' }]);
    } finally {
      await server.stop();
    }
  });

  it('takes over a lock left by a process that is gone', async () => {
    const dir = tempDataDir();
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(path.join(dir, 'pipemon.lock'), `${gone}\n`);
    const server = await startEmbeddedServer({ dataDir: dir });
    try {
      expect(fs.readFileSync(path.join(dir, 'pipemon.lock'), 'utf8')).toBe(`${process.pid}\n`);
    } finally {
      await server.stop();
    }
  });

  it('gives Grafana and psql a role that logs in, reads the tables dashboards show, including later partitions, and writes nothing', async () => {
    const dir = tempDataDir();
    const db = await openDatabase({ dataDir: dir });
    try {
      await createTenant(db, 'acme');
      await db.transaction((tx) => createPartitionManager().ensure(tx, 'log_records', [Date.UTC(2031, 0, 1)]));
      await db.query(
        `INSERT INTO log_records (tenant_id, ts, fingerprint, stream_id, time_unix_nano, flags, severity_number, severity_text,
           event_name, attribute_values)
         VALUES (1, '2031-01-01T12:00:00Z', 1, 0, 0, 0, 9, 'INFO', '', '[]')`,
      );
      const reader = db.readonlyUrl!;
      expect(await query(reader, 'SELECT name FROM tenants')).toEqual([{ name: 'acme' }]);
      expect(await query(reader, 'SELECT count(*)::int AS n FROM logs')).toEqual([{ n: 1 }]);
      expect((await rejection(query(reader, 'SELECT * FROM api_keys'))).message).toMatch(/permission denied/);
      expect((await rejection(query(reader, "INSERT INTO tenants (name) VALUES ('x')"))).message).toMatch(/read-only transaction/);
      expect((await rejection(query(reader, 'SET default_transaction_read_only = off', 'DELETE FROM tenants'))).message).toMatch(
        /permission denied/,
      );
    } finally {
      await db.close();
    }
  });

  it('restarts the server when it dies, and reports it', async () => {
    const dir = tempDataDir();
    const warnings: string[] = [];
    const server: EmbeddedServer = await startEmbeddedServer({ dataDir: dir, warn: (message) => warnings.push(message) });
    try {
      await query(server.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
      const killed = server.pid()!;
      process.kill(killed, 'SIGKILL');
      await until(() => warnings.some((w) => w.includes('is back')), 'the server is back');
      expect(server.pid()).not.toBe(killed);
      expect(warnings[0]).toBe(`pipemon: the embedded PostgreSQL server (pid ${killed}) exited (SIGKILL); restarting it. Until then, ingest answers 503.`);
      expect(await query(server.url, 'SELECT n FROM kept')).toEqual([{ n: 7 }]);
    } finally {
      await server.stop();
    }
    expect(fs.existsSync(path.join(dir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it('explains a port taken while it was stopped, instead of moving where connection strings do not follow', async () => {
    const dir = tempDataDir();
    await (await startEmbeddedServer({ dataDir: dir })).stop();
    const { port } = JSON.parse(fs.readFileSync(path.join(dir, 'server.json'), 'utf8'));
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      expect((await rejection(startEmbeddedServer({ dataDir: dir }))).message).toMatch(
        new RegExp(`port ${port} on 127\\.0\\.0\\.1, where the embedded PostgreSQL server in ${dir} listens, is taken by another program: stop it, or give the server another free port in ${dir}/server\\.json`),
      );
      expect(fs.existsSync(path.join(dir, 'pipemon.lock'))).toBe(false);
      // A server that failed to start is not restarted behind the caller's back.
      await sleep(1500);
      expect(postgresProcessesOn(dir)).toEqual([]);
    } finally {
      squatter.close();
    }
  });

  it('explains a missing or damaged server.json instead of inventing passwords the server would refuse', async () => {
    const dir = tempDataDir();
    await (await startEmbeddedServer({ dataDir: dir })).stop();
    const settings = path.join(dir, 'server.json');
    const saved = fs.readFileSync(settings, 'utf8');
    fs.rmSync(settings);
    expect((await rejection(startEmbeddedServer({ dataDir: dir }))).message).toBe(
      `${settings} is missing but ${dir}/postgres holds a server: restore server.json from a backup of ${dir}, or move ${dir} away to start afresh`,
    );
    fs.writeFileSync(settings, '{}');
    expect((await rejection(startEmbeddedServer({ dataDir: dir }))).message).toMatch(/server\.json lacks the port, the database or a role's user and password: restore it/);
    fs.writeFileSync(settings, saved.replace(/"password": "[^"]+"/, '"password": "not-the-one"'));
    expect((await rejection(startEmbeddedServer({ dataDir: dir }))).message).toMatch(/refused the password in .*server\.json: that file does not belong to this server/);
    // The postmaster is gone; its backends follow it within moments.
    await until(() => postgresProcessesOn(dir).length === 0, 'no PostgreSQL process is left on the directory', 5_000);
  });

  it('tells pipemon keys to wait while the running pipemon is still preparing its server', async () => {
    const dir = tempDataDir();
    // The parent process (vitest's) is alive and is not this one: as a pipemon serve in its first second.
    fs.writeFileSync(path.join(dir, 'pipemon.lock'), `${process.ppid}\n`);
    expect((await rejection(startEmbeddedServer({ dataDir: dir, whenInUse: 'connect' }))).message).toBe(
      `pipemon process ${process.ppid} is still preparing the server in ${dir}: try again in a moment`,
    );
    expect(fs.existsSync(path.join(dir, 'server.json'))).toBe(false);
  });

  it('explains a data directory it cannot create', async () => {
    const file = path.join(tempDataDir(), 'a-file');
    fs.writeFileSync(file, '');
    expect((await rejection(startEmbeddedServer({ dataDir: path.join(file, 'data') }))).message).toMatch(
      /cannot create the data directory .*a-file\/data .*choose a writable --data-dir/,
    );
  });
});

describe('pipemon move-pglite', () => {
  /** A data directory as an earlier pipemon left it: PGlite in <dir>/pglite with a tenant, a key, logs and a run. */
  async function earlierDataDir(): Promise<{ dir: string; key: string }> {
    const dir = tempDataDir();
    const pglite = await PGlite.create(path.join(dir, 'pglite'));
    const db = pgliteDatabase(pglite, dir);
    let key: string;
    try {
      // The schema as the PGlite pipemon left it: its first migration only.
      const [first] = MIGRATIONS;
      await db.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      await db.query(first!.sql);
      await db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [first!.version, first!.name]);
      ({ key } = await createKey(db, 'default', ['ingest', 'read']));
      await db.transaction(async (tx) => {
        // The partitions that pipemon created as its partitions.ts then named them.
        for (const day of ['2026-11-01', '2026-11-02']) {
          await tx.query(`CREATE TABLE logs_p${day.replaceAll('-', '')} PARTITION OF logs FOR VALUES FROM ('${day}') TO ('${day}'::date + 1)`);
        }
        // The second a data-quality check, as the SDK then sent them.
        for (const [day, body, event] of [[1, 'first, "quoted"\nline', ''], [2, 'second \\ backslash', 'pipeline.check']] as const) {
          await tx.query(
            `INSERT INTO logs (tenant_id, ts, fingerprint, time_unix_nano, observed_time_unix_nano, severity_number, severity_text,
               service_name, event_name, body, flags, attributes, dropped_attributes_count, resource_attributes, resource_schema_url,
               scope_name, scope_version, scope_attributes, scope_schema_url)
             VALUES (1, $1, gen_random_uuid(), 0, 0, 17, 'ERROR', 'etl', $3, $2, 0, '{"k": 1}', 0, '{}', '', '', '', '{}', '')`,
            [new Date(Date.UTC(2026, 10, day, 12)).toISOString(), body, event],
          );
        }
        await tx.query(
          `INSERT INTO pipeline_runs (tenant_id, run_id, pipeline, state, result, started_at, last_seen_at, attributes)
           VALUES (1, 'run-1', 'orders', 'ended', 'failure', '2026-11-01T10:00:00Z', now(), '{}')`,
        );
      });
    } finally {
      await pglite.close();
    }
    return { dir, key };
  }

  it('is what pipemon serve asks for when it finds a PGlite database', async () => {
    const { dir } = await earlierDataDir();
    expect((await rejection(openDatabase({ dataDir: dir }))).message).toBe(
      `${dir}/pglite holds the database of an earlier pipemon (PGlite), which this one no longer runs: ` +
        `move it into the embedded PostgreSQL server with \`pipemon move-pglite --data-dir ${dir}\` (nothing is lost; the old files are kept)`,
    );
  });

  it('moves every row into the embedded server, keys still valid, and keeps the old files', async () => {
    const { dir, key } = await earlierDataDir();
    const moved = await movePglite(dir);
    expect(moved.rows).toEqual({
      tenants: 1, api_keys: 1, log_streams: 0, pipeline_runs: 1, pipeline_stages: 0, pipeline_days: 1, pipeline_day_durations: 0, pipeline_hours: 1, pipeline_hour_durations: 0, pipeline_checks: 1,
      logs_v1: 2, log_records: 0, spans: 0,
    });
    expect(fs.existsSync(path.join(dir, 'pglite'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'pglite.moving'))).toBe(false);
    // The kept files are as the earlier pipemon wrote them: still its schema, so it could open them again.
    const kept = await PGlite.create(moved.keptAt);
    try {
      expect((await kept.query('SELECT version FROM schema_migrations ORDER BY 1')).rows).toEqual([{ version: 1 }]);
    } finally {
      await kept.close();
    }

    const db = await openDatabase({ dataDir: dir });
    try {
      expect(await createKeyVerifier(db).verify(key)).toMatchObject({ tenantId: 1, tenantName: 'default', scopes: ['ingest', 'read'] });
      const { rows } = await db.query('SELECT body, attributes FROM logs ORDER BY ts');
      expect(rows).toEqual([
        { body: 'first, "quoted"\nline', attributes: { k: 1 } },
        { body: 'second \\ backslash', attributes: { k: 1 } },
      ]);
      expect((await db.query('SELECT run_id, result FROM pipeline_runs')).rows).toEqual([{ run_id: 'run-1', result: 'failure' }]);
      // The tenant ids were copied as they were: the next tenant does not reuse one.
      expect(await createTenant(db, 'next')).toBe(2);
    } finally {
      await db.close();
    }
  });

  it('refuses to fill a server that already holds data, and leaves the PGlite files in place', async () => {
    const { dir } = await earlierDataDir();
    const pgliteDir = path.join(dir, 'pglite');
    fs.renameSync(pgliteDir, `${pgliteDir}.aside`);
    const db = await openDatabase({ dataDir: dir });
    await createTenant(db, 'already-here');
    await db.close();
    fs.renameSync(`${pgliteDir}.aside`, pgliteDir);
    expect((await rejection(movePglite(dir))).message).toMatch(/already holds tenants: move-pglite only fills an empty one/);
    expect(fs.existsSync(path.join(pgliteDir, 'PG_VERSION'))).toBe(true);
  });
});
