/**
 * emit -> queue -> export (official OTLP exporter) -> on failure, spool -> replay.
 *
 * - `push` is an array push: the caller never waits for I/O and nothing here throws into it.
 * - Error-first: records that must never be lost (ERROR and above, run/stage records, failed spans)
 *   have their own queue that is exported first and is never evicted.
 * - Memory is bounded: past `maxQueue` ordinary records, the oldest batch is written to the spool in the
 *   background; if the disk cannot keep up (twice `maxQueue`), the oldest ordinary records are dropped and
 *   counted. While the receiver is known to be down (the last export or replay failed), batches go
 *   straight to the spool instead of waiting for export timeouts one after the other.
 * - Replay resends spooled bodies byte for byte with capped, jittered backoff, and at the next start.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Config } from '../../sdk/config.js';
import { Backlog } from '../../sdk/backlog.js';
import { openSpool, type Signal, type Spool } from './spool.js';

export interface Exporter<T> {
  export(items: T[], done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

export interface Channel<T> {
  signal: Signal;
  exporter: Exporter<T>;
  /** The OTLP request body the exporter would send, for the spool. */
  serialize(items: T[]): Uint8Array | undefined;
  mustKeep(item: T): boolean;
}

export interface ExportQueue<T> {
  push(item: T): void;
}

export interface DeliveryStats {
  /** Records in memory waiting for export. */
  queued: number;
  /** Batches and bytes waiting in the spool. */
  spooledBatches: number;
  spooledBytes: number;
  /** Records given up on (memory overflow, spool eviction, refused by the receiver as malformed). */
  dropped: number;
  /** Records in memory or in the spool, not delivered yet. */
  undelivered: number;
  receiverDown: boolean;
}

export interface Delivery {
  queue<T>(channel: Channel<T>): ExportQueue<T>;
  /** Exports everything queued now; resolves when done or when `deadlineMs` passes. Never rejects. */
  flush(deadlineMs: number): Promise<void>;
  /** Final flush; whatever is still in memory at the deadline is spooled synchronously. Idempotent. */
  shutdown(deadlineMs: number): Promise<void>;
  /** Synchronous last resort for process exit: memory and in-flight batches to the spool. */
  spoolNow(): void;
  /** Starts replaying the spool now (at start, and after the receiver is known to be back). */
  replaySoon(): void;
  stats(): DeliveryStats;
}

/**
 * Answers that refuse the data itself: resending the same bytes can never succeed. Anything else (401,
 * 403 and 404 included: a wrong key, scope or endpoint in this process, not bad data) keeps the batch
 * for a later replay, as the Collector treats an unknown error as transient.
 */
const REFUSED = new Set([400, 413]);
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

interface QueueState {
  drain(): Promise<void>;
  spoolSync(): void;
  pending(): number;
  dropped(): number;
  stop(): void;
}

