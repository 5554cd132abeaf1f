/**
 * The record queues of one delivery, one per channel (logs, traces), into the same spool: flushed
 * together, counted together.
 */
import type { Config } from './config.js';
import { createRecordQueue, type Channel, type RecordQueue } from './record-queue.js';
import type { Spool } from '../spool/spool.js';

export interface QueueSet {
  /** A new queue for one channel's records. */
  add<T>(channel: Channel<T>): RecordQueue<T>;
  /** Appends every queue's buffered records to the spool now (synchronous: also used at process exit). */
  flush(): void;
  /** Records in the queues' memory, and records given up on because they could not be serialized. */
  counts(): { buffered: number; unserializable: number };
}

export interface QueueSetOptions {
  spool: Pick<Spool, 'append'>;
  config: Pick<Config, 'maxBatch' | 'maxQueue' | 'bufferMs'>;
  /** Told after each append, with whether it held kept records. */
  onAppend(keep: boolean): void;
}

export function createQueueSet({ spool, config, onAppend }: QueueSetOptions): QueueSet {
  const queues: RecordQueue<unknown>[] = [];
  let unserializable = 0;
  return {
    add<T>(channel: Channel<T>) {
      const queue = createRecordQueue<T>({
        channel,
        spool,
        maxBatch: config.maxBatch,
        maxQueue: config.maxQueue,
        bufferMs: config.bufferMs,
        onAppend,
        onUnserializable: (records) => {
          unserializable += records;
        },
      });
      queues.push(queue as RecordQueue<unknown>);
      return queue;
    },
    flush() {
      for (const queue of queues) queue.flush();
    },
    counts: () => ({ buffered: queues.reduce((sum, queue) => sum + queue.buffered, 0), unserializable }),
  };
}
