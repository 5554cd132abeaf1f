/**
 * Admission of OTLP/gRPC calls against the writer's memory budget, as a grpc-js server interceptor.
 *
 * grpc-js buffers a whole message, and inflates it, before a handler sees it, and gRPC announces no
 * size beforehand (no Content-Length), so a handler that claims budget for the message it was given
 * (as OTLP/HTTP claims each chunk it reads, http/body.ts) claims too late: N calls would hold
 * N x the message limit first. grpc-js keeps a call's HTTP/2 stream paused until the call asks to read
 * (BaseServerInterceptingCall.startRead, @grpc/grpc-js 1.14), and the unary handler asks only once its
 * metadata has passed the interceptors. So here, at the metadata, each call first claims a deposit of
 * the largest message it may hold, `maxMessageBytes`; once its message is in, the claim shrinks to the
 * message's length and is held until the call is answered (after COMMIT), as on the HTTP path.
 *
 * The bound: the gRPC messages held (as received, or inflated) never exceed what their calls claimed,
 * and every claim is in the one writer budget shared with OTLP/HTTP, so they stay within
 * `--max-queue-bytes`, with two exceptions, both bounded:
 *  - while grpc-js inflates a compressed message (the interceptor cannot tell compressed calls apart:
 *    grpc-js strips `grpc-encoding` before interceptors run), its compressed copy, at most the call's
 *    deposit, sits beside the inflated output, also at most the deposit: at worst 2 x the budget;
 *  - a call not admitted (waiting for a deposit, or being refused) reads nothing, but Node's HTTP/2
 *    buffers what the client may send unasked: one stream's flow-control window (65,535 bytes, Node's
 *    default, which grpc-js keeps), on at most `grpc.max_concurrent_streams` streams per connection.
 *
 * When a deposit does not fit: if other calls hold deposits, they shrink or end as soon as their
 * messages are in, so the call waits for them (FIFO) instead of being sent away while the budget is
 * mostly empty; if none do, the budget is full of data being decoded or written, and the call is
 * answered UNAVAILABLE with RetryInfo (model/outcome.ts, 'overloaded') before a byte of its message is read.
 * The cost: at most budget / maxMessageBytes calls upload at once (4 with the defaults); the rest wait.
 */
import { ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import type { Reservation } from '../ingest/budget.js';
import type { Signal } from '../../contract/signal.js';
import type { IngestReport } from '../metrics/ingest-report.js';
import { Refusal, refusalOf } from '../model/outcome.js';
import { SERVICES } from './services.js';
import { codeName, grpcStatusOf } from './status.js';

export interface AdmissionOptions {
  /** The writer's budget, as the ingest line hands it out. */
  budget: { reserve(bytes: number): Reservation };
  maxMessageBytes: number;
  /** A call refused here is answered, and so recorded, without reaching the export handler. */
  requests: IngestReport;
}

interface Waiter {
  gone: () => boolean;
  grant: (deposit: Reservation) => void;
  refuse: (refusal: Refusal) => void;
}

/** Deposits of `bytes` from `budget`: granted, queued behind deposits that will shrink, or refused. */
function createDeposits(budget: AdmissionOptions['budget'], bytes: number) {
  /** Deposits granted and not yet settled (shrunk to a message's length, or released). */
  let out = 0;
  const waiting: Waiter[] = [];

  /** The deposit, or why not; null when it should wait for an outstanding deposit to settle. */
  function claim(): Reservation | Refusal | null {
    try {
      const deposit = budget.reserve(bytes);
      out += 1;
      return deposit;
    } catch (error) {
      const refusal = refusalOf(error);
      return refusal.kind === 'overloaded' && out > 0 ? null : refusal;
    }
  }

  function drain(): void {
    while (waiting.length > 0) {
      const waiter = waiting[0]!;
      if (waiter.gone()) {
        waiting.shift();
        continue;
      }
      const claimed = claim();
      if (claimed === null) return;
      waiting.shift();
      if (claimed instanceof Refusal) waiter.refuse(claimed);
      else waiter.grant(claimed);
    }
  }

  return {
    take(waiter: Waiter): void {
      const claimed = waiting.length > 0 ? null : claim();
      if (claimed === null) waiting.push(waiter);
      else if (claimed instanceof Refusal) waiter.refuse(claimed);
      else waiter.grant(claimed);
    },
    /** One granted deposit is settled: waiters may now fit, or learn that the budget is full. */
    settle(): void {
      out -= 1;
      drain();
    },
  };
}

export function createAdmission({ budget, maxMessageBytes, requests }: AdmissionOptions): ServerInterceptor {
  const deposits = createDeposits(budget, maxMessageBytes);
  const signals = new Map<string, Signal>(Object.entries(SERVICES).map(([signal, service]) => [service.Export!.path, signal as Signal]));

  return (method, call) => {
    const signal = signals.get(method.path);
    const request = signal ? requests.start(signal) : null;
    /** The budget this call holds: its deposit, then its message's length. */
    let held: Reservation | null = null;
    let isDeposit = false;
    let delivered = false;
    let ended = false;

    const settle = () => {
      if (!isDeposit) return;
      isDeposit = false;
      deposits.settle();
    };
    const release = () => {
      ended = true;
      held?.release();
      held = null;
      settle();
    };
    const refuse = (refusal: Refusal) => {
      release();
      const status = grpcStatusOf(refusal);
      call.sendStatus(status);
      request?.end(codeName(status.code));
    };

    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, proceed) {
            deposits.take({
              gone: () => ended,
              grant(deposit) {
                held = deposit;
                isDeposit = true;
                // Called synchronously or from a settle: never while this call is already ended.
                proceed(metadata);
              },
              refuse,
            });
          },
          onReceiveMessage(message: Buffer, proceed) {
            // The message is in (inflated): hold its length instead of the deposit. Releasing first
            // cannot make the claim fail for want of budget; it fails only if the receiver is closing.
            held?.release();
            held = null;
            try {
              held = budget.reserve(message.length);
            } catch (error) {
              refuse(refusalOf(error));
              return;
            }
            settle();
            delivered = true;
            proceed(message);
          },
          onCancel() {
            // Once the handler has the message, it answers (and so releases) even for a cancelled call.
            if (!delivered) release();
          },
        });
      },
      sendStatus(status, next) {
        release();
        next(status);
      },
    });
  };
}
