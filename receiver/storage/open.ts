/**
 * The one way the rest of pipemon gets a database: a PostgreSQL server, either the user's own (a URL)
 * or the embedded one pipemon runs in the data directory, migrated to the current schema either way.
 * Both go through the same code (pg.ts): the embedded server is only a server pipemon started.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from './database.js';
import { startEmbeddedServer, type EmbeddedServerOptions } from './embedded-server.js';
import { describeDatabaseError } from '../model/database-errors.js';
import { migrate } from './migrate.js';
import { openServerDatabase } from './pg.js';

export interface OpenOptions {
  /** A PostgreSQL server (postgres://user:password@host:port/database); empty counts as unset. */
  databaseUrl?: string;
  /** The embedded server's data directory, used when there is no databaseUrl. */
  dataDir?: string;
  /** When another pipemon runs the embedded server of dataDir: connect to it, or refuse (the default). */
  whenInUse?: EmbeddedServerOptions['whenInUse'];
  /** PostgreSQL's statement_timeout for reads (Database.reads), in milliseconds. */
  readTimeoutMs?: number;
}

/** Where an earlier pipemon kept its database (PGlite); move-pglite.ts moves it into the server. */
export const PGLITE_DIR = 'pglite';

/** Opens and migrates; throws an Error saying what to fix when either fails, leaving nothing open. */
export async function openDatabase(options: OpenOptions = {}): Promise<Database> {
  const db = options.databaseUrl ? await openServerDatabase(options.databaseUrl, options) : await openEmbedded(options);
  try {
    await migrate(db);
    return db;
  } catch (err) {
    await db.close().catch(() => undefined);
    throw new Error(`cannot bring the schema of ${db.description} up to date: ${describeDatabaseError(err)}`, { cause: err });
  }
}

async function openEmbedded(options: OpenOptions): Promise<Database> {
  if (!options.dataDir) throw new Error('no database: set DATABASE_URL, or give a --data-dir for the embedded server');
  const root = path.resolve(options.dataDir);
  const pglite = path.join(root, PGLITE_DIR);
  if (fs.existsSync(pglite)) {
    throw new Error(
      `${pglite} holds the database of an earlier pipemon (PGlite), which this one no longer runs: ` +
        `move it into the embedded PostgreSQL server with \`pipemon move-pglite --data-dir ${options.dataDir}\` (nothing is lost; the old files are kept)`,
    );
  }
  const server = await startEmbeddedServer({ dataDir: root, whenInUse: options.whenInUse });
  let db: Database;
  try {
    db = await openServerDatabase(server.url, options);
  } catch (err) {
    await server.stop();
    throw new Error(`cannot connect to the ${server.description}: ${(err as Error).message}`, { cause: err });
  }
  return {
    ...db,
    description: server.description,
    readonlyUrl: server.readonlyUrl,
    close: () => db.close().finally(() => server.stop()),
  };
}
