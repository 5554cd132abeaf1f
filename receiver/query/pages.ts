/**
 * Keyset pagination for every list. A page is `{items, next_cursor}`; `next_cursor` encodes the sort's
 * name and the last row's sort key, so pages stay stable while new records arrive and no page costs an
 * OFFSET scan. Each list's sorts are `Keyset`s: two columns (the sort column and a unique tiebreaker)
 * read in one direction, which an index on those columns serves either way.
 */

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export class CursorError extends Error {
  override readonly name = 'CursorError';
}

/** One column of a sort key: its SQL, the cast its cursor value takes, and what a valid value looks like. */
export interface KeyColumn {
  sql: string;
  cast: string;
  valid: (value: string) => boolean;
}

export interface Keyset<R> {
  /** Written into cursors, so that a cursor of one sort is refused by another. */
  name: string;
  columns: readonly [KeyColumn, KeyColumn];
  descending: boolean;
  /** The row's sort key as the cursor stores it (strings, so that no precision is lost on the way). */
  key(row: R): [string, string];
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A timestamptz column: cursors hold it as JavaScript's ISO form, checked here so a tampered one is a 400, not a SQL error. */
export const timeColumn = (sql: string): KeyColumn => ({
  sql,
  cast: 'timestamptz',
  valid: (value) => ISO_TIME.test(value) && !Number.isNaN(Date.parse(value)),
});

export const textColumn = (sql: string, pattern = /^[^\u0000]*$/): KeyColumn => ({ sql, cast: 'text', valid: (value) => pattern.test(value) });

/** A float8 column: String(number) round-trips a double exactly, and PostgreSQL parses it back to the same one. */
export const numberColumn = (sql: string): KeyColumn => ({
  sql,
  cast: 'float8',
  valid: (value) => /^-?\d+(\.\d+)?(e[+-]?\d+)?$/.test(value) && Number.isFinite(Number(value)),
});

function encodeCursor(name: string, key: [string, string]): string {
  return Buffer.from(JSON.stringify([name, ...key])).toString('base64url');
}

function decodeCursor<R>(cursor: string, keyset: Keyset<R>): [string, string] {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(key) &&
      key.length === 3 &&
      key[0] === keyset.name &&
      key.every((part) => typeof part === 'string') &&
      keyset.columns.every((column, i) => column.valid(key[i + 1]))
    ) {
      return [key[1], key[2]];
    }
  } catch {
    // fall through to the error below
  }
  throw new CursorError('invalid cursor: pass the next_cursor of a previous page unchanged, with the same sort');
}

/** WHERE clauses and their parameters, numbered as they are added. */
export class Conditions {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  /** Adds `clause($n)` with `value` as $n; nothing when the value is undefined (the filter was not given). */
  add(clause: (placeholder: string) => string, value: unknown): void {
    if (value === undefined) return;
    this.params.push(value);
    this.clauses.push(clause(`$${this.params.length}`));
  }

  /**
   * Rows after the cursor's key, in the keyset's direction. Returns the cursor's first column as SQL
   * (its parameter, cast), for a caller to bound an index by something computed from it; undefined
   * without a cursor.
   */
  after<R>(cursor: string | undefined, keyset: Keyset<R>): string | undefined {
    if (cursor === undefined) return undefined;
    const [a, b] = decodeCursor(cursor, keyset);
    this.params.push(a, b);
    const n = this.params.length;
    const [first, second] = keyset.columns;
    const [strict, loose] = keyset.descending ? ['<', '<='] : ['>', '>='];
    const from = `$${n - 1}::${first.cast}`;
    // The lone bound on the first column is redundant but indexable: a row comparison over an
    // expression (fingerprint::text) is not, and without it each page would rescan the pages before it.
    this.clauses.push(`${first.sql} ${loose} ${from}`, `(${first.sql}, ${second.sql}) ${strict} (${from}, $${n}::${second.cast})`);
    return from;
  }

  get where(): string {
    return this.clauses.join(' AND ');
  }
}

export function orderBy<R>(keyset: Keyset<R>): string {
  const direction = keyset.descending ? 'DESC' : 'ASC';
  return keyset.columns.map((column) => `${column.sql} ${direction}`).join(', ');
}

/** The page of `limit` rows out of `rows` (fetched with one row more, to know whether another page follows). */
export function pageOf<R, T>(rows: R[], limit: number, keyset: Keyset<R>, shape: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items: items.map(shape), next_cursor: more ? encodeCursor(keyset.name, keyset.key(items[items.length - 1]!)) : null };
}
