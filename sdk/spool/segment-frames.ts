/**
 * The frames of segments, held in memory only while a segment is appended to or sent: a closed
 * segment's are read again from its file when its turn comes, so that a large spool on disk costs no
 * memory.
 */
import type { Frame } from './frames.js';
import { releaseFrames, type Segment } from './segment.js';
import type { SegmentStore } from './segment-store.js';

export class SegmentFrames {
  constructor(private readonly store: Pick<SegmentStore, 'read'>) {}

  /** The frames of `segment`, read from its file if not held; null when its file is gone (another process took it). */
  of(segment: Segment): Frame[] | null {
    if (segment.frames) return segment.frames;
    const frames = this.store.read(segment.name);
    if (frames === null) return null;
    segment.frames = frames;
    segment.frameCount = frames.length;
    segment.unsent ??= frames.slice(segment.sent).reduce((sum, frame) => sum + frame.records, 0);
    return frames;
  }

  /** Records of `segment` not delivered yet: a dead process's file is read once to count them. */
  unsent(segment: Segment): number {
    if (segment.unsent !== null) return segment.unsent;
    this.of(segment);
    // Counted, not sent yet: read again when its turn comes rather than held meanwhile.
    releaseFrames(segment);
    return segment.unsent ?? 0;
  }
}
