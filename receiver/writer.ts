/**
 * Group commit. Requests hand their validated rows to the one writer, which gathers whatever is
 * waiting into one transaction (writeBatch), commits, and only then resolves every request in it: a
 * 200 means COMMIT happened. While a transaction runs, the next batch forms, so batches grow with load.
 *
 * Memory is bounded by a byte budget on the request bodies held (read, decoded, not yet acknowledged):
 * a request that would pass it is refused at once (503) instead of queued.
 */
import type { Database } from './storage/database.js';
import { isTransient, describeDatabaseError } from './storage/errors.js';
import type { PartitionManager } from './storage/partitions.js';
import { prepare, writeBatch, type BatchEffects, type BatchItem, type Prepared } from './storage/write-batch.js';
import type { Metrics } from './metrics.js';

/** Why a write was not committed; the HTTP layer turns each into a status code. */
export type WriteFailure =
  | { kind: 'overloaded'; message: string }
  | { kind: 'unavailable'; message: string }
  | { kind: 'rejected'; message: string };

export class WriteError extends Error {
  override readonly name = 'WriteError';
  constructor(readonly failure: WriteFailure) {
    super(failure.message);
  }
}

export interface Writer {
  /** Reserves `bytes` of the budget or throws WriteError('overloaded'). */
  reserve(bytes: number): Reservation;
  /** Resolves after COMMIT; rejects with WriteError. */
  write(item: BatchItem): Promise<void>;
  /** Stops taking writes and resolves when everything taken is committed or failed. */
  close(): Promise<void>;
}

/** Budget held by one request: it grows as the body turns out larger, and is released once. */
export interface Reservation {
  /** Holds `bytes` more, or throws WriteError('overloaded') and holds nothing more. */
  grow(bytes: number): void;
  release(): void;
}

interface Pending {
  prepared: Prepared;
  records: number;
  resolve: () => void;
  reject: (error: WriteError) => void;
}

export interface WriterOptions {
  db: Database;
  partitions: PartitionManager;
  metrics: Metrics;
  budgetBytes: number;
  /** A batch takes whole requests until it holds this many records. */
  maxBatchRecords?: number;
}

export function createWriter({ db, partitions, metrics, budgetBytes, maxBatchRecords = 20_000 }: WriterOptions): Writer {
  let heldBytes = 0;
  let inFlight = 0;
  let closing = false;
  const queue: Pending[] = [];
  const idle: (() => void)[] = [];
  metrics.queueLimitBytes.set(budgetBytes);

  function takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let records = 0;
    while (queue.length > 0 && (batch.length === 0 || records + queue[0]!.records <= maxBatchRecords)) {
      const next = queue.shift()!;
      records += next.records;
      batch.push(next);
    }
    return batch;
  }

  function pump(): void {
    while (inFlight < db.writeConcurrency && queue.length > 0) {
      const batch = takeBatch();
      inFlight++;
      void commit(batch).finally(() => {
        inFlight--;
        if (queue.length > 0) pump();
        else if (inFlight === 0) idle.splice(0).forEach((wake) => wake());
      });
    }
  }

  async function run(batch: Prepared[]): Promise<BatchEffects> {
    const started = performance.now();
    const effects = await db.transaction((tx) => writeBatch(tx, partitions, batch));
    metrics.commitDuration.observe((performance.now() - started) / 1000);
    return effects;
  }

  function applyEffects(effects: BatchEffects): void {
    metrics.committed({ signal: 'logs', ...effects.logs });
    metrics.committed({ signal: 'traces', ...effects.spans });
    effects.runsEnded.forEach(metrics.runEnded);
    effects.stagesEnded.forEach(metrics.stageEnded);
  }

  async function commit(batch: Pending[]): Promise<void> {
    const records = batch.reduce((sum, p) => sum + p.records, 0);
    metrics.batchRecords.observe(records);
    try {
      const effects = await run(batch.map((p) => p.prepared));
      applyEffects(effects);
      for (const p of batch) p.resolve();
    } catch (error) {
      metrics.databaseErrors.inc({ kind: isTransient(error) ? 'transient' : 'permanent' });
      if (isTransient(error) || batch.length === 1) {
        const failure: WriteFailure = isTransient(error)
          ? { kind: 'unavailable', message: `database unavailable (${describeDatabaseError(error)}): retry later` }
          : { kind: 'rejected', message: `the database refused these records: ${describeDatabaseError(error)}` };
        for (const p of batch) p.reject(new WriteError(failure));
        return;
      }
      // A permanent error in a shared batch: commit each request alone so one bad request fails alone.
      for (const p of batch) await commit([p]);
    }
  }

  return {
    reserve(bytes) {
      if (closing) throw new WriteError({ kind: 'unavailable', message: 'the receiver is shutting down: retry later' });
      let held = 0;
      const reservation: Reservation = {
        grow(more) {
          if (heldBytes + more > budgetBytes) {
            throw new WriteError({
              kind: 'overloaded',
              message: `writer memory budget full (${heldBytes} of ${budgetBytes} bytes held): retry later`,
            });
          }
          held += more;
          heldBytes += more;
          metrics.queueBytes.set(heldBytes);
        },
        release() {
          heldBytes -= held;
          held = 0;
          metrics.queueBytes.set(heldBytes);
        },
      };
      reservation.grow(bytes);
      return reservation;
    },

    write(item) {
      const records = item.logs.length + item.spans.length;
      if (records === 0) return Promise.resolve();
      // Rendering happens here, outside any transaction, while the previous batch commits.
      let prepared: Prepared;
      try {
        prepared = prepare(item);
      } catch (error) {
        return Promise.reject(new WriteError({ kind: 'rejected', message: `these records cannot be stored: ${(error as Error).message}` }));
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ prepared, records, resolve, reject });
        pump();
      });
    },

    async close() {
      closing = true;
      if (queue.length === 0 && inFlight === 0) return;
      await new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
