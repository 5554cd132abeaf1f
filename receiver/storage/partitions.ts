/**
 * Daily range partitions of log_records and spans on `ts` (UTC days), and of metric_points on
 * time_unix_nano (the same days in nanoseconds), named `<table>_pYYYYMMDD`: created
 * on demand by the writer, dropped whole by retention, as are those of logs_v1 (the log records written
 * before migration 4, named logs_pYYYYMMDD) and the log and metric streams of the days dropped. A partition the
 * writer fills is analyzed as it grows (committed()), before autovacuum may come round to it.
 */
import { describeDatabaseError } from '../model/database-errors.js';
import type { Database, Queryable } from './database.js';
import { ADVISORY_LOCKS } from './migrate.js';
import { deleteRunsBefore } from './retention.js';

/** logs_v1 is written only by move-pglite, which moves an earlier pipemon's records as they were. */
export type PartitionedTable = 'log_records' | 'logs_v1' | 'spans' | 'metric_points';
const RETAINED: readonly PartitionedTable[] = ['log_records', 'logs_v1', 'spans', 'metric_points'];

export interface PartitionManager {
  /**
   * Makes sure a partition exists for each UTC day (any time within the day will do), inside the
   * caller's transaction so the rows that need it can follow. Days already known cost no SQL.
   */
  ensure(tx: Queryable, table: PartitionedTable, dayStartsMs: Iterable<number>): Promise<void>;
  /**
   * Counts `records` committed into the partitions of these days (each counts them all: a batch's days
   * are not told apart) and ANALYZEs each one whose count this process has just taken past one of
   * ANALYZE_AT. Call it after COMMIT without awaiting it, so that no request waits for statistics; the
   * promise resolves when those ANALYZEs are done, and never rejects: a failure is logged.
   */
  committed(db: Queryable, table: PartitionedTable, dayStartsMs: Iterable<number>, records: number): Promise<void>;
  /**
   * Drops the partitions whose whole day ended more than retentionDays before nowMs, with the log streams
   * of those days, deletes the pipeline runs and stages that started before that cutoff, and returns the
   * dropped partition names.
   */
  dropOlderThan(db: Database, retentionDays: number, nowMs?: number): Promise<string[]>;
}

const DAY_MS = 86_400_000;
// Years 0000-9999: the partition name and the timestamp literal both assume four-digit years.
const LAST_DAY_MS = Date.UTC(9999, 11, 31);
const PARTITION_NAME = /^(log_records|logs|spans|metric_points)_p(\d{4})(\d{2})(\d{2})$/;
/**
 * Until something analyzes it, the planner knows nothing of a new day's partition, and autovacuum comes
 * round when it can (under a bulk load, minutes late). The records' count when a partition's statistics
 * are refreshed: each tenfold, then autovacuum's own rule (a tenth of the rows changed) keeps up.
 */
export const ANALYZE_AT = [1_000, 10_000, 100_000, 1_000_000] as const;

const isoDay = (dayMs: number) => new Date(dayMs).toISOString();
// logs_v1 is the table logs renamed: its partitions kept their names.
const partitionName = (table: PartitionedTable, dayMs: number) =>
  `${table === 'logs_v1' ? 'logs' : table}_p${isoDay(dayMs).slice(0, 10).replaceAll('-', '')}`;

/** A day's partition bounds in its table's partition key: a timestamptz, or metric_points' nanoseconds. */
function bounds(table: PartitionedTable, day: number): string {
  if (table === 'metric_points') return `FROM (${BigInt(day) * 1_000_000n}) TO (${BigInt(day + DAY_MS) * 1_000_000n})`;
  return `FROM ('${isoDay(day)}') TO ('${isoDay(day + DAY_MS)}')`;
}

function dayStart(ms: number): number {
  const day = Math.floor(ms / DAY_MS) * DAY_MS;
  if (!(day >= 0 && day <= LAST_DAY_MS)) {
    throw new RangeError(`no partition for time ${ms}: record times must be validated (years 1970-9999) before writing`);
  }
  return day;
}

function dayOf(name: string): number | undefined {
  const match = PARTITION_NAME.exec(name);
  return match ? Date.UTC(Number(match[2]), Number(match[3]) - 1, Number(match[4])) : undefined;
}

