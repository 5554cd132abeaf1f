/**
 * Applies the pending MIGRATIONS at start, in one transaction: either all of them or none.
 */
import type { Database } from './database.js';
import { MIGRATIONS } from './migrations.js';

/**
 * pipemon's advisory lock keys (pg_advisory_xact_lock takes one bigint), one per section that two
 * receivers sharing a database must not run at once. "pm" in the high bytes keeps them apart from
 * other applications' keys on a shared server.
 */
export const ADVISORY_LOCKS = {
  migrate: 0x706d_0000_0001n,
  partitions: 0x706d_0000_0002n,
  defaultKey: 0x706d_0000_0003n,
} as const;

/**
 * Brings the schema up to date. Two receivers starting together both call this: the second waits on
 * the advisory lock, then finds everything applied. Throws when the database was migrated by a newer
 * pipemon, whose schema this one does not know.
 */
export async function migrate(db: Database): Promise<{ applied: number[] }> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.migrate})`);
    // Inside the lock: two concurrent CREATE TABLE IF NOT EXISTS can both miss the table and collide.
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((row) => row.version));
    const newest = Math.max(0, ...done);
    const known = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
    if (newest > known) {
      throw new Error(
        `the database ${db.description} has schema version ${newest}, newer than this pipemon knows (${known}): upgrade pipemon`,
      );
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await tx.query(migration.sql);
      await migration.backfill?.(tx);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      applied.push(migration.version);
    }
    return { applied };
  });
}
