import { describe, expect, it } from 'vitest';
import type { Frame } from '../../../sdk/spool/frames.js';
import { sendOrder, settleTaken, takeFrames } from '../../../sdk/spool/batching.js';
import { newSegment, type Segment } from '../../../sdk/spool/segment.js';

/** Frames of `bytes` bytes each, filled with their index, holding index + 1 records. */
const framesOf = (...bytes: number[]): Frame[] => bytes.map((n, i) => ({ records: i + 1, body: new Uint8Array(n).fill(i) }));

function segmentWith(frames: Frame[]): Segment {
  const records = frames.reduce((sum, f) => sum + f.records, 0);
  return { ...newSegment('a.wal', 'logs', false, null), memoryOnly: false, frames, frameCount: frames.length, unsent: records };
}

describe('batching', () => {
  it('sends kept segments first, then by name, and none on the wire', () => {
    const segment = (name: string, keep: boolean, inFlight = false): Segment => ({ ...newSegment(name, 'logs', keep, null), inFlight });
    const order = sendOrder([segment('3', false), segment('2', true), segment('1', false), segment('0', true, true), segment('4', true)]);
    expect(order.map((s) => s.name)).toEqual(['2', '4', '1', '3']);
  });

  it('joins consecutive frames up to the request size, at least one, their bodies unchanged', () => {
    const frames = framesOf(4, 4, 4, 10);
    const segment = segmentWith(frames);
    const taken = takeFrames(segment, frames, 12);
    expect([taken.frames, taken.records, [...taken.body]]).toEqual([3, 6, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]]);
    segment.sent = 3;
    expect(takeFrames(segment, frames, 1)).toMatchObject({ frames: 1, records: 4 });
    expect(takeFrames(segment, frames, 1).body).toBe(frames[3]!.body);
  });

  it('moves past frames delivered or refused, and leaves them for a retry', () => {
    const frames = framesOf(4, 4);
    const segment = segmentWith(frames);
    const taken = takeFrames(segment, frames, 100);
    segment.inFlight = true;
    expect(settleTaken(segment, taken, 'retry')).toBe('retry');
    expect(segment).toMatchObject({ sent: 0, unsent: 3, inFlight: false });
    expect(settleTaken(segment, taken, 'ok')).toBe('delivered');
    expect(segment).toMatchObject({ sent: 2, unsent: 0 });
    const one = segmentWith(framesOf(4));
    expect(settleTaken(one, takeFrames(one, one.frames!, 100), 'refused')).toBe('refused');
    expect(one).toMatchObject({ sent: 1, unsent: 0 });
  });

  it('after a refusal of several frames, sends those one by one, then joins again', () => {
    const frames = framesOf(4, 4, 4);
    const segment = segmentWith(frames);
    const first = takeFrames(segment, frames, 8);
    expect(settleTaken(segment, first, 'refused')).toBe('split');
    expect(segment).toMatchObject({ sent: 0, singleUntil: 2, unsent: 6 });
    expect(takeFrames(segment, frames, 100).frames).toBe(1);
    settleTaken(segment, takeFrames(segment, frames, 100), 'ok');
    expect(takeFrames(segment, frames, 100).frames).toBe(1);
    settleTaken(segment, takeFrames(segment, frames, 100), 'refused');
    expect(segment).toMatchObject({ sent: 2, unsent: 3 });
    // Past the refused ones, frames are joined again.
    segment.frames!.push({ records: 1, body: new Uint8Array(1) });
    expect(takeFrames(segment, segment.frames!, 100).frames).toBe(2);
  });
});
