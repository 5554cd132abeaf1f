/**
 * Step 4 of the line: group commit. Requests hand their prepared rows to the one writer, which gathers
 * whatever is waiting into one transaction (writeBatch), commits, and only then resolves every request
 * in it: a 200 means COMMIT happened. While a transaction runs, the next batch forms, so batches grow
 * with load.
 *
 * Memory is bounded by a byte budget on the request bodies held (read, decoded, not yet acknowledged):
 * a request that would pass it is refused at once (503) instead of queued.
 */
import { Refusal, refusalOf } from '../model/outcome.js';
import type { Database } from '../storage/database.js';
import type { PartitionManager } from '../storage/partitions.js';
import { ensurePartitions, writeBatch, type BatchEffects, type Prepared } from '../storage/write-batch.js';
import type { WriterReport } from '../metrics/writer-report.js';

export interface Writer {
  /** Reserves `bytes` of the budget or throws Refusal('overloaded'). */
  reserve(bytes: number): Reservation;
  /** Resolves after COMMIT; rejects with a Refusal. */
  write(prepared: Prepared, records: number): Promise<void>;
  /** Stops taking writes and resolves when everything taken is committed or failed. */
  close(): Promise<void>;
}

/** Budget held by one request: it grows as the body turns out larger, and is released once. */
export interface Reservation {
  /** Holds `bytes` more, or throws Refusal('overloaded') and holds nothing more. */
  grow(bytes: number): void;
  release(): void;
}

interface Pending {
  prepared: Prepared;
  records: number;
  resolve: () => void;
  reject: (error: Refusal) => void;
}

export interface WriterOptions {
  db: Database;
  partitions: PartitionManager;
  /** Records the budget held, and each batch once it commits (with what it changed) or fails. */
  report: WriterReport;
  budgetBytes: number;
  /** A batch takes whole requests until it holds this many records. */
  maxBatchRecords?: number;
}

export function createWriter({ db, partitions, report, budgetBytes, maxBatchRecords = 20_000 }: WriterOptions): Writer {
  let heldBytes = 0;
  let inFlight = 0;
  let closing = false;
  const queue: Pending[] = [];
  const idle: (() => void)[] = [];
  report.budget(heldBytes, budgetBytes);

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
    await ensurePartitions(db, partitions, batch);
    return db.transaction((tx) => writeBatch(tx, partitions, batch));
  }

  async function commit(batch: Pending[]): Promise<void> {
    const operation = report.startBatch(batch.reduce((sum, p) => sum + p.records, 0));
    try {
      operation.committed(await run(batch.map((p) => p.prepared)));
      for (const p of batch) p.resolve();
    } catch (error) {
      const refusal = refusalOf(error);
      operation.failed(refusal.kind);
      if (refusal.kind !== 'invalid' || batch.length === 1) {
        for (const p of batch) p.reject(refusal);
        return;
      }
      // A permanent error in a shared batch: commit each request alone so one bad request fails alone.
      for (const p of batch) await commit([p]);
    }
  }

  return {
    reserve(bytes) {
      if (closing) throw new Refusal('unavailable', 'the receiver is shutting down: retry later');
      let held = 0;
      const reservation: Reservation = {
        grow(more) {
          if (heldBytes + more > budgetBytes) {
            throw new Refusal('overloaded', `writer memory budget full (${heldBytes} of ${budgetBytes} bytes held): retry later`);
          }
          held += more;
          heldBytes += more;
          report.budget(heldBytes, budgetBytes);
        },
        release() {
          heldBytes -= held;
          held = 0;
          report.budget(heldBytes, budgetBytes);
        },
      };
      reservation.grow(bytes);
      return reservation;
    },

    write(prepared, records) {
      if (records === 0) return Promise.resolve();
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
