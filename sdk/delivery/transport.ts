/**
 * The one way records leave the process: an OTLP/HTTP POST of a request body, answered as a value
 * (opentelemetry-js's `'success' | 'failure' | 'retryable'`), never a rejection.
 * Live export and the replay of a spool left by an earlier process go through the same transport, so
 * an answer means the same thing for both.
 */
import type { Signal } from '../../contract/signal.js';

export type Outcome =
  | { kind: 'ok' }
  /**
   * Worth sending the same bytes again later; `status` when the receiver answered at all, `afterMs`
   * when it said when (Retry-After).
   */
  | { kind: 'retry'; reason: string; status?: number; afterMs?: number }
  /** The receiver refuses these bytes: resending them can never succeed. */
  | { kind: 'refused'; reason: string; status: number };

/** Why an answer left records undelivered, as the user must act on it. */
export type FailureKind = 'no-key' | 'key-refused' | 'unavailable' | 'malformed';

export interface Transport {
  /** Sends one request body; `deadline` (epoch ms) bounds the whole call. Never rejects. */
  send(signal: Signal, body: Uint8Array, deadline: number): Promise<Outcome>;
  /** Ends waits in progress (a wrapper's backoff); later sends still work. */
  close(): void;
}

export interface HttpTransportOptions {
  endpoint: string;
  headers: Record<string, string>;
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * Answers that refuse the data itself. Anything else (401, 403 and 404 included: a wrong key, scope or
 * endpoint in this process, not bad data) keeps the records for later, as the Collector treats an
 * unknown error as transient.
 */
const REFUSED: ReadonlySet<number> = new Set([400, 413]);
/** Answers about the credentials: the records wait for a key the receiver takes. */
const UNAUTHORIZED: ReadonlySet<number> = new Set([401, 403]);

/** How an HTTP answer is sorted; the only place that decides it. */
export function sortAnswer(status: number, retryAfter: string | null): Outcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (REFUSED.has(status)) return { kind: 'refused', reason: `HTTP ${status}`, status };
  const afterMs = parseRetryAfter(retryAfter);
  return afterMs === undefined ? { kind: 'retry', reason: `HTTP ${status}`, status } : { kind: 'retry', reason: `HTTP ${status}`, status, afterMs };
}

/**
 * Why a failed answer left its records undelivered. `keySent`: the request carried an Authorization
 * header; without one, a 401 means no key was configured rather than a wrong one.
 */
export function failureKind(outcome: Exclude<Outcome, { kind: 'ok' }>, keySent: boolean): FailureKind {
  if (outcome.kind === 'refused') return 'malformed';
  if (outcome.status !== undefined && UNAUTHORIZED.has(outcome.status)) return keySent ? 'key-refused' : 'no-key';
  return 'unavailable';
}

/** Retry-After in seconds (RFC 9110 10.2.3); the HTTP-date form is rare from OTLP receivers and ignored. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

export function createHttpTransport(options: HttpTransportOptions): Transport {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const headers = { ...options.headers, 'content-type': 'application/x-protobuf' };
  let closing = new AbortController();
  return {
    async send(signal, body, deadline) {
      const timeoutMs = Math.min(options.timeoutMs, deadline - now());
      if (timeoutMs <= 0) return { kind: 'retry', reason: 'deadline passed before sending' };
      // A timer of our own, held here until the answer: an AbortSignal.timeout() that only AbortSignal.any()
      // refers to can be garbage-collected before it fires, and the request then waits forever (seen in CI).
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      // A request in flight keeps the process alive through its socket; the timer must not add to that.
      timer.unref();
      try {
        const response = await fetchImpl(`${options.endpoint}/v1/${signal}`, {
          method: 'POST',
          headers,
          body: body as Uint8Array<ArrayBuffer>,
          signal: AbortSignal.any([timeout.signal, closing.signal]),
        });
        // Read to the end so the connection can be reused; its content does not change the answer.
        await response.arrayBuffer().catch(() => undefined);
        return sortAnswer(response.status, response.headers.get('retry-after'));
      } catch (error) {
        return { kind: 'retry', reason: causeOf(error as Error) };
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      // Requests in flight are abandoned: their records stay in the spool until a later answer says ok.
      closing.abort();
      closing = new AbortController();
    },
  };
}

/** fetch() rejects with "fetch failed" and the network's own error (ECONNREFUSED, ENOTFOUND) as its cause. */
function causeOf(error: Error): string {
  return error.cause instanceof Error ? error.cause.message : error.message;
}
