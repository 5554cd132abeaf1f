/**
 * The embedded database: PostgreSQL compiled to WebAssembly (PGlite), in this process, one connection.
 *
 * Layout of a data directory: `pglite/` holds PostgreSQL's own files, `pipemon.lock` names the process
 * using it (PGlite takes no lock of its own, and two processes writing one directory corrupt it), and
 * keys.ts writes `default-api-key` beside them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import { copyTarget } from './csv.js';
import type { Database, QueryResult, Transaction } from './database.js';

const POSTGRES_DIR = 'pglite';
const LOCK_FILE = 'pipemon.lock';
// One connection: a second writer would only wait for the first.
const WRITE_CONCURRENCY = 1;
const REMEMBERED_LOG_LINES = 20;

// Shapes as the server backend returns them (node-postgres): int8 as exact text, bytea as a Buffer,
// date as text. PGlite's own parsers give int8 as number or bigint, bytea as Uint8Array, date as Date.
const PARSERS = {
  20: (value: string) => value,
  17: (value: string) => Buffer.from(value.slice(2), 'hex'),
  1082: (value: string) => value,
};

type Queryable = Pick<PGliteTransaction, 'query' | 'exec'>;

async function run<R>(target: Queryable, sql: string, params: readonly unknown[] | undefined): Promise<QueryResult<R>> {
  if (params && params.length > 0) return { rows: (await target.query<R>(sql, params as unknown[])).rows };
  // Without parameters, use the simple protocol as node-postgres does, so that one call may hold
  // several statements (migrations do); the rows are the last statement's.
  const results = await target.exec(sql);
  return { rows: (results[results.length - 1]?.rows ?? []) as R[] };
}

function wrap(pglite: PGlite, description: string, release: () => void): Database {
  let closing: Promise<void> | undefined;
  return {
    description,
    writeConcurrency: WRITE_CONCURRENCY,
    query: (sql, params) => run(pglite, sql, params),
    // PGlite queues transactions and top-level queries behind one mutex, so a transaction never sees
    // another's statements. The price: code inside fn must use tx; a call on the database itself waits
    // for this transaction to end, which never comes.
    transaction: (fn) =>
      pglite.transaction((tx) =>
        fn({
          query: (sql, params) => run(tx, sql, params),
          async copyCsv(table, columns, csv) {
            await tx.query(`COPY ${copyTarget(table, columns)} FROM '/dev/blob' (FORMAT csv)`, [], { blob: new Blob([csv]) });
          },
        } satisfies Transaction),
      ),
    close() {
      closing ??= pglite.close().finally(release);
      return closing;
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Directories this process holds: a lock file naming our own pid is ours only if listed here; otherwise
// it is left from an earlier process that had the same pid (a restarted container often does).
const held = new Set<string>();

/** Takes `<root>/pipemon.lock` or throws naming the process that has it; returns the release. */
function lock(root: string): () => void {
  const file = path.join(root, LOCK_FILE);
  // Two attempts: the second follows the removal of a stale lock. Two processes removing the same stale
  // lock at the same instant could both proceed; that needs a crash and two starts at once.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      held.add(root);
      return () => {
        held.delete(root);
        fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(pid) && isRunning(pid) && (pid !== process.pid || held.has(root))) {
      throw new Error(
        `the embedded database in ${root} is in use by process ${pid}: stop that pipemon first, or give this one ` +
          `another --data-dir (or a DATABASE_URL). If no pipemon is running, delete ${file}`,
      );
    }
    fs.rmSync(file, { force: true });
  }
  throw new Error(`could not take ${file}: another pipemon is starting on ${root}; start one at a time`);
}

// In-memory databases (tests) start from a copy of one initialised data directory: loading it takes
// about 0.5 s where initdb takes about 3 s, and test suites open dozens.
let template: Promise<Blob> | undefined;

async function initialisedTemplate(): Promise<Blob> {
  const pglite = await PGlite.create();
  try {
    return await pglite.dumpDataDir('none');
  } finally {
    await pglite.close();
  }
}

async function openInMemory(): Promise<Database> {
  template ??= initialisedTemplate().catch((err: unknown) => {
    template = undefined;
    throw err;
  });
  const pglite = await PGlite.create({ loadDataDir: await template, parsers: PARSERS });
  return wrap(pglite, 'memory (not persisted)', () => undefined);
}

/**
 * Opens (creating when new) the embedded database in `dataDir`, or an in-memory one when undefined.
 * Throws an Error naming the directory and what to do when it is in use or cannot be read.
 */
export async function openEmbeddedDatabase(dataDir: string | undefined): Promise<Database> {
  if (dataDir === undefined) return openInMemory();
  const root = path.resolve(dataDir);
  try {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create the data directory ${root} (${(err as Error).message}): choose a writable --data-dir`, {
      cause: err,
    });
  }
  const release = lock(root);
  const postgresDir = path.join(root, POSTGRES_DIR);
  // PGlite's own error on a bad directory is only "failed to initialize"; the reason is in the server's
  // log lines (stderr), so keep the last few.
  const log: string[] = [];
  const remember = (text: string) => {
    if (text.trim()) log.push(text.trim());
    if (log.length > REMEMBERED_LOG_LINES) log.shift();
    return true;
  };
  try {
    const pglite = await PGlite.create(postgresDir, { parsers: PARSERS, onStderr: remember });
    return wrap(pglite, root, release);
  } catch (err) {
    release();
    const fatal = log.filter((line) => /\b(FATAL|PANIC|DETAIL):/.test(line)).map((line) => line.replace(/^.*?\b(FATAL|PANIC|DETAIL):\s*/, ''));
    const why = fatal.length > 0 ? fatal.join(' ') : (log[log.length - 1] ?? (err as Error).message);
    throw new Error(
      `the embedded database in ${postgresDir} cannot be opened (${why}). It may have been written by another PGlite or ` +
        `PostgreSQL version, or be damaged: start pipemon with another --data-dir, or move ${postgresDir} away ` +
        `(keep it if its data matters)`,
      { cause: err },
    );
  }
}
