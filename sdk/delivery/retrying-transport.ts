/**
 * Retry as a wrapper around a transport, as opentelemetry-js wraps its exporters' transports: an answer
 * of `retry` is tried again after a jittered, growing wait (the receiver's Retry-After when it gave
 * one), at most `maxAttempts` times and never past the caller's deadline. The last answer is returned
 * as it is: the records stay in the spool, and the sender tries them again later.
 */
import { Backoff } from './backoff.js';
import type { Outcome, Transport } from './transport.js';

export interface RetryOptions {
  transport: Transport;
  maxAttempts: number;
  minDelayMs: number;
  maxDelayMs: number;
  now?: () => number;
  random?: () => number;
  /** Waits `ms`; resolves early when `signal` aborts. Injected by tests to run without real time. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export function createRetryingTransport(options: RetryOptions): Transport {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepUnref;
  let closing = new AbortController();
  return {
    async send(signal, body, deadline) {
      const backoff = new Backoff({ minMs: options.minDelayMs, maxMs: options.maxDelayMs, random: options.random });
      const stop = closing.signal;
      let outcome: Outcome = { kind: 'retry', reason: 'not sent' };
      for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
        outcome = await options.transport.send(signal, body, deadline);
        if (outcome.kind !== 'retry' || attempt === options.maxAttempts) return outcome;
        const waitMs = Math.min(options.maxDelayMs, outcome.afterMs ?? backoff.next());
        if (stop.aborted || now() + waitMs >= deadline) return outcome;
        await sleep(waitMs, stop);
        if (stop.aborted) return outcome;
      }
      return outcome;
    },
    close() {
      options.transport.close();
      closing.abort();
      // A send after close() (the spool's last pass at shutdown) retries again.
      closing = new AbortController();
    },
  };
}

function sleepUnref(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    // A retry wait must never keep a finished pipeline process alive.
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