/** ANALYZEs `names` one after another (two would compete for the same disk), logging what fails. */
async function analyze(db: Queryable, names: string[], warn: (message: string) => void): Promise<void> {
  for (const name of names) {
    try {
      await db.query(`ANALYZE ${name}`);
    } catch (error) {
      warn(`pipemon: ANALYZE ${name} failed, its queries are planned without fresh statistics until autovacuum analyzes it: ${describeDatabaseError(error)}`);
    }
  }
}

export function createPartitionManager(warn: (message: string) => void = console.warn): PartitionManager {
  // Partitions known to be committed. Only what an earlier transaction committed gets in: a partition
  // created in a transaction that then rolls back must not be believed to exist.
  const known = new Set<string>();
  // Partitions created by a transaction still open, so that a second ensure() in it skips them.
  const createdIn = new WeakMap<Queryable, Set<string>>();
  // Records this process committed into each partition.
  const filled = new Map<string, number>();

  return {
    async ensure(tx, table, dayStartsMs) {
      let missing: Map<string, number> | undefined;
      const created = createdIn.get(tx);
      for (const ms of dayStartsMs) {
        const day = dayStart(ms);
        const name = partitionName(table, day);
        if (!known.has(name) && !created?.has(name)) (missing ??= new Map()).set(name, day);
      }
      if (!missing) return;

      // Committed by an earlier transaction (this receiver's or another's): remember, nothing to create.
      const { rows } = await tx.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = $1::regclass AND c.relname = ANY($2::text[])`,
        [table, [...missing.keys()]],
      );
      for (const { name } of rows) {
        known.add(name);
        missing.delete(name);
      }
      if (missing.size === 0) return;

      // Two sessions running CREATE TABLE IF NOT EXISTS for one name at once can both miss it and the
      // second then fails on a catalog unique index; the lock makes the second wait and skip instead.
      // One multi-statement call: one round trip, and one implicit transaction even outside the caller's.
      const statements = [`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.partitions})`];
      for (const [name, day] of missing) {
        statements.push(
          `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${table} FOR VALUES ${bounds(table, day)}`,
        );
      }
      await tx.query(statements.join(';\n'));
      const mine = created ?? new Set<string>();
      for (const name of missing.keys()) mine.add(name);
      createdIn.set(tx, mine);
    },

    committed(db, table, dayStartsMs, records) {
      const due: string[] = [];
      for (const day of new Set(Array.from(dayStartsMs, dayStart))) {
        const name = partitionName(table, day);
        const before = filled.get(name) ?? 0;
        filled.set(name, before + records);
        if (ANALYZE_AT.some((at) => before < at && before + records >= at)) due.push(name);
      }
      return analyze(db, due, warn);
    },

    async dropOlderThan(db, retentionDays, nowMs = Date.now()) {
      if (!(retentionDays > 0)) throw new RangeError(`retention must be a positive number of days, got ${retentionDays}`);
      const cutoffMs = nowMs - retentionDays * DAY_MS;
      const dropped = await db.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.partitions})`);
        const { rows } = await tx.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = ANY($1::regclass[])`,
          [RETAINED],
        );
        // Only partitions named as ensure() names them: anything else was made by hand and is left alone.
        const old = rows
          .map((row) => row.name)
          .filter((name) => {
            const day = dayOf(name);
            return day !== undefined && day + DAY_MS <= cutoffMs;
          })
          .sort();
        if (old.length > 0) await tx.query(old.map((name) => `DROP TABLE IF EXISTS ${name}`).join(';\n'));
        // The last day dropped, whether or not it had a partition: its streams go with it.
        const lastDay = isoDay(Math.floor(cutoffMs / DAY_MS) * DAY_MS - DAY_MS).slice(0, 10);
        await tx.query('DELETE FROM log_streams WHERE day <= $1::date', [lastDay]);
        await tx.query('DELETE FROM metric_streams WHERE day <= $1::date', [lastDay]);
        return old;
      });
      for (const name of dropped) {
        known.delete(name);
        filled.delete(name);
      }
      // Outside the partition transaction: dropping holds an exclusive lock on logs and spans, which
      // should not wait for these deletes.
      const cutoff = new Date(cutoffMs).toISOString();
      await deleteRunsBefore(db, cutoff, null);
      return dropped;
    },
  };
}
