/**
 * Fields of COPY ... FROM STDIN (FORMAT csv), https://www.postgresql.org/docs/current/sql-copy.html:
 * an unquoted empty field is NULL, a quoted "" is the empty string, and inside quotes a quote is doubled.
 * Every other character, spaces and backslashes included, is taken literally.
 */

// A backslash is literal in CSV, but a line holding only `\.` is the end-of-data marker unless quoted:
// quoting any backslash is the cheap way to be sure. One precompiled test per field: the common field
// (a name, an id, a number) needs no quoting and is returned as is.
const NEEDS_QUOTES = /[",\r\n\\]/;
const QUOTE = /"/g;

/** `value` as one CSV field: null as an empty field (NULL), '' as `""`, quoted when needed. */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  if (value === '') return '""';
  return NEEDS_QUOTES.test(value) ? `"${value.replace(QUOTE, '""')}"` : value;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const TABLE = /^(?:[a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/;

/**
 * `table (col, ...)` for a COPY statement. Names are checked rather than quoted: they come from code, and
 * a name that needed quoting would be a bug to surface, not a string to splice into SQL.
 */
export function copyTarget(table: string, columns: readonly string[]): string {
  if (!TABLE.test(table)) throw new Error(`COPY into an unexpected table name: ${JSON.stringify(table)}`);
  for (const column of columns) {
    if (!IDENTIFIER.test(column)) throw new Error(`COPY with an unexpected column name: ${JSON.stringify(column)}`);
  }
  return `${table} (${columns.join(', ')})`;
}
