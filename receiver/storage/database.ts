/**
 * The seam between pipemon and its PostgreSQL server (pg.ts). Everything above it (migrations, the
 * writer, the query API) sees only this.
 */

export interface QueryResult<R> {
  rows: R[];
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Transaction extends Queryable {
  /** COPY ... FROM STDIN (FORMAT csv) of `csv` into `table (columns)`. */
  copyCsv(table: string, columns: readonly string[], csv: string): Promise<void>;
}

export interface Database extends Queryable {
  /**
   * Reads on connections of their own (the query API, metrics scrapes), which the server cancels past a
   * time limit (SQLSTATE 57014): however many or slow, they never hold a connection the writer needs.
   */
  readonly reads: Queryable;
  /** Runs `fn` in BEGIN ... COMMIT on one connection; ROLLBACK and rethrow when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Human-readable location for messages: the embedded server's data directory or host:port/database. */
  readonly description: string;
  /** The read-only role's connection string (Grafana, psql), when pipemon runs the server itself. */
  readonly readonlyUrl?: string;
  /** Write transactions worth running at once: overlapping two hides Node's share of the work. */
  readonly writeConcurrency: number;
}
