import { describe, expect, it } from 'vitest';
import { foundSegment, newSegment } from '../../../sdk/spool/segment.js';
import { SegmentTable } from '../../../sdk/spool/segment-table.js';

function tableWithStore() {
  const removed: string[] = [];
  return { removed, table: new SegmentTable({ remove: (name) => removed.push(name) }) };
}

describe('the segment table', () => {
  it('counts bytes on disk and in memory apart, as segments come and frames are added', () => {
    const { table } = tableWithStore();
    const found = foundSegment({ name: 'a.wal', signal: 'logs', keep: false, bytes: 100 });
    const piece = newSegment('b.memory', 'logs', true, null);
    table.add(found);
    table.add(piece);
    table.addFrame(piece, { records: 3, body: new Uint8Array(40) }, 40);
    expect([table.diskBytes, table.heldBytes]).toEqual([100, 40]);
    expect(piece).toMatchObject({ frameCount: 1, unsent: 3, bytes: 40 });
    expect(piece.frames).toHaveLength(1);
  });

  it('forgets a segment: its writer closed, its file removed (none for a piece in memory), its bytes uncounted', () => {
    const { table, removed } = tableWithStore();
    let closed = 0;
    const active = newSegment('a.wal', 'logs', false, { append: () => true, close: () => void closed++ });
    const piece = newSegment('b.memory', 'logs', true, null);
    table.add(active);
    table.add(piece);
    table.addFrame(active, { records: 1, body: new Uint8Array(10) }, 19);
    table.addFrame(piece, { records: 1, body: new Uint8Array(10) }, 10);
    table.forget(active);
    table.forget(piece);
    expect(removed).toEqual(['a.wal']);
    expect([closed, active.writer]).toEqual([1, null]);
    expect([table.diskBytes, table.heldBytes]).toEqual([0, 0]);
    expect([...table]).toEqual([]);
  });

  it('iterates in the order it learnt of segments, and tells a forgotten segment from a new one of the same name', () => {
    const { table } = tableWithStore();
    const [z, a] = [newSegment('z.wal', 'logs', false, null), newSegment('a.wal', 'logs', false, null)];
    table.add(z);
    table.add(a);
    expect([...table].map((s) => s.name)).toEqual(['z.wal', 'a.wal']);
    table.forget(z);
    const again = newSegment('z.wal', 'logs', false, null);
    table.add(again);
    expect([table.has('z.wal'), table.holds(z), table.holds(again)]).toEqual([true, false, true]);
  });
});
