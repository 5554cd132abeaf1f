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
import { deliveryStats, failureMemory, type DeliveryStats } from './delivery-stats.js';
import { createQueueSet } from './queue-set.js';
import type { Channel, RecordQueue } from './record-queue.js';
import { createRetryingTransport } from './retrying-transport.js';
import { createSender } from './sender.js';
import { openSpool } from '../spool/spool.js';
import { createHttpTransport, type Transport } from './transport.js';


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
  const failures = failureMemory(authorizationOf(config.headers) !== undefined);
  const sender = createSender({
    spool,
    transport,
    flushMs: config.flushMs,
    maxRequestBytes: MAX_REQUEST_BYTES,
    pause: new Backoff({ minMs: 1_000, maxMs: 30_000 }),
    now,
    onOutcome: failures.record,
  });
  // After shutdown, appends still reach the disk (a span ending late); the stopped sender leaves them to the next start.
  const queues = createQueueSet({ spool, config, onAppend: (keep) => sender.wake(keep) });

  const flush = async (deadlineMs: number) => {
    const deadline = now() + deadlineMs;
    queues.flush();
    await withDeadline(sender.drain(deadline), deadline, now);
  };

  let shuttingDown: Promise<void> | null = null;
  // What an earlier process left in the spool goes first.
  sender.wake(true);
  return {
    queue: (channel) => queues.add(channel),
    flush,
    shutdown(deadlineMs) {
      shuttingDown ??= (async () => {
        await flush(deadlineMs);
        sender.stop();
        // Ends a retry wait and in-flight requests: their records are on disk, for the next start.
        transport.close();
        queues.flush();
        spool.close();
      })();
      return shuttingDown;
    },
    spoolNow: () => queues.flush(),
    stats: () => deliveryStats(spool.stats(), queues.counts(), { receiverDown: sender.down, lastFailure: failures.last() }),
  };
}

/** Waits for `work` until `deadline` (epoch ms by `now`) at the latest; never rejects. */
export async function withDeadline(work: Promise<unknown>, deadline: number, now: () => number): Promise<void> {
  const left = deadline - now();
  if (left <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
  clearTimeout(timer);
}
