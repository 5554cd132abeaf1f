/** Watching what storage code asks of its database, and the schema versions it migrates through. */
import type { Queryable } from '../../receiver/storage/database.js';
import { MIGRATIONS } from '../../receiver/storage/migrations.js';

/** The version of every migration pipemon ships, in the order they apply. */
export const MIGRATION_VERSIONS = MIGRATIONS.map((migration) => migration.version);

/** A Queryable that records the SQL it passes on. */
export function recording(target: Queryable): Queryable & { sql: string[] } {
  const sql: string[] = [];
  return {
    sql,
    query: (text, params) => {
      sql.push(text);
      return target.query(text, params);
    },
  };
}
