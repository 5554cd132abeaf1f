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
 * When a deposit does not fit, the budget (ingest/budget.ts) decides: if other deposits are out, they
 * shrink or end as soon as their messages are in, so the call waits for them (in arrival order, beside
 * OTLP/HTTP requests waiting likewise) instead of being sent away while the budget is mostly empty; if
 * none are, the budget is full of data being decoded or written, and the call is answered UNAVAILABLE
 * with RetryInfo (model/outcome.ts, 'overloaded') before a byte of its message is read.
 * The cost: at most budget / maxMessageBytes calls upload at once (4 with the defaults); the rest wait.
 */
import { ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import type { Budget, Deposit } from '../ingest/budget.js';
import type { Signal } from '../../contract/signal.js';
import type { IngestReport } from '../metrics/ingest-report.js';
import { Refusal, refusalOf } from '../model/outcome.js';
import { SERVICES } from './services.js';
import { codeName, grpcStatusOf } from './status.js';

export interface AdmissionOptions {
  /** The writer's budget, as the ingest line hands it out. */
  budget: Pick<Budget, 'deposit'>;
  maxMessageBytes: number;
  /** A call refused here is answered, and so recorded, without reaching the export handler. */
  requests: IngestReport;
}

export function createAdmission({ budget, maxMessageBytes, requests }: AdmissionOptions): ServerInterceptor {
  const signals = new Map<string, Signal>(Object.entries(SERVICES).map(([signal, service]) => [service.Export!.path, signal as Signal]));

  return (method, call) => {
    const signal = signals.get(method.path);
    const request = signal ? requests.start(signal) : null;
    /** The budget this call holds: its deposit, then its message's length. */
    let held: Deposit | null = null;
    let delivered = false;
    let ended = false;

    const release = () => {
      ended = true;
      held?.release();
      held = null;
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
            budget.deposit(maxMessageBytes).then(
              (deposit) => {
                // A call cancelled while it waited gives its deposit straight back.
                if (ended) return deposit.release();
                held = deposit;
                proceed(metadata);
              },
              (error: unknown) => {
                if (!ended) refuse(refusalOf(error));
              },
            );
          },
          onReceiveMessage(message: Buffer, proceed) {
            // The message is in (inflated, at most the deposit): hold its length instead.
            try {
              held?.settle(message.length);
            } catch (error) {
              refuse(refusalOf(error));
              return;
            }
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
