/**
 * Delivery as a line of small parts:
 *
 *   push -> record queue (record-queue.ts) -> write-ahead spool (spool.ts)
 *        -> sender (sender.ts) -> retrying transport (retrying-transport.ts) -> HTTP transport (transport.ts)
 *
 * Records are on disk before they are sent, so a `kill -9` loses at most the ordinary records of the
 * last buffer interval; errors and run/stage records are written before `emit` returns. Segments left
 * by a dead process are replayed through the same sender and transport as live records: one sorting of
 * the receiver's answers for both.
 */
import { authorizationOf, type Config } from './config.js';
import { Backoff } from './backoff.js';
import { createRecordQueue, type Channel, type RecordQueue } from './record-queue.js';
import { createRetryingTransport } from './retrying-transport.js';
import { createSender } from './sender.js';
import { openSpool } from '../spool/spool.js';
import { createHttpTransport, failureKind, type FailureKind, type Outcome, type Transport } from './transport.js';

export type { Channel, RecordQueue } from './record-queue.js';

export interface DeliveryStats {
  /** Records in memory, not yet in the spool: what a `kill -9` now would lose. */
  queued: number;
  /** Spool segments and bytes on disk: records not yet acknowledged by the receiver. */
  spooledBatches: number;
  spooledBytes: number;
  /** Records given up on (spool bound, disk refusing ordinary records, kept records past the memory bound while the disk refuses them, refused by the receiver as malformed). */
  dropped: number;
  /** Of `dropped`, the records the receiver refused as malformed (HTTP 400 or 413). */
  refused: number;
  /** Records not delivered yet: in memory or in the spool, for a later pass or the next process using the spool. */
  undelivered: number;
  /** Records the receiver took. */
  delivered: number;
  receiverDown: boolean;
  /** Why the last send failed, until a later one succeeds; null when none failed since. */
  lastFailure: DeliveryFailure | null;
}

export interface DeliveryFailure {
  kind: FailureKind;
  /** The HTTP status of the answer; null when the receiver did not answer. */
  status: number | null;
  /** The transport's words: `HTTP 401`, `connect ECONNREFUSED 127.0.0.1:4318`. */
  message: string;
}

/** The stats of a delivery that holds nothing: export off, or the application's own providers. */
export const NOTHING_HELD: DeliveryStats = {
  queued: 0,
  spooledBatches: 0,
  spooledBytes: 0,
  dropped: 0,
  refused: 0,
  undelivered: 0,
  delivered: 0,
  receiverDown: false,
  lastFailure: null,
};

export interface Delivery {
  queue<T>(channel: Channel<T>): RecordQueue<T>;
  /** Appends what is buffered and sends everything spooled; resolves when done or when `deadlineMs` passes. Never rejects. */
  flush(deadlineMs: number): Promise<void>;
  /** A final flush, then stops sending; what is not delivered stays in the spool for the next start. Idempotent. */
  shutdown(deadlineMs: number): Promise<void>;
  /** Synchronous, for process exit: buffered records to the spool. */
  spoolNow(): void;
  stats(): DeliveryStats;
}

export interface DeliveryOptions {
  /** The transport under the retry wrapper (tests answer from a script); default OTLP/HTTP to the endpoint. */
  transport?: Transport;
  now?: () => number;
}

/** Below the receiver's 64 MiB body limit (and the OTLP spec's recommendation), with room to spare. */
const MAX_REQUEST_BYTES = 4 * 2 ** 20;

export function createDelivery(config: Config, options: DeliveryOptions = {}): Delivery {
  const now = options.now ?? Date.now;
  const spool = openSpool({ dir: config.spoolDir, maxBytes: config.spoolMaxBytes, fsync: config.spoolFsync, now });
  const transport = createRetryingTransport({
    transport: options.transport ?? createHttpTransport({ endpoint: config.endpoint, headers: config.headers, timeoutMs: config.exportTimeoutMs, now }),
    maxAttempts: 3,
    minDelayMs: 500,
    maxDelayMs: 5_000,
    now,
  });
  const keySent = authorizationOf(config.headers) !== undefined;
  let lastFailure: DeliveryFailure | null = null;
  const sender = createSender({
    spool,
    transport,
    flushMs: config.flushMs,
    maxRequestBytes: MAX_REQUEST_BYTES,
    pause: new Backoff({ minMs: 1_000, maxMs: 30_000 }),
    now,
    onOutcome: (outcome) => {
      lastFailure = failureOf(outcome, keySent);
    },
  });
  const queues: RecordQueue<unknown>[] = [];
  let unserializable = 0;
  let closed = false;

  const flushQueues = () => {
    for (const queue of queues) queue.flush();
  };

  const flush = async (deadlineMs: number) => {
    const deadline = now() + deadlineMs;
    flushQueues();
    await withDeadline(sender.drain(deadline), deadline, now);
  };

  let shuttingDown: Promise<void> | null = null;
  // What an earlier process left in the spool goes first.
  sender.wake(true);
  return {
    queue<T>(channel: Channel<T>) {
      const queue = createRecordQueue<T>({
        channel,
        spool,
        maxBatch: config.maxBatch,
        maxQueue: config.maxQueue,
        bufferMs: config.bufferMs,
        // After shutdown, appends still reach the disk (a span ending late); the next start sends them.
        onAppend: (keep) => {
          if (!closed) sender.wake(keep);
        },
        onUnserializable: (records) => {
          unserializable += records;
        },
      });
      queues.push(queue as RecordQueue<unknown>);
      return queue;
    },
    flush,
    shutdown(deadlineMs) {
      shuttingDown ??= (async () => {
        await flush(deadlineMs);
        closed = true;
        sender.stop();
        // Ends a retry wait and in-flight requests: their records are on disk, for the next start.
        transport.close();
        flushQueues();
        spool.close();
      })();
      return shuttingDown;
    },
    spoolNow: flushQueues,
    stats() {
      const spooled = spool.stats();
      const buffered = queues.reduce((sum, queue) => sum + queue.buffered, 0);
      return {
        queued: buffered + spooled.inMemory,
        spooledBatches: spooled.segments,
        spooledBytes: spooled.bytes,
        dropped: spooled.dropped + unserializable,
        refused: spooled.refused,
        undelivered: buffered + spooled.records,
        delivered: spooled.delivered,
        receiverDown: sender.down,
        lastFailure,
      };
    },
  };
}

function failureOf(outcome: Outcome, keySent: boolean): DeliveryFailure | null {
  if (outcome.kind === 'ok') return null;
  return { kind: failureKind(outcome, keySent), status: outcome.status ?? null, message: outcome.reason };
}

async function withDeadline(work: Promise<unknown>, deadline: number, now: () => number): Promise<void> {
  const left = deadline - now();
  if (left <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
  clearTimeout(timer);
}
