/**
 * A PostgreSQL server through node-postgres: a small pool of connections for the writer and one for reads,
 * COPY through pg-copy-streams.
 * The one storage implementation: the user's own server and the embedded one (embedded-server.ts) alike.
 */
import { finished } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { copyTarget } from './csv.js';
import type { Database, Queryable, QueryResult, Transaction } from './database.js';
import { describeDatabaseError } from '../model/database-errors.js';

// Two pools, so that reads, however slow or many, never hold a connection the writer needs. The
// writer's: its two transactions, and beside them key lookups, retention and key or retention changes.
const WRITE_POOL_SIZE = 4;
// Reads (API queries, metrics scrapes): on 2 cores, more than three at once would only share the CPU;
// the rest wait in the pool's queue rather than in the server's.
export const READ_POOL_SIZE = 3;
/** How long PostgreSQL lets a read run before cancelling it (SQLSTATE 57014), unless told otherwise. */
export const DEFAULT_READ_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;
// Client-side: a server that stops answering (network partition, frozen VM) yields an error, not a
// hang. Generous, because a large batch or a retention DELETE legitimately takes seconds.
const QUERY_TIMEOUT_MS = 60_000;
const WRITE_CONCURRENCY = 2;

// date and interval as the server writes them (node-postgres would make a local-midnight Date and an
// interval object); int8 and numeric are exact text already.
const TEXT_TYPES = new Set([1082 /* date */, 1186 /* interval */]);
const identity = (value: string) => value;
const types: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => (TEXT_TYPES.has(oid) ? identity : pg.types.getTypeParser(oid, format)),
};

const UNREACHABLE = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);
const LOGIN_REFUSED = new Set(['28P01', '28000']);

function errorCode(err: unknown): string | undefined {
  if (err instanceof AggregateError) return errorCode(err.errors[0]);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Why opening failed, with what to do about it: this is what an operator sees at start. */
function openFailure(server: string, database: string, err: unknown): string {
  const code = errorCode(err);
  const why = describeDatabaseError(err);
  if ((code && UNREACHABLE.has(code)) || /timeout/i.test(why)) {
    return `DATABASE_URL unreachable at ${server} (${code ?? why}): start PostgreSQL or unset DATABASE_URL to use the embedded server`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `DATABASE_URL host not found (${server}, ${code}): check the host name in DATABASE_URL`;
  }
  if (code && LOGIN_REFUSED.has(code)) {
    return `PostgreSQL at ${server} refused the login (${why}): check the user and password in DATABASE_URL`;
  }
  if (code === '3D000') {
    return `no database "${database}" at ${server}: create it (createdb ${database}) or fix the database name in DATABASE_URL`;
  }
  return `cannot use PostgreSQL at ${server}/${database} (${why}): check DATABASE_URL, or unset it to use the embedded server`;
}

function rowsOf<R>(result: pg.QueryResult | pg.QueryResult[]): QueryResult<R> {
  // A parameterless query may hold several statements (migrations do): answer with the last one's rows.
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  return { rows: (last?.rows ?? []) as R[] };
}

function transactionOn(client: pg.PoolClient): Transaction {
  return {
    async query<R>(sql: string, params?: readonly unknown[]) {
      return rowsOf<R>(await client.query(sql, params as unknown[] | undefined));
    },
    async copyCsv(table, columns, csv) {
      const stream = client.query(copyStreams.from(`COPY ${copyTarget(table, columns)} FROM STDIN (FORMAT csv)`));
      stream.end(csv);
      // 'finish' comes after the server's CommandComplete, so a refused row rejects here.
      await finished(stream);
    },
  };
}

export interface ServerDatabaseOptions {
  /** PostgreSQL's statement_timeout on the read pool's connections, in milliseconds. */
  readTimeoutMs?: number;
}

function where(url: string): { server: string; database: string } {
  try {
    const parsed = new pg.Client({ connectionString: url });
    return { server: `${parsed.host}:${parsed.port}`, database: parsed.database ?? '' };
  } catch (err) {
    throw new Error(
      `DATABASE_URL is not a PostgreSQL connection string (${describeDatabaseError(err)}): use postgres://user:password@host:5432/database`,
    );
  }
}

/** A pool of at most `max` connections to `url`, each started with the server `settings` given. */
function openPool(url: string, description: string, max: number, settings: string[]): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'pipemon',
    // No JIT: it compiles a query's expressions when its estimated cost is high, which a plan over many
    // daily partitions always is, and pipemon's queries are short: measured on PostgreSQL 15, a runs list
    // taking 0.2 ms spent 2 s compiling (bench:query). Servers built without JIT accept the setting too.
    options: ['jit=off', ...settings].map((setting) => `-c ${setting}`).join(' '),
    types,
  });
  // An idle connection that dies (server restart, failover) emits 'error' on the pool; unheard, that
  // would crash the process. The pool drops the connection and opens a new one on the next checkout.
  pool.on('error', (err) => {
    console.warn(`pipemon: an idle connection to ${description} failed: ${describeDatabaseError(err)}`);
  });
  return pool;
}

const queryOn = (pool: pg.Pool): Queryable['query'] =>
  async <R>(sql: string, params?: readonly unknown[]) => rowsOf<R>(await pool.query(sql, params as unknown[] | undefined));

/**
 * Opens the writer's pool and the read pool on `url` and checks that the server answers; throws an Error
 * that says what to fix when not. Reads are cancelled by the server after `readTimeoutMs`.
 */
export async function openServerDatabase(url: string, { readTimeoutMs = DEFAULT_READ_TIMEOUT_MS }: ServerDatabaseOptions = {}): Promise<Database> {
  const { server, database } = where(url);
  const description = `${server}/${database}`;
  const pool = openPool(url, description, WRITE_POOL_SIZE, []);
  // Opened lazily, like every pg pool: a command that never reads (keys, flush) never connects it.
  const readPool = openPool(url, description, READ_POOL_SIZE, [`statement_timeout=${readTimeoutMs}`]);
  const closeBoth = () => Promise.all([pool.end(), readPool.end()]).then(() => undefined);

  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await closeBoth().catch(() => undefined);
    throw new Error(openFailure(server, database, err), { cause: err });
  }

  let closing: Promise<void> | undefined;
  return {
    description,
    writeConcurrency: WRITE_CONCURRENCY,
    query: queryOn(pool),
    reads: { query: queryOn(readPool) },
    async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // A connection that fails while checked out emits 'error' on the client, which the pool only
      // listens to while the client is idle. Heard here, it also marks the client as not reusable.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      let settled = false;
      try {
        await client.query('BEGIN');
        const result = await fn(transactionOn(client));
        settled = true;
        const commit = await client.query('COMMIT');
        // COMMIT of a transaction in which a statement failed (and fn swallowed the error) rolls back
        // and answers ROLLBACK without an error: success must not be reported for it.
        if (commit.command === 'ROLLBACK') {
          throw new Error('the transaction was rolled back: a statement in it failed and its error was caught');
        }
        return result;
      } catch (err) {
        // After a query timeout the connection still waits for that query's answer: a ROLLBACK would
        // queue behind it, so the connection is discarded instead (the server rolls back when it closes).
        if (err instanceof Error && err.message === 'Query read timeout') broken ??= err;
        if (!settled && !broken) {
          await client.query('ROLLBACK').catch((rollbackError: Error) => {
            broken = rollbackError;
          });
        }
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    close() {
      closing ??= closeBoth();
      return closing;
    },
  };
}
