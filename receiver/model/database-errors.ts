/**
 * Storage errors sorted the way the OpenTelemetry Collector sorts consumer errors: permanent (the data
 * itself is refused, retrying the same request fails again, so the sender gets a 400 and drops it) or
 * transient (503 + Retry-After: the sender keeps the data and retries). Anything not recognised as
 * permanent is transient, as in the Collector: a wrong "retry" costs a resend, a wrong "drop" loses data.
 */

/**
 * SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html) that retrying the
 * same rows cannot fix. The classes that are retryable on their own (08 connection, 40 serialization
 * and deadlock, 53 insufficient resources, 55P03 lock_not_available, 57 operator intervention, 58
 * system error) need no list: they fall under "not permanent".
 */
const PERMANENT_CLASSES = new Set([
  '21', // cardinality violation: e.g. ON CONFLICT DO UPDATE meeting one key twice in a batch
  '22', // data exception: invalid text, out-of-range number, bad JSON, NUL byte
  '23', // integrity constraint violation: not null, check, foreign key, no partition for the row
  '42', // syntax error or access rule violation
  '54', // program limit exceeded: a value too large for an index row
]);

/**
 * insufficient_privilege sits in class 42 but is the operator's grant to fix, not the sender's data:
 * senders should hold their data until it is fixed rather than drop it.
 */
const TRANSIENT_CODES = new Set(['42501']);

/** The SQLSTATE of an error the server sent (pg raises a DatabaseError with a severity). */
function sqlState(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, severity } = err as { code?: unknown; severity?: unknown };
  // Node's system errors also carry 5-letter codes (EPIPE): only server errors have a severity.
  return typeof code === 'string' && typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * True when the operation may succeed later: connection errors (ECONNREFUSED, ECONNRESET, EPIPE,
 * ETIMEDOUT, "Connection terminated", pool and query timeouts), server shutdowns, lack of resources,
 * deadlocks and lock timeouts, and every error not known to be permanent. False for errors caused by the
 * data or the statement (SQLSTATE classes 21, 22, 23, 42, 54). A JavaScript error (a bug) is not
 * permanent either: outcome.ts answers it as an internal error, which the client retries.
 */
export function isTransient(err: unknown): boolean {
  const code = sqlState(err);
  if (code === undefined) return true;
  return TRANSIENT_CODES.has(code) || !PERMANENT_CLASSES.has(code.slice(0, 2));
}

/**
 * True when the server cancelled the statement (SQLSTATE 57014 query_canceled): past its
 * statement_timeout, which is how the read pool's time limit ends a read, or by an operator's
 * pg_cancel_backend. Still transient for the writer, which sets no such limit.
 */
export function isQueryCancelled(err: unknown): boolean {
  return sqlState(err) === '57014';
}

const MAX_DESCRIPTION = 200;

/**
 * One short line for logs and 503 bodies: the server's message and SQLSTATE, or the system error. Leaves
 * out the server's DETAIL, which can quote other requests' rows of the same group-commit batch.
 */
export function describeDatabaseError(err: unknown): string {
  if (err instanceof AggregateError && err.message === '' && err.errors.length > 0) {
    // Node 20 tries every address of "localhost" and reports an AggregateError with no message of its own.
    return describeDatabaseError(err.errors[0]);
  }
  let text: string;
  if (err instanceof Error) {
    const state = sqlState(err);
    const code = (err as { code?: unknown }).code;
    text = err.message || err.name;
    if (state) text += ` (SQLSTATE ${state})`;
    else if (typeof code === 'string' && !text.includes(code)) text += ` (${code})`;
  } else {
    text = String(err);
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text;
}
