import { describe, expect, it } from 'vitest';
import { foundSegment, newSegment, releaseFrames } from '../../../sdk/spool/segment.js';

const writer = { append: () => true, close: () => undefined };

describe('a segment', () => {
  it('starts empty and known when this process opens it, in memory only when it has no writer', () => {
    const active = newSegment('a.wal', 'logs', false, writer);
    expect(active).toMatchObject({ memoryOnly: false, frames: [], frameCount: 0, unsent: 0, sent: 0, bytes: 0, inFlight: false });
    expect(newSegment('a.memory', 'logs', true, null)).toMatchObject({ memoryOnly: true, keep: true, writer: null });
  });

  it('found on disk, knows only its size until read', () => {
    const found = foundSegment({ name: 'b.wal', signal: 'traces', keep: true, bytes: 42 });
    expect(found).toMatchObject({ signal: 'traces', keep: true, bytes: 42, frames: null, frameCount: null, unsent: null, memoryOnly: false, writer: null });
  });

  it('lets go of its frames only when closed, on disk and not on the wire', () => {
    const frames = [{ records: 1, body: new Uint8Array(1) }];
    const active = { ...newSegment('a.wal', 'logs', false, writer), frames };
    const closed = { ...newSegment('b.wal', 'logs', false, null), memoryOnly: false, frames };
    const onWire = { ...closed, inFlight: true, frames };
    const held = { ...newSegment('c.memory', 'logs', true, null), frames };
    for (const segment of [active, closed, onWire, held]) releaseFrames(segment);
    expect([active.frames, closed.frames, onWire.frames, held.frames]).toEqual([frames, null, frames, frames]);
  });
});
