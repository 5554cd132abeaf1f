/**
 * The first stage of delivery: records on their way into the write-ahead spool. Records that must never
 * be lost (errors, run and stage records, failed spans) are serialized and appended before `push`
 * returns. Ordinary records wait in memory for at most `bufferMs` (or until a batch is full) and are
 * then appended together: the caller's cost stays an array push, and a `kill -9` loses at most the
 * records of the last buffer interval.
 */
import { Backlog } from './backlog.js';
import type { Spool } from '../spool/spool.js';
import type { Signal } from '../../contract/signal.js';

export interface Channel<T> {
  signal: Signal;
  /** The OTLP request body for these records, as the official exporter would send it. */
  serialize(items: T[]): Uint8Array | undefined;
  mustKeep(item: T): boolean;
  /**
   * Kept records that need not be on disk before `push` returns (default: all kept records must). A
   * successful stage's span is kept but buffered: its end record, written through, already holds the
   * stage's history, and writing the span through too made a stage twice as costly (57 against 28 µs in bench/sdk.ts).
   */
  writeThrough?(item: T): boolean;
}

export interface RecordQueue<T> {
  push(item: T): void;
  /** Appends every buffered record to the spool now (synchronous: also used at process exit). */
  flush(): void;
  /** Records in memory, not yet in the spool. */
  readonly buffered: number;
}

export interface RecordQueueOptions<T> {
  channel: Channel<T>;
  spool: Pick<Spool, 'append'>;
  /** Records per appended frame. */
  maxBatch: number;
  /** Past this many buffered records (a caller that never yields), they are appended on the caller's stack. */
  maxQueue: number;
  bufferMs: number;
  /** Told after each append, with whether it held kept records (which are worth sending at once). */
  onAppend(keep: boolean): void;
  /** Counts records that cannot be serialized. */
  onUnserializable(records: number): void;
  /** Runs `fn` after `ms`; returns a cancel function. Injected by tests to run without real time. */
  setTimer?: (fn: () => void, ms: number) => () => void;
}

export function createRecordQueue<T>(options: RecordQueueOptions<T>): RecordQueue<T> {
  const { channel, spool, maxBatch, maxQueue, bufferMs } = options;
  const setTimer = options.setTimer ?? unrefTimer;
  const buffer = new Backlog<T>(maxBatch);
  const keptBuffer = new Backlog<T>(maxBatch);
  let cancelTimer: (() => void) | null = null;
  let flushQueued = false;

  const append = (items: T[], keep: boolean) => {
    let body: Uint8Array | undefined;
    try {
      body = channel.serialize(items);
    } catch {
      body = undefined;
    }
    // Retrying cannot make records serializable: count them rather than loop on them.
    if (body === undefined) return options.onUnserializable(items.length);
    spool.append(channel.signal, keep, items.length, body);
    options.onAppend(keep);
  };

  const flush = () => {
    cancelTimer?.();
    cancelTimer = null;
    flushQueued = false;
    while (keptBuffer.length > 0) append(keptBuffer.take(maxBatch), true);
    while (buffer.length > 0) append(buffer.take(maxBatch), false);
  };

  return {
    push(item) {
      let buffered: Backlog<T> = buffer;
      if (channel.mustKeep(item)) {
        if (channel.writeThrough?.(item) ?? true) return append([item], true);
        buffered = keptBuffer;
      }
      buffered.push(item);
      if (buffered.length >= maxQueue) flush();
      else if (buffered.length >= maxBatch) {
        // One queued flush per full batch, not one closure and microtask per record.
        if (!flushQueued) {
          flushQueued = true;
          queueMicrotask(flush);
        }
      } else cancelTimer ??= setTimer(flush, bufferMs);
    },
    flush,
    get buffered() {
      return buffer.length + keptBuffer.length;
    },
  };
}

function unrefTimer(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  // A pending flush must never keep a finished pipeline process alive (exit hooks flush it).
  timer.unref();
  return () => clearTimeout(timer);
}
