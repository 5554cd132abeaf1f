import { describe, expect, it } from 'vitest';
import { createBatchQueue, type Waiting } from '../../../receiver/ingest/batch-queue.js';
import { Refusal } from '../../../receiver/model/outcome.js';

/** A commit the test finishes by hand: each call's batch (by item) and a way to end it. */
function manualCommit() {
  const calls: { items: string[]; finish(error?: Refusal): void }[] = [];
  const commit = (batch: Waiting<string>[]) =>
    new Promise<void>((done) => {
      calls.push({
        items: batch.map((w) => w.item),
        finish(error) {
          for (const w of batch) (error ? w.reject(error) : w.resolve());
          done();
        },
      });
    });
  return { calls, commit };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the batch queue', () => {
  it('commits at once when idle, and gathers what arrives meanwhile into the next batch, in order', async () => {
    const { calls, commit } = manualCommit();
    const queue = createBatchQueue({ commit, concurrency: 1, maxBatchRecords: 100 });
    const answers = ['a', 'b', 'c'].map((item) => queue.submit(item, 10));
    expect(calls.map((c) => c.items)).toEqual([['a']]);
    calls[0]!.finish();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([['a'], ['b', 'c']]);
    calls[1]!.finish();
    await expect(Promise.all(answers)).resolves.toEqual([undefined, undefined, undefined]);
  });

  it('takes whole requests up to maxBatchRecords, and a larger request alone', async () => {
    const { calls, commit } = manualCommit();
    const queue = createBatchQueue({ commit, concurrency: 1, maxBatchRecords: 100 });
    void queue.submit('first', 1);
    void queue.submit('a', 60);
    void queue.submit('b', 40);
    void queue.submit('c', 1);
    void queue.submit('huge', 500);
    for (let i = 0; i < 4; i++) {
      calls[i]!.finish();
      await tick();
    }
    expect(calls.map((c) => c.items)).toEqual([['first'], ['a', 'b'], ['c'], ['huge']]);
  });

  it('runs up to `concurrency` batches at once', () => {
    const { calls, commit } = manualCommit();
    const queue = createBatchQueue({ commit, concurrency: 2, maxBatchRecords: 100 });
    for (const item of ['a', 'b', 'c']) void queue.submit(item, 1);
    expect(calls.map((c) => c.items)).toEqual([['a'], ['b']]);
  });

  it('passes the commit\'s refusal to the requests of its batch only', async () => {
    const { calls, commit } = manualCommit();
    const queue = createBatchQueue({ commit, concurrency: 1, maxBatchRecords: 100 });
    const first = queue.submit('a', 1);
    const second = queue.submit('b', 1);
    const refusal = new Refusal('unavailable', 'database unavailable: retry later');
    calls[0]!.finish(refusal);
    await expect(first).rejects.toBe(refusal);
    await tick();
    calls[1]!.finish();
    await expect(second).resolves.toBeUndefined();
  });

  it('settles at once when idle, else once the last batch is committed and nothing waits', async () => {
    const { calls, commit } = manualCommit();
    const queue = createBatchQueue({ commit, concurrency: 1, maxBatchRecords: 1 });
    await expect(queue.settled()).resolves.toBeUndefined();
    void queue.submit('a', 1);
    void queue.submit('b', 1);
    let settled = false;
    void queue.settled().then(() => (settled = true));
    calls[0]!.finish();
    await tick();
    expect(settled).toBe(false);
    calls[1]!.finish();
    await tick();
    expect(settled).toBe(true);
  });
});
