import { describe, expect, it } from 'vitest';
import type { Frame } from '../../../sdk/spool/frames.js';
import { foundSegment } from '../../../sdk/spool/segment.js';
import { SegmentFrames } from '../../../sdk/spool/segment-frames.js';

const frame = (records: number): Frame => ({ records, body: new Uint8Array([records]) });

/** A store whose files are in `files`, counting reads. */
function storeOf(files: Record<string, Frame[]>) {
  const store = { reads: 0, read: (name: string) => (store.reads++, files[name] ?? null) };
  return store;
}

describe('the frames of segments', () => {
  it('reads a closed file once and holds its frames, counting the records not sent', () => {
    const store = storeOf({ 'a.wal': [frame(2), frame(3), frame(4)] });
    const frames = new SegmentFrames(store);
    const segment = { ...foundSegment({ name: 'a.wal', signal: 'logs', keep: false, bytes: 30 }), sent: 1 };
    expect(frames.of(segment)!.map((f) => f.records)).toEqual([2, 3, 4]);
    expect(frames.of(segment)).toBe(segment.frames);
    expect(store.reads).toBe(1);
    expect(segment).toMatchObject({ frameCount: 3, unsent: 7 });
  });

  it('counts a dead writer\'s records by reading its file once, and does not hold the frames meanwhile', () => {
    const store = storeOf({ 'a.wal': [frame(2), frame(5)] });
    const frames = new SegmentFrames(store);
    const segment = foundSegment({ name: 'a.wal', signal: 'logs', keep: false, bytes: 30 });
    expect(frames.unsent(segment)).toBe(7);
    expect(frames.unsent(segment)).toBe(7);
    expect(store.reads).toBe(1);
    expect(segment.frames).toBeNull();
  });

  it('answers null for a file gone (taken by another process), and counts nothing in it', () => {
    const frames = new SegmentFrames(storeOf({}));
    const segment = foundSegment({ name: 'gone.wal', signal: 'logs', keep: false, bytes: 30 });
    expect(frames.of(segment)).toBeNull();
    expect(frames.unsent(segment)).toBe(0);
  });
});
