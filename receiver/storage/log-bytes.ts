/**
 * Bytes on disk per stored log record, heap, indexes and TOAST apart: what migration 4's layout is
 * judged by, measured by the storage tests, bench:ingest and bench:query alike. measureTableBytes() is
 * the measure itself, for any tables per row of one of them (point-bytes.ts measures metrics with it).
 */
import type { Queryable } from './database.js';

/**
 * The physical tables of each layout: `current` is what the receiver writes (the streams are shared by
 * the records, so they are counted in, spread over them); `v1` is the table written before migration 4.
 */
const LAYOUTS = {
  current: { records: 'log_records', tables: ['log_records', 'log_streams'] },
  v1: { records: 'logs_v1', tables: ['logs_v1'] },
} as const;

export type LogLayout = keyof typeof LAYOUTS;

export interface Bytes {
  heap: number;
  indexes: number;
  toast: number;
  total: number;
}

export interface TableBytes {
  /** The rows of the counted table. */
  rows: number;
  /** Totals in bytes, over the tables and all their partitions. */
  bytes: Bytes;
  /** The same divided by the rows, to 0.1 byte; null when there are none. */
  per_row: Bytes | null;
  /** Each index's bytes per row, by the parent index's name (partitions summed). */
  index_per_row: Record<string, number>;
}

export interface LogBytes {
  layout: LogLayout;
  records: number;
  /** Totals in bytes, over the layout's tables and all their partitions. */
  bytes: Bytes;
  /** The same divided by the records; null when there are none. */
  per_record: Bytes | null;
  /** Each index's bytes per record, by the parent index's name (partitions summed). */
  index_per_record: Record<string, number>;
}

/** Bytes per row, to 0.1 byte. */
export const perRow = (bytes: number, rows: number) => Math.round((bytes / rows) * 10) / 10;

export async function measureLogBytes(db: Queryable, layout: LogLayout): Promise<LogBytes> {
  const { records, tables } = LAYOUTS[layout];
  const measured = await measureTableBytes(db, records, tables);
  return { layout, records: measured.rows, bytes: measured.bytes, per_record: measured.per_row, index_per_record: measured.index_per_row };
}

/**
 * Measures `tables` per row of `counted` after a VACUUM, as autovacuum leaves them: it flushes GIN
 * pending lists (whose pages then stay allocated, and are counted) and fills the free space maps. Sizes
 * are of the main fork (pg_relation_size), TOAST with its own index.
 */
export async function measureTableBytes(db: Queryable, counted: string, tables: readonly string[]): Promise<TableBytes> {
  await db.query(`VACUUM ${tables.join(', ')}`);
  // Partitioned tables hold nothing themselves: their leaves do; a plain table is its own leaf.
  const leaves = `WITH leaves AS (
    SELECT p.relid FROM unnest($1::regclass[]) AS t(parent) CROSS JOIN LATERAL pg_partition_tree(t.parent) AS p WHERE p.isleaf
    UNION
    SELECT c.oid FROM pg_class c WHERE c.oid = ANY($1::regclass[]) AND c.relkind = 'r')`;
  const { rows } = await db.query<{ heap: string; indexes: string; toast: string }>(
    `${leaves}
     SELECT coalesce(sum(pg_relation_size(c.oid)), 0)::text AS heap,
            coalesce(sum(pg_indexes_size(c.oid)), 0)::text AS indexes,
            coalesce(sum(CASE WHEN c.reltoastrelid = 0 THEN 0 ELSE pg_total_relation_size(c.reltoastrelid) END), 0)::text AS toast
       FROM leaves JOIN pg_class c ON c.oid = leaves.relid`,
    [tables],
  );
  const { rows: indexRows } = await db.query<{ name: string; bytes: string }>(
    `${leaves}
     SELECT coalesce(pg_partition_root(i.oid)::text, i.relname) AS name, sum(pg_relation_size(i.oid))::text AS bytes
       FROM leaves JOIN pg_index x ON x.indrelid = leaves.relid JOIN pg_class i ON i.oid = x.indexrelid
      GROUP BY 1 ORDER BY 1`,
    [tables],
  );
  const { rows: count } = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${counted}`);
  const n = Number(count[0]!.n);
  const heap = Number(rows[0]!.heap);
  const indexes = Number(rows[0]!.indexes);
  const toast = Number(rows[0]!.toast);
  const bytes = { heap, indexes, toast, total: heap + indexes + toast };
  const per = (x: number) => perRow(x, n);
  return {
    rows: n,
    bytes,
    per_row: n === 0 ? null : { heap: per(heap), indexes: per(indexes), toast: per(toast), total: per(bytes.total) },
    index_per_row: Object.fromEntries(indexRows.map((row) => [row.name, n === 0 ? 0 : per(Number(row.bytes))])),
  };
}
