/**
 * What a delivery tells about itself: records held, given up on and delivered, and why the last send
 * failed. Computed from the spool's and the queues' counts when asked.
 */
import type { SpoolStats } from '../spool/spool.js';
import { failureKind, type FailureKind, type Outcome } from './transport.js';

export interface DeliveryStats {
  /** Records in memory, not yet in the spool: what a `kill -9` now would lose. */
  queued: number;
  /** Spool segments and bytes on disk: records not yet acknowledged by the receiver. */
  spooledBatches: number;
  spooledBytes: number;
  /** Records given up on (spool bound, disk refusing ordinary records, kept records past the memory bound while the disk refuses them, refused by the receiver as malformed). */
  dropped: number;
  /** Of `dropped`, the records the receiver refused as malformed (HTTP 400 or 413). */
  refused: number;
  /** Of `dropped`, metric measurements made after their run, stage or the SDK ended, which nothing collects (absent: none). */
  late?: number;
  /** Records not delivered yet: in memory or in the spool, for a later pass or the next process using the spool. */
  undelivered: number;
  /** Records the receiver took. */
  delivered: number;
  receiverDown: boolean;
  /** Why the last send failed, until a later one succeeds; null when none failed since. */
  lastFailure: DeliveryFailure | null;
}

export interface DeliveryFailure {
  kind: FailureKind;
  /** The HTTP status of the answer; null when the receiver did not answer. */
  status: number | null;
  /** The transport's words: `HTTP 401`, `connect ECONNREFUSED 127.0.0.1:4318`. */
  message: string;
}

/** The stats of a delivery that holds nothing: export off, or the application's own providers. */
export const NOTHING_HELD: DeliveryStats = {
  queued: 0,
  spooledBatches: 0,
  spooledBytes: 0,
  dropped: 0,
  refused: 0,
  undelivered: 0,
  delivered: 0,
  receiverDown: false,
  lastFailure: null,
};

/** The stats from the spool's counts, the record queues' counts and the sender's state. */
export function deliveryStats(
  spooled: SpoolStats,
  queues: { buffered: number; unserializable: number },
  sender: { receiverDown: boolean; lastFailure: DeliveryFailure | null },
): DeliveryStats {
  return {
    queued: queues.buffered + spooled.inMemory,
    spooledBatches: spooled.segments,
    spooledBytes: spooled.bytes,
    dropped: spooled.dropped + queues.unserializable,
    refused: spooled.refused,
    undelivered: queues.buffered + spooled.records,
    delivered: spooled.delivered,
    receiverDown: sender.receiverDown,
    lastFailure: sender.lastFailure,
  };
}

/** Why the last send failed, until a later one succeeds. */
export interface FailureMemory {
  record(outcome: Outcome): void;
  last(): DeliveryFailure | null;
}

/** `keySent`: whether requests carry an API key, which tells a refused key from a missing one. */
export function failureMemory(keySent: boolean): FailureMemory {
  let last: DeliveryFailure | null = null;
  return {
    record(outcome) {
      last = outcome.kind === 'ok' ? null : { kind: failureKind(outcome, keySent), status: outcome.status ?? null, message: outcome.reason };
    },
    last: () => last,
  };
}