export function createDelivery(config: Config, fetchImpl: typeof fetch = fetch): Delivery {
  const spool: Spool = openSpool(config.spoolDir, config.spoolMaxBytes);
  const queues: QueueState[] = [];
  let down = false;
  let closed = false;
  let replaying: Promise<void> | null = null;
  let replayTimer: NodeJS.Timeout | null = null;
  let backoffMs = BACKOFF_MIN_MS;

  const post = async (signal: Signal, body: Uint8Array): Promise<'ok' | 'retry' | 'refused'> => {
    try {
      const response = await fetchImpl(`${config.endpoint}/v1/${signal}`, {
        method: 'POST',
        headers: { ...config.headers, 'content-type': 'application/x-protobuf' },
        body: body as Uint8Array<ArrayBuffer>,
        signal: AbortSignal.timeout(config.exportTimeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return 'ok';
      return REFUSED.has(response.status) ? 'refused' : 'retry';
    } catch {
      return 'retry';
    }
  };

  /** One pass over the spool, oldest first; stops at the first batch the receiver cannot take now. */
  const replayPass = async (deadline: number): Promise<boolean> => {
    for (const entry of spool.entries()) {
      if (Date.now() >= deadline) return false;
      const body = spool.read(entry);
      if (body === null) continue;
      // A write during the request may need room: it must not evict the batch on the wire (post never rejects).
      spool.sending(entry);
      const outcome = await post(entry.signal, body);
      spool.sending(null);
      // Includes 401/403/404 and network errors: stop this pass and keep the file.
      if (outcome === 'retry') {
        down = true;
        return false;
      }
      if (outcome === 'ok') spool.remove(entry);
      // A body the receiver calls malformed will never be taken: keep the count, not the file.
      else spool.drop(entry);
      down = false;
    }
    return true;
  };

  const scheduleReplay = (delayMs: number) => {
    if (closed || replayTimer || replaying) return;
    replayTimer = setTimeout(() => {
      replayTimer = null;
      replaying = replayPass(Number.POSITIVE_INFINITY)
        .then((emptied) => {
          backoffMs = emptied ? BACKOFF_MIN_MS : Math.min(BACKOFF_MAX_MS, backoffMs * 2);
          return emptied;
        })
        .catch(() => false)
        .then((emptied) => {
          replaying = null;
          if (!emptied) scheduleReplay(backoffMs * (0.8 + Math.random() * 0.4));
        });
    }, delayMs);
    replayTimer.unref();
  };

  let unserializable = 0;
  /** One spool file; returns the records that must be kept but could not be stored. */
  const writeBatch = <T>(channel: Channel<T>, batch: T[], priority: boolean): T[] => {
    const body = safeSerialize(channel, batch);
    if (body === undefined) {
      // Retrying cannot make a batch serializable; count it rather than loop on it.
      unserializable += batch.length;
      return [];
    }
    return spool.write(channel.signal, priority, batch.length, body) || !priority ? [] : batch;
  };

  const toSpool = <T>(channel: Channel<T>, batch: T[], sync: boolean): T[] => {
    // Kept and ordinary records go to separate files, so that evicting ordinary ones under the byte
    // bound never has to skip a file because it also holds an error.
    const keep: T[] = [];
    const ordinary: T[] = [];
    for (const item of batch) (channel.mustKeep(item) ? keep : ordinary).push(item);
    const left = keep.length > 0 ? writeBatch(channel, keep, true) : [];
    if (ordinary.length > 0) writeBatch(channel, ordinary, false);
    if (!sync) scheduleReplay(down ? backoffMs : 0);
    // If even the disk failed, records that must be kept stay in memory; the rest were counted by the spool.
    return left;
  };

  const queue = <T>(channel: Channel<T>): ExportQueue<T> => {
    const urgent = new Backlog<T>(config.maxBatch);
    const normal = new Backlog<T>(config.maxBatch);
    let inFlight: T[] | null = null;
    let exporting: Promise<void> | null = null;
    let spilling = false;
    let dropped = 0;
    let timer: NodeJS.Timeout | null = null;
    let drainQueued = false;
    const drainSoon = () => {
      drainQueued = false;
      void drain();
    };

    const take = (): T[] => {
      const batch = urgent.take(config.maxBatch);
      const room = config.maxBatch - batch.length;
      if (room > 0 && normal.length > 0) {
        const more = normal.take(room);
        if (batch.length === 0) return more;
        for (const item of more) batch.push(item);
      }
      return batch;
    };

    /** Records the disk refused go back to memory until the next flush; false stops this drain. */
    const requeue = (left: T[]): boolean => {
      if (left.length === 0) return true;
      urgent.putBack(left);
      schedule();
      return false;
    };

    const exportBatch = (batch: T[]): Promise<ExportResult> =>
      new Promise((resolve) => {
        try {
          channel.exporter.export(batch, resolve);
        } catch (error) {
          resolve({ code: ExportResultCode.FAILED, error: error as Error });
        }
      });

    /** Exports batches until memory is empty; one request in flight per signal. */
    const drain = (): Promise<void> => {
      exporting ??= (async () => {
        while (urgent.length + normal.length > 0) {
          const batch = take();
          if (down) {
            if (!requeue(toSpool(channel, batch, false))) break;
            continue;
          }
          inFlight = batch;
          const result = await exportBatch(batch);
          // spoolSync (shutdown deadline, exit) clears inFlight once it has put this batch on disk.
          const spooled = inFlight !== batch;
          inFlight = null;
          if (result.code === ExportResultCode.SUCCESS) {
            down = false;
          } else {
            down = true;
            if (!spooled && !requeue(toSpool(channel, batch, false))) break;
          }
        }
      })()
        .catch(() => undefined)
        .finally(() => {
          exporting = null;
        });
      return exporting;
    };

    const schedule = () => {
      if (timer || closed) return;
      timer = setTimeout(() => {
        timer = null;
        void drain();
      }, config.flushMs);
      timer.unref();
    };

    /** Background spill of the oldest ordinary records when memory is past its bound, down to half of it. */
    const spill = () => {
      if (spilling) return;
      spilling = true;
      // Off the caller's stack: serializing and fsyncing batches is the cost we keep out of emit.
      setImmediate(() => {
        try {
          while (normal.length > config.maxQueue / 2) toSpool(channel, normal.take(config.maxBatch), false);
        } finally {
          spilling = false;
        }
      });
    };

    queues.push({
      drain,
      spoolSync() {
        const batch = [...(inFlight ?? []), ...urgent.takeAll(), ...normal.takeAll()];
        // The export of the in-flight batch may still fail after this; it must not spool it a second time.
        inFlight = null;
        if (batch.length > 0) toSpool(channel, batch, true);
      },
      pending: () => urgent.length + normal.length,
      dropped: () => dropped,
      stop() {
        if (timer) clearTimeout(timer);
        timer = null;
      },
    });

    return {
      push(item) {
        if (closed) {
          // After shutdown there is no exporter left: keep what must be kept, on disk.
          if (channel.mustKeep(item)) toSpool(channel, [item], true);
          return;
        }
        if (channel.mustKeep(item)) urgent.push(item);
        else {
          normal.push(item);
          if (normal.length >= config.maxQueue) {
            if (normal.length >= 2 * config.maxQueue) {
              normal.dropOldest();
              dropped++;
            }
            spill();
          }
        }
        if (urgent.length + normal.length >= config.maxBatch) {
          // One queued drain, not one closure and microtask per record past a batch.
          if (!exporting && !drainQueued) {
            drainQueued = true;
            queueMicrotask(drainSoon);
          }
        } else schedule();
      },
    };
  };

  const flush = async (deadlineMs: number): Promise<void> => {
    const deadline = Date.now() + deadlineMs;
    await withDeadline(Promise.all(queues.map((q) => q.drain())), deadline);
    await withDeadline(Promise.all(queues.map((q) => q.drain())), deadline);
  };

  let shuttingDown: Promise<void> | null = null;
  return {
    queue,
    flush,
    shutdown(deadlineMs) {
      shuttingDown ??= (async () => {
        const deadline = Date.now() + deadlineMs;
        await flush(deadlineMs);
        closed = true;
        for (const q of queues) q.stop();
        if (replayTimer) clearTimeout(replayTimer);
        replayTimer = null;
        // Whatever did not make it in time is on disk before we return: the next start sends it.
        for (const q of queues) q.spoolSync();
        if (replaying) await withDeadline(replaying, deadline);
        if (!down && Date.now() < deadline) await withDeadline(replayPass(deadline).catch(() => false), deadline);
      })();
      return shuttingDown;
    },
    spoolNow() {
      for (const q of queues) q.spoolSync();
    },
    replaySoon() {
      if (spool.entries().length > 0) scheduleReplay(0);
    },
    stats() {
      const entries = spool.entries();
      const queued = queues.reduce((sum, q) => sum + q.pending(), 0);
      return {
        queued,
        spooledBatches: entries.length,
        spooledBytes: spool.bytes,
        dropped: spool.dropped + unserializable + queues.reduce((sum, q) => sum + q.dropped(), 0),
        undelivered: queued + entries.reduce((sum, entry) => sum + entry.records, 0),
        receiverDown: down,
      };
    },
  };
}

function safeSerialize<T>(channel: Channel<T>, batch: T[]): Uint8Array | undefined {
  try {
    return channel.serialize(batch);
  } catch {
    return undefined;
  }
}

async function withDeadline(work: Promise<unknown>, deadline: number): Promise<void> {
  const left = deadline - Date.now();
  if (left <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
  clearTimeout(timer);
}
