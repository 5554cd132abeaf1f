/**
 * Requests waiting for their COMMIT, taken in arrival order as batches of whole requests; at most
 * `concurrency` batches commit at once, and what arrives meanwhile waits for the next one.
 */
import type { Refusal } from '../model/outcome.js';

/** A request waiting for its COMMIT: what it writes, how many records, and how to answer it. */
export interface Waiting<T> {
  item: T;
  records: number;
  resolve(): void;
  reject(error: Refusal): void;
}

export interface BatchQueueOptions<T> {
  /** Commits one batch and answers every request in it. */
  commit(batch: Waiting<T>[]): Promise<void>;
  /** Batches committing at once, at most. */
  concurrency: number;
  /** A batch takes whole requests until it holds this many records; one larger request goes alone. */
  maxBatchRecords: number;
}

export interface BatchQueue<T> {
  /** Resolves after the COMMIT of the batch it went into; rejects with a Refusal. */
  submit(item: T, records: number): Promise<void>;
  /** Resolves once nothing waits and no batch is committing. */
  settled(): Promise<void>;
}

export function createBatchQueue<T>({ commit, concurrency, maxBatchRecords }: BatchQueueOptions<T>): BatchQueue<T> {
  const waiting: Waiting<T>[] = [];
  const onSettled: (() => void)[] = [];
  let committing = 0;

  function pump(): void {
    while (committing < concurrency && waiting.length > 0) {
      const batch = takeBatch(waiting, maxBatchRecords);
      committing++;
      void commit(batch).finally(() => {
        committing--;
        if (waiting.length > 0) pump();
        else if (committing === 0) onSettled.splice(0).forEach((wake) => wake());
      });
    }
  }

  return {
    submit(item, records) {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ item, records, resolve, reject });
        pump();
      });
    },
    async settled() {
      if (waiting.length === 0 && committing === 0) return;
      await new Promise<void>((resolve) => onSettled.push(resolve));
    },
  };
}

/** Takes the first requests of `waiting` while they fit in `maxRecords` together; at least one. */
function takeBatch<T>(waiting: Waiting<T>[], maxRecords: number): Waiting<T>[] {
  const batch: Waiting<T>[] = [];
  let records = 0;
  while (waiting.length > 0 && (batch.length === 0 || records + waiting[0]!.records <= maxRecords)) {
    const next = waiting.shift()!;
    records += next.records;
    batch.push(next);
  }
  return batch;
}
