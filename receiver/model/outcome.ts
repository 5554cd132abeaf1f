/**
 * Every way a request can fail, and the one mapping from each to an HTTP status and a gRPC status. The
 * status decides whether a client keeps or drops its data (the OTLP specification's exporter rules): OTLP clients retry
 * only 429, 502, 503 and 504 over HTTP, and UNAVAILABLE (among a few) over gRPC, so anything that may
 * succeed later is answered as `unavailable`, never as a bad request.
 */
import { DecodeError } from './records.js';
import { describeDatabaseError, isTransient } from './database-errors.js';

export type RefusalKind =
  /** The request or a value in it is wrong: retrying it unchanged fails again. */
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'too_large'
  | 'unsupported_media_type'
  /**
   * A read ran past the server's time limit and PostgreSQL cancelled it: narrower filters answer,
   * the same request is likely to run as long again, so this is no invitation to retry (no Retry-After).
   */
  | 'too_slow'
  /** The writer's memory budget is full: retry soon. */
  | 'overloaded'
  /** The database cannot be reached, or the receiver is stopping: retry later. */
  | 'unavailable'
  /** A fault of pipemon's own (a bug): the client keeps its data and retries, as the Collector does. */
  | 'internal';

export class Refusal extends Error {
  override readonly name = 'Refusal';
  constructor(
    readonly kind: RefusalKind,
    message: string,
    /** Headers the answer carries beyond the status (WWW-Authenticate, Allow). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** What a receiver answers while it starts: its ports are open before its database is, and clients retry. */
export const STARTING = new Refusal('unavailable', 'pipemon is starting: retry shortly');

export const HTTP_STATUS: Record<RefusalKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  too_large: 413,
  unsupported_media_type: 415,
  // The database (pipemon's upstream) did not answer in time: a gateway's timeout, apart from 503's "retry".
  too_slow: 504,
  overloaded: 503,
  unavailable: 503,
  internal: 503,
};

/** google.rpc.Code (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GRPC_STATUS = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export const GRPC_CODE: Record<RefusalKind, number> = {
  invalid: GRPC_STATUS.INVALID_ARGUMENT,
  unauthenticated: GRPC_STATUS.UNAUTHENTICATED,
  forbidden: GRPC_STATUS.PERMISSION_DENIED,
  not_found: GRPC_STATUS.NOT_FOUND,
  method_not_allowed: GRPC_STATUS.UNIMPLEMENTED,
  too_large: GRPC_STATUS.RESOURCE_EXHAUSTED,
  unsupported_media_type: GRPC_STATUS.INVALID_ARGUMENT,
  too_slow: GRPC_STATUS.DEADLINE_EXCEEDED,
  overloaded: GRPC_STATUS.UNAVAILABLE,
  unavailable: GRPC_STATUS.UNAVAILABLE,
  internal: GRPC_STATUS.UNAVAILABLE,
};

/**
 * How long a client should wait before retrying (HTTP Retry-After, gRPC RetryInfo): short, since
 * OpenTelemetry JS gives up past 10 s. Only the kinds worth retrying have one.
 */
export const RETRY_AFTER_SECONDS: Partial<Record<RefusalKind, number>> = { overloaded: 1, unavailable: 2, internal: 2 };

const reported = new Set<string>();

/** A fault of pipemon's own, logged once per distinct message so that a flood of requests is one line. */
function internal(error: unknown): Refusal {
  const why = describeDatabaseError(error);
  if (!reported.has(why)) {
    reported.add(why);
    console.error(`pipemon: internal error (shown once; clients were told to retry): ${error instanceof Error && error.stack ? error.stack : why}`);
  }
  return new Refusal('internal', `internal error in the receiver (${why}): retry later`);
}

/** JavaScript's own errors: raised by pipemon's code, not by the database or the network. */
const isBug = (error: unknown) =>
  error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof ReferenceError;

/**
 * Any failure as a Refusal. Errors the database raised are sorted by database-errors.ts: permanent ones
 * are the data's fault; the rest (connection errors, and any not known to be permanent) are
 * `unavailable`. A bug is `internal`: never the client's fault, so never a reason to drop its data.
 */
export function refusalOf(error: unknown): Refusal {
  if (error instanceof Refusal) return error;
  if (error instanceof DecodeError) return new Refusal('invalid', error.message);
  if (isBug(error)) return internal(error);
  const why = describeDatabaseError(error);
  return isTransient(error)
    ? new Refusal('unavailable', `database unavailable (${why}): retry later`)
    : new Refusal('invalid', `the database refused this request: ${why}`);
}
