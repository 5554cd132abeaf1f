/** Watching what storage code asks of its database. */
import type { Queryable } from '../../receiver/storage/database.js';

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
