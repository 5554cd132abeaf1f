/**
 * The export stage: takes batches from the spool, oldest first and kept records first, and sends them
 * through the transport one request at a time. Each answer settles its batch in the spool (delivered
 * and refused frames leave it, the rest stay). After a `retry` answer, which the retrying transport
 * already retried, the next pass waits with a growing backoff: records keep going to disk meanwhile.
 */
import { Backoff } from './backoff.js';
import type { Spool } from '../spool/spool.js';
import type { Outcome, Transport } from './transport.js';

export interface SenderOptions {
  spool: Pick<Spool, 'next'>;
  transport: Transport;
  /** Longest wait before ordinary records are sent. */
  flushMs: number;
  maxRequestBytes: number;
  /** Waits between passes while the receiver cannot take records. */
  pause: Backoff;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => () => void;
  /** Every answer, after its batch is settled: what the delivery reports on. */
  onOutcome?: (outcome: Outcome) => void;
}

export interface Sender {
  /** Asks for a pass: at once for kept records (`urgent`), within flushMs otherwise. */
  wake(urgent: boolean): void;
  /** Sends until the spool is empty, the receiver cannot take more, or `deadline` (epoch ms) passes. */
  drain(deadline: number): Promise<void>;
  /** No more passes after the current one; `down` tells whether the receiver took the last batch. */
  stop(): void;
  readonly down: boolean;
}

const DRAIN_WHILE_DOWN_MS = 1_000;

export function createSender(options: SenderOptions): Sender {
  const { spool, transport } = options;
  const now = options.now ?? Date.now;
  const setTimer = options.setTimer ?? unrefTimer;
  let down = false;
  let stopped = false;
  let running: Promise<void> | null = null;
  let timer: { cancel: () => void; at: number } | null = null;

  /** Returns when the spool has nothing left to send, or a batch could not be delivered. */
  const pass = async (deadline: number): Promise<void> => {
    for (let batch = spool.next(options.maxRequestBytes); batch; batch = spool.next(options.maxRequestBytes)) {
      const outcome = await transport.send(batch.signal, batch.body, deadline);
      batch.settle(outcome.kind);
      options.onOutcome?.(outcome);
      if (outcome.kind === 'retry') {
        down = true;
        return;
      }
      down = false;
      options.pause.reset();
      if (now() >= deadline) return;
    }
  };

  const run = (deadline: number): Promise<void> => {
    running ??= pass(deadline)
      .catch(() => undefined)
      .finally(() => {
        running = null;
        if (down) schedule(options.pause.next());
      });
    return running;
  };

  const schedule = (delayMs: number) => {
    if (stopped) return;
    const at = now() + delayMs;
    if (timer && timer.at <= at) return;
    timer?.cancel();
    timer = {
      at,
      cancel: setTimer(() => {
        timer = null;
        // A pass already running sends what was appended meanwhile too, except what it already passed over.
        if (running) void running.then(() => schedule(0));
        else void run(Number.POSITIVE_INFINITY);
      }, delayMs),
    };
  };

  return {
    wake(urgent) {
      // While the receiver is down, the backoff decides when to try again.
      if (!down) schedule(urgent ? 0 : options.flushMs);
    },
    async drain(deadline) {
      // A pass already running (started by a timer, without a deadline) is waited for; the caller bounds
      // the wait. Then one pass under the deadline takes whatever it left or what was appended since.
      if (running) await running;
      // While the receiver is known to be down, one short try: the records are on disk for the next start,
      // and a finishing pipeline must not wait out the retries (the SDK never blocks its process).
      const bound = down ? Math.min(deadline, now() + DRAIN_WHILE_DOWN_MS) : deadline;
      if (now() < bound) await run(bound);
    },
    stop() {
      stopped = true;
      timer?.cancel();
      timer = null;
    },
    get down() {
      return down;
    },
  };
}

function unrefTimer(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  // Sending must never keep a finished pipeline process alive: exit hooks put nothing at risk (it is on disk).
  timer.unref();
  return () => clearTimeout(timer);
}
