/**
 * The one way the rest of pipemon gets a database: a PostgreSQL server when a URL is given, else the
 * embedded database, migrated to the current schema either way.
 */
import type { Database } from './database.js';
import { describeDatabaseError } from './errors.js';
import { migrate } from './migrate.js';
import { openServerDatabase } from './pg.js';
import { openEmbeddedDatabase } from './pglite.js';

export interface OpenOptions {
  /** A PostgreSQL server (postgres://user:password@host:port/database); empty counts as unset. */
  databaseUrl?: string;
  /** The embedded database's directory when there is no databaseUrl; undefined keeps it in memory. */
  dataDir?: string;
}

/** Opens and migrates; throws an Error saying what to fix when either fails, leaving nothing open. */
export async function openDatabase(options: OpenOptions = {}): Promise<Database> {
  const db = options.databaseUrl ? await openServerDatabase(options.databaseUrl) : await openEmbeddedDatabase(options.dataDir);
  try {
    await migrate(db);
    return db;
  } catch (err) {
    await db.close().catch(() => undefined);
    throw new Error(`cannot bring the schema of ${db.description} up to date: ${describeDatabaseError(err)}`, { cause: err });
  }
}
