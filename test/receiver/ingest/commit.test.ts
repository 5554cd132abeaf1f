import { describe, expect, it } from 'vitest';
import type { Waiting } from '../../../receiver/ingest/batch-queue.js';
import { batchCommitter, createWriter } from '../../../receiver/ingest/commit.js';
import type { BatchOperation, WriterReport } from '../../../receiver/metrics/writer-report.js';
import { Refusal, type RefusalKind } from '../../../receiver/model/outcome.js';
import type { Database, Transaction } from '../../../receiver/storage/database.js';
import type { PartitionManager } from '../../../receiver/storage/partitions.js';
import type { BatchEffects, Prepared } from '../../../receiver/storage/write-batch.js';
import { rejection } from '../../helpers/async.js';

const EFFECTS: BatchEffects = { logs: { accepted: 1, duplicates: 0 }, spans: { accepted: 0, duplicates: 0 }, points: { accepted: 0, duplicates: 0 }, runsEnded: [], stagesEnded: [] };

/** A report that keeps each transaction's records and how it ended. */
function recordingReport() {
  const batches: { records: number; end?: 'committed' | RefusalKind }[] = [];
  const budgets: number[] = [];
  const report: WriterReport = {
    budget: (held) => budgets.push(held),
    startBatch(records): BatchOperation {
      const batch: (typeof batches)[number] = { records };
      batches.push(batch);
      return { committed: () => (batch.end = 'committed'), failed: (kind) => (batch.end = kind) };
    },
  };
  return { batches, budgets, report };
}

/** Requests whose answers are kept by item: 'ok' or the refusal's kind. */
function requests(items: string[]) {
  const answers = new Map<string, string>();
  const batch: Waiting<string>[] = items.map((item) => ({
    item,
    records: item.length,
    resolve: () => answers.set(item, 'ok'),
    reject: (error) => answers.set(item, error.kind),
  }));
  return { answers, batch };
}

describe('committing one batch', () => {
  it('resolves every request after the transaction commits, and reports the batch\'s records once', async () => {
    const { batches, report } = recordingReport();
    const ran: string[][] = [];
    const commit = batchCommitter<string>(report, async (items) => (ran.push(items), EFFECTS));
    const { answers, batch } = requests(['a', 'bb']);
    await commit(batch);
    expect(ran).toEqual([['a', 'bb']]);
    expect([...answers]).toEqual([['a', 'ok'], ['bb', 'ok']]);
    expect(batches).toEqual([{ records: 3, end: 'committed' }]);
  });

  it('rejects every request with a transient refusal, without trying them alone', async () => {
    const { batches, report } = recordingReport();
    const commit = batchCommitter<string>(report, () => Promise.reject(new Refusal('unavailable', 'database unavailable: retry later')));
    const { answers, batch } = requests(['a', 'bb']);
    await commit(batch);
    expect([...answers.values()]).toEqual(['unavailable', 'unavailable']);
    expect(batches).toEqual([{ records: 3, end: 'unavailable' }]);
  });

  it('commits each request alone after a permanent error in a shared batch, so only the bad one fails', async () => {
    const { batches, report } = recordingReport();
    const commit = batchCommitter<string>(report, async (items) => {
      if (items.includes('bad')) throw new Refusal('invalid', 'the database refused this request: value too long');
      return EFFECTS;
    });
    const { answers, batch } = requests(['a', 'bad', 'cc']);
    await commit(batch);
    expect([...answers]).toEqual([['a', 'ok'], ['bad', 'invalid'], ['cc', 'ok']]);
    expect(batches).toEqual([
      { records: 6, end: 'invalid' },
      { records: 1, end: 'committed' },
      { records: 3, end: 'invalid' },
      { records: 2, end: 'committed' },
    ]);
  });
});

describe('the writer', () => {
  const prepared = (): Prepared => ({
    logLines: [], streamLines: new Map(), spanLines: [], logDays: new Set(), spanDays: new Set(),
    pointLines: [], metricStreamLines: new Map(), pointDays: new Set(), candidates: new Map(),
  });
  const partitions = { ensure: () => Promise.resolve() } as unknown as PartitionManager;

  /** A database whose every transaction fails with `refusal`, counting them. */
  function failingDatabase(refusal: Refusal) {
    const db = {
      transactions: 0,
      writeConcurrency: 1,
      transaction<T>(_fn: (tx: Transaction) => Promise<T>): Promise<T> {
        db.transactions++;
        return Promise.reject(refusal);
      },
    };
    return db;
  }

  it('answers a write of no records without a transaction, and a write with the transaction\'s refusal', async () => {
    const refusal = new Refusal('unavailable', 'database unavailable: retry later');
    const db = failingDatabase(refusal);
    const { batches, report } = recordingReport();
    const writer = createWriter({ db: db as unknown as Database, partitions, report, budgetBytes: 100 });
    await expect(writer.write(prepared(), 0)).resolves.toBeUndefined();
    expect(db.transactions).toBe(0);
    expect(await rejection(writer.write(prepared(), 5))).toBe(refusal);
    expect(db.transactions).toBe(1);
    expect(batches).toEqual([{ records: 5, end: 'unavailable' }]);
  });

  it('claims from its budget until closed, then refuses as unavailable', async () => {
    const { budgets, report } = recordingReport();
    const writer = createWriter({ db: failingDatabase(new Refusal('internal', 'unused')) as unknown as Database, partitions, report, budgetBytes: 100 });
    (await writer.claim(40)).release();
    (await writer.deposit(30)).release();
    await expect(writer.claim(101)).rejects.toThrow(/writer memory budget full/);
    await writer.close();
    const closed = expect.objectContaining({ kind: 'unavailable', message: 'the receiver is shutting down: retry later' });
    await expect(writer.claim(1)).rejects.toEqual(closed);
    await expect(writer.deposit(1)).rejects.toEqual(closed);
    expect(budgets).toEqual([0, 40, 0, 30, 0]);
  });
});
