import { describe, expect, it } from 'vitest';
import { evictWhile, oldestHeldPiece, oldestOrdinary } from '../../../sdk/spool/eviction.js';
import { foundSegment, newSegment, type Segment } from '../../../sdk/spool/segment.js';

const onDisk = (name: string, keep = false, inFlight = false): Segment => ({ ...foundSegment({ name, signal: 'logs', keep, bytes: 10 }), inFlight });
const inMemory = (name: string, inFlight = false): Segment => ({ ...newSegment(name, 'logs', true, null), inFlight });

describe('eviction', () => {
  it('picks the oldest ordinary segment on disk by name, never a kept one, one on the wire or a piece in memory', () => {
    const segments = [onDisk('3.wal'), onDisk('1.wal', true), onDisk('2.wal', false, true), inMemory('0.memory'), onDisk('4.wal')];
    expect(oldestOrdinary(segments)?.name).toBe('3.wal');
    expect(oldestOrdinary([onDisk('1.wal', true), inMemory('0.memory')])).toBeUndefined();
  });

  it('picks the first piece held in memory that is not on the wire', () => {
    expect(oldestHeldPiece([onDisk('0.wal'), inMemory('2.memory', true), inMemory('3.memory'), inMemory('1.memory')])?.name).toBe('3.memory');
    expect(oldestHeldPiece([onDisk('0.wal'), inMemory('1.memory', true)])).toBeUndefined();
  });

  it('drops victims until the budget holds, and says when it cannot', () => {
    const left = [onDisk('1.wal'), onDisk('2.wal'), onDisk('3.wal')];
    const dropped: string[] = [];
    const drop = (victim: Segment) => {
      dropped.push(victim.name);
      left.splice(left.indexOf(victim), 1);
    };
    expect(evictWhile(() => left.length > 1, () => oldestOrdinary(left), drop)).toBe(true);
    expect(dropped).toEqual(['1.wal', '2.wal']);
    expect(evictWhile(() => true, () => oldestOrdinary(left), drop)).toBe(false);
    expect(left).toEqual([]);
    expect(evictWhile(() => false, () => { throw new Error('not asked'); }, drop)).toBe(true);
  });
});
