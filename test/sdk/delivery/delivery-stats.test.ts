import { describe, expect, it } from 'vitest';
import { deliveryStats, failureMemory, NOTHING_HELD } from '../../../sdk/delivery/delivery-stats.js';
import type { SpoolStats } from '../../../sdk/spool/spool.js';

const SPOOLED: SpoolStats = { segments: 2, bytes: 4096, records: 50, inMemory: 3, dropped: 4, refused: 1, delivered: 900 };

describe('delivery stats', () => {
  it('adds the records in the queues to those the spool holds, and the unserializable ones to those dropped', () => {
    const failure = { kind: 'unavailable' as const, status: 503, message: 'HTTP 503' };
    expect(deliveryStats(SPOOLED, { buffered: 7, unserializable: 2 }, { receiverDown: true, lastFailure: failure })).toEqual({
      queued: 10,
      spooledBatches: 2,
      spooledBytes: 4096,
      dropped: 6,
      refused: 1,
      undelivered: 57,
      delivered: 900,
      receiverDown: true,
      lastFailure: failure,
    });
  });

  it('holds nothing when nothing was spooled, queued or tried', () => {
    const empty: SpoolStats = { segments: 0, bytes: 0, records: 0, inMemory: 0, dropped: 0, refused: 0, delivered: 0 };
    expect(deliveryStats(empty, { buffered: 0, unserializable: 0 }, { receiverDown: false, lastFailure: null })).toEqual(NOTHING_HELD);
  });
});

describe('the last failure', () => {
  it('keeps the last failed send until one succeeds', () => {
    const failures = failureMemory(true);
    expect(failures.last()).toBeNull();
    failures.record({ kind: 'retry', reason: 'connect ECONNREFUSED 127.0.0.1:4318' });
    expect(failures.last()).toEqual({ kind: 'unavailable', status: null, message: 'connect ECONNREFUSED 127.0.0.1:4318' });
    failures.record({ kind: 'retry', status: 401, reason: 'HTTP 401' });
    expect(failures.last()).toEqual({ kind: 'key-refused', status: 401, message: 'HTTP 401' });
    failures.record({ kind: 'ok' });
    expect(failures.last()).toBeNull();
  });

  it('tells a missing key from a refused one by whether a key was sent', () => {
    const failures = failureMemory(false);
    failures.record({ kind: 'retry', status: 401, reason: 'HTTP 401' });
    expect(failures.last()?.kind).toBe('no-key');
  });
});
