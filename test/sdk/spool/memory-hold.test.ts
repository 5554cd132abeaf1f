import { describe, expect, it } from 'vitest';
import { MemoryHold } from '../../../sdk/spool/memory-hold.js';
import type { Segment } from '../../../sdk/spool/segment.js';
import { SegmentNamer } from '../../../sdk/spool/segment-name.js';
import { SegmentTable } from '../../../sdk/spool/segment-table.js';

/** A hold of `maxBytes` (pieces of an eighth of it), recording what it drops. */
function holdOf(maxBytes: number) {
  const table = new SegmentTable({ remove: () => undefined });
  const dropped: Segment[] = [];
  const drop = (victim: Segment) => {
    dropped.push(victim);
    table.forget(victim);
  };
  const hold = new MemoryHold(maxBytes, new SegmentNamer({ pid: 1, instance: '0a1b2c3d' }, () => 1_700_000_000_000), table, drop);
  return { table, dropped, hold };
}

const body = (bytes: number) => new Uint8Array(bytes);

describe('the memory hold', () => {
  it('holds kept records in pieces of an eighth of its bound, one piece at a time per signal', () => {
    const { table, hold } = holdOf(800);
    for (let i = 0; i < 3; i++) hold.hold('logs', 2, body(50));
    hold.hold('traces', 1, body(10));
    const pieces = [...table];
    expect(pieces.map((p) => [p.signal, p.keep, p.memoryOnly, p.frameCount, p.unsent])).toEqual([
      ['logs', true, true, 2, 4],
      ['logs', true, true, 1, 2],
      ['traces', true, true, 1, 1],
    ]);
    expect(pieces.every((p) => p.name.endsWith('.memory'))).toBe(true);
    expect(table.heldBytes).toBe(160);
  });

  it('starts a new piece rather than add to one on the wire, or one dropped meanwhile', () => {
    const { table, hold } = holdOf(8000);
    hold.hold('logs', 1, body(10));
    const first = [...table][0]!;
    first.inFlight = true;
    hold.hold('logs', 1, body(10));
    expect(first.frameCount).toBe(1);
    const second = [...table][1]!;
    table.forget(second);
    hold.hold('logs', 1, body(10));
    expect(second.frameCount).toBe(1);
    expect([...table]).toHaveLength(2);
  });

  it('drops the oldest pieces past its bound, never the one on the wire', () => {
    const { table, dropped, hold } = holdOf(800);
    hold.hold('logs', 1, body(100));
    const onWire = [...table][0]!;
    onWire.inFlight = true;
    for (let i = 0; i < 10; i++) hold.hold('logs', 1, body(100));
    expect(table.heldBytes).toBeLessThanOrEqual(800 + 100);
    expect(table.holds(onWire)).toBe(true);
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.includes(onWire)).toBe(false);
    // Oldest first: every piece dropped was started before every piece kept but the one on the wire.
    const seq = (piece: Segment) => Number(piece.name.split('-')[3]);
    const kept = [...table].filter((p) => p !== onWire);
    expect(Math.max(...dropped.map(seq))).toBeLessThan(Math.min(...kept.map(seq)));
  });
});
