/**
 * Step 4 of the line: group commit. Requests hand their prepared rows to the one writer, which gathers
 * whatever is waiting into one transaction (writeBatch), commits, and only then resolves every request
 * in it: a 200 means COMMIT happened. While a transaction runs, the next batch forms, so batches grow
 * with load.
 *
 * Three parts: the memory budget (budget.ts), the requests waiting and their batching (batch-queue.ts),
 * and the transaction of one batch (here).
 */
import { Refusal, refusalOf } from '../model/outcome.js';
import type { Database } from '../storage/database.js';
import type { PartitionManager } from '../storage/partitions.js';
import { ensurePartitions } from '../storage/record-copy.js';
import { createCommittedStreams, type CommittedStreams } from '../storage/committed-streams.js';
import { writeBatch, type BatchEffects, type Prepared } from '../storage/write-batch.js';
import type { WriterReport } from '../metrics/writer-report.js';
import { createBatchQueue, type Waiting } from './batch-queue.js';
import { createBudget, type Budget } from './budget.js';

/** Claims on the writer's memory budget (budget.ts), refused once the writer is closing. */
export type Admission = Pick<Budget, 'claim' | 'deposit'>;

export interface Writer extends Admission {
  /** Resolves after COMMIT; rejects with a Refusal. */
  write(prepared: Prepared, records: number): Promise<void>;
  /** Stops taking writes and resolves when everything taken is committed or failed. */
  close(): Promise<void>;
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
  const budget = createBudget(budgetBytes, report);
  const streams = createCommittedStreams();
  const batches = createBatchQueue<Prepared>({
    commit: batchCommitter(report, (batch) => inTransaction(db, partitions, streams, batch)),
    concurrency: db.writeConcurrency,
    maxBatchRecords,
  });
  let closing = false;
  const whileOpen = <T>(claim: () => Promise<T>) =>
    closing ? Promise.reject(new Refusal('unavailable', 'the receiver is shutting down: retry later')) : claim();
  return {
    claim: (bytes) => whileOpen(() => budget.claim(bytes)),
    deposit: (bytes) => whileOpen(() => budget.deposit(bytes)),
    write: (prepared, records) => (records === 0 ? Promise.resolve() : batches.submit(prepared, records)),
    async close() {
      closing = true;
      await batches.settled();
    },
  };
}

/** One batch's rows in one transaction, once the partitions they go into exist; its streams remembered once committed. */
async function inTransaction(db: Database, partitions: PartitionManager, streams: CommittedStreams, batch: Prepared[]): Promise<BatchEffects> {
  await ensurePartitions(db, partitions, batch);
  const effects = await db.transaction((tx) => writeBatch(tx, partitions, batch, streams));
  streams.committed(batch);
  // Not awaited: the batch's requests are answered without waiting for statistics (partitions.ts).
  void partitions.committed(db, 'log_records', batch.flatMap((p) => [...p.logDays]), effects.logs.accepted);
  void partitions.committed(db, 'spans', batch.flatMap((p) => [...p.spanDays]), effects.spans.accepted);
  return effects;
}

/**
 * Commits a batch through `run` and answers its requests: every one resolves after COMMIT, or every one
 * is rejected with the refusal. A permanent error in a shared batch is the exception: each request is
 * then committed alone, so one bad request fails alone. `report` hears of every transaction tried.
 */
export function batchCommitter<T>(report: Pick<WriterReport, 'startBatch'>, run: (items: T[]) => Promise<BatchEffects>): (batch: Waiting<T>[]) => Promise<void> {
  const commit = async (batch: Waiting<T>[]): Promise<void> => {
    const operation = report.startBatch(batch.reduce((sum, p) => sum + p.records, 0));
    try {
      operation.committed(await run(batch.map((p) => p.item)));
      for (const p of batch) p.resolve();
    } catch (error) {
      const refusal = refusalOf(error);
      operation.failed(refusal.kind);
      if (refusal.kind !== 'invalid' || batch.length === 1) {
        for (const p of batch) p.reject(refusal);
        return;
      }
      for (const p of batch) await commit([p]);
    }
  };
  return commit;
}
