/**
 * `pipemon move-pglite`: moves the database an earlier pipemon kept in `<dataDir>/pglite` (PGlite,
 * PostgreSQL compiled to WebAssembly) into the embedded PostgreSQL server of the same directory.
 *
 * A copy of the old database is first brought to the current schema, so both sides have the same tables
 * and columns (the old files stay as the old pipemon wrote them); every table is then copied (logs and spans one daily partition at a time, so memory holds
 * one day) in one transaction on the server, and the row counts compared before COMMIT. The old
 * files are kept, renamed, for the user to delete.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Database, Transaction } from './database.js';
import { startEmbeddedServer } from './embedded-server.js';
import { migrate } from './migrate.js';
import { PGLITE_DIR } from './open.js';
import { createPartitionManager, type PartitionedTable } from './partitions.js';
import { openServerDatabase } from './pg.js';

/** Tables in an order that satisfies their foreign keys. */
const TABLES = ['tenants', 'api_keys', 'log_streams', 'pipeline_runs', 'pipeline_stages', 'pipeline_days', 'pipeline_day_durations', 'pipeline_hours', 'pipeline_hour_durations', 'pipeline_checks'] as const;
const PARTITIONED: readonly PartitionedTable[] = ['logs_v1', 'log_records', 'spans'];

export interface MoveResult {
  /** Rows copied per table. */
  rows: Record<string, number>;
  /** Where the old PGlite files now are. */
  keptAt: string;
}

/** Just enough of the Database seam over PGlite for migrate(): it brings the old schema up to date. */
export function pgliteDatabase(pglite: PGlite, description: string): Database {
  const run = async (target: Pick<PGlite, 'query' | 'exec'>, sql: string, params?: readonly unknown[]) =>
    params && params.length > 0
      ? { rows: (await target.query(sql, params as unknown[])).rows }
      : { rows: (await target.exec(sql)).at(-1)?.rows ?? [] };
  const query: Database['query'] = (sql, params) => run(pglite, sql, params) as never;
  return {
    description,
    writeConcurrency: 1,
    query,
    reads: { query },
    transaction: (fn) =>
      pglite.transaction((tx) =>
        fn({
          query: (sql, params) => run(tx, sql, params) as never,
          copyCsv: () => Promise.reject(new Error('not used on the PGlite side')),
        }),
      ),
    close: () => pglite.close(),
  };
}

async function columnsOf(pglite: PGlite, table: string): Promise<string[]> {
  const { rows } = await pglite.query<{ name: string }>(
    'SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [table],
  );
  return rows.map((row) => row.name);
}

async function copyTable(pglite: PGlite, tx: Transaction, source: string, target: string, columns: string[]): Promise<number> {
  const list = columns.join(', ');
  const { blob } = await pglite.query(`COPY ${source} (${list}) TO '/dev/blob' (FORMAT csv)`);
  const { rows } = await pglite.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${source}`);
  if (blob && rows[0]!.n > 0) await tx.copyCsv(target, columns, await blob.text());
  return rows[0]!.n;
}

async function leafPartitions(pglite: PGlite, table: PartitionedTable): Promise<{ name: string; firstMs: number }[]> {
  const { rows } = await pglite.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`,
    [table],
  );
  const partitions: { name: string; firstMs: number }[] = [];
  for (const { name } of rows) {
    const { rows: first } = await pglite.query<{ ms: number | null }>(`SELECT (extract(epoch FROM min(ts)) * 1000)::float8 AS ms FROM ${name}`);
    if (first[0]?.ms != null) partitions.push({ name, firstMs: first[0].ms });
  }
  return partitions;
}

/** Moves `<dataDir>/pglite` into the embedded server of `dataDir`; throws saying why when it cannot. */
export async function movePglite(dataDir: string): Promise<MoveResult> {
  const root = path.resolve(dataDir);
  const source = path.join(root, PGLITE_DIR);
  const working = `${source}.moving`;
  if (!fs.existsSync(source)) throw new Error(`there is no PGlite database to move in ${source}`);
  // The server first: it takes the data directory's lock, so no other pipemon uses either database meanwhile.
  const server = await startEmbeddedServer({ dataDir: root });
  let target: Database | undefined;
  let pglite: PGlite | undefined;
  try {
    target = await openServerDatabase(server.url);
    await migrate(target);
    const { PGlite } = await import('@electric-sql/pglite');
    // The schema is brought up to date on a copy: the kept files stay readable by the pipemon that wrote them.
    fs.rmSync(working, { recursive: true, force: true });
    fs.cpSync(source, working, { recursive: true });
    pglite = await PGlite.create(working);
    await migrate(pgliteDatabase(pglite, working));
    const from = pglite;

    const rows: Record<string, number> = {};
    await target.transaction(async (tx) => {
      const { rows: existing } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants');
      if (existing[0]!.n > 0) {
        throw new Error(`the embedded server in ${root} already holds tenants: move-pglite only fills an empty one`);
      }
      const partitions = createPartitionManager();
      for (const table of TABLES) rows[table] = await copyTable(from, tx, table, table, await columnsOf(from, table));
      for (const table of PARTITIONED) {
        const columns = await columnsOf(from, table);
        rows[table] = 0;
        for (const { name, firstMs } of await leafPartitions(from, table)) {
          await partitions.ensure(tx, table, [firstMs]);
          rows[table] += await copyTable(from, tx, name, table, columns);
        }
      }
      // COPY wrote the tenants' ids as they were: the next tenant created must not reuse one.
      await tx.query(`SELECT setval(pg_get_serial_sequence('tenants', 'tenant_id'), max(tenant_id)) FROM tenants HAVING count(*) > 0`);
      for (const [table, count] of Object.entries(rows)) {
        const { rows: copied } = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
        if (copied[0]!.n !== count) throw new Error(`${table}: ${count} rows read from PGlite but ${copied[0]!.n} on the server; nothing was moved`);
      }
    });
    await pglite.close();
    pglite = undefined;
    const keptAt = `${source}.moved-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '')}`;
    fs.renameSync(source, keptAt);
    return { rows, keptAt };
  } finally {
    await pglite?.close().catch(() => undefined);
    fs.rmSync(working, { recursive: true, force: true });
    await target?.close().catch(() => undefined);
    await server.stop();
  }
}
