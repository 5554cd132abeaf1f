/**
 * Which frames go in the next request, and where a segment stands once the receiver answered. Kept
 * records go first, then by age; a segment's frames go in order, consecutive ones joined up to a
 * request's size, one by one after a refusal of several (so that one bad frame drops only its own records).
 */
import type { Frame } from './frames.js';
import type { Segment } from './segment.js';

/**
 * How the receiver answered a batch, as far as the spool cares: delivered, worth sending again, or
 * refused for good. The transport's Outcome kinds, which the compiler holds to these.
 */
export type Answer = 'ok' | 'retry' | 'refused';

export interface Taken {
  frames: number;
  records: number;
  body: Uint8Array;
}

/** What settling a batch did: `retry` and `split` send its frames again (all, or one by one), the others moved past them. */
export type Settled = 'retry' | 'split' | 'refused' | 'delivered';

/** The segments to send from, in order: not on the wire, kept ones first, then by name (by age). */
export function sendOrder(segments: Iterable<Segment>): Segment[] {
  return [...segments]
    .filter((segment) => !segment.inFlight)
    .sort((a, b) => (a.keep !== b.keep ? (a.keep ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The unsent frames of `segment` from its first, up to `maxBytes` of bodies (at least one frame). */
export function takeFrames(segment: Segment, frames: Frame[], maxBytes: number): Taken {
  let end = segment.sent + 1;
  let bytes = frames[segment.sent]!.body.byteLength;
  if (end > segment.singleUntil) {
    while (end < frames.length && bytes + frames[end]!.body.byteLength <= maxBytes) bytes += frames[end++]!.body.byteLength;
  }
  const taken = frames.slice(segment.sent, end);
  // Concatenated OTLP messages are one message whose repeated fields are joined (protobuf encoding
  // spec, "Last One Wins" / merging): one request for many frames, each frame's bytes unchanged.
  const body = taken.length === 1 ? taken[0]!.body : Buffer.concat(taken.map((frame) => frame.body));
  return { frames: taken.length, records: taken.reduce((sum, frame) => sum + frame.records, 0), body };
}

/** Moves `segment` past `taken` by the receiver's answer, or marks them to go again. */
export function settleTaken(segment: Segment, taken: Taken, outcome: Answer): Settled {
  segment.inFlight = false;
  if (outcome === 'retry') return 'retry';
  if (outcome === 'refused' && taken.frames > 1) {
    // One bad frame must not take the others with it: send them one by one to find it.
    segment.singleUntil = segment.sent + taken.frames;
    return 'split';
  }
  segment.sent += taken.frames;
  segment.unsent! -= taken.records;
  return outcome === 'refused' ? 'refused' : 'delivered';
}
