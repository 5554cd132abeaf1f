/**
 * One segment as the spool tracks it: a file of frames (this writer's active one, a closed one, or a
 * dead writer's), or a piece of kept records held in memory because the disk refused them.
 */
import type { Frame } from './frames.js';
import type { Signal } from '../../contract/signal.js';
import type { SegmentWriter, SpoolFile } from './segment-store.js';

export interface Segment {
  name: string;
  signal: Signal;
  keep: boolean;
  /** Open for appending: this process's active segment. */
  writer: SegmentWriter | null;
  /** Only in memory: the disk refused it (named like a segment file, so that it sorts by age among them). */
  memoryOnly: boolean;
  /** Held while active or being sent; null once closed (read again from the file when needed). */
  frames: Frame[] | null;
  /** Frames in the segment, when known (this process's, or read). */
  frameCount: number | null;
  /** Frames settled, from the front. */
  sent: number;
  /** Records in the frames not settled yet; null until a dead process's file is read. */
  unsent: number | null;
  bytes: number;
  inFlight: boolean;
  /** After a refusal of several frames at once, frames before this index go one by one. */
  singleUntil: number;
}

/** A segment this process starts: an active file when there is a writer, else a piece held in memory. */
export function newSegment(name: string, signal: Signal, keep: boolean, writer: SegmentWriter | null): Segment {
  return { ...untouched(name, signal, keep), writer, memoryOnly: writer === null, frames: [], frameCount: 0, unsent: 0 };
}

/** A file found in the directory (a dead writer's segment, or a batch file): its frames are read when needed. */
export function foundSegment(file: SpoolFile & { bytes: number }): Segment {
  return { ...untouched(file.name, file.signal, file.keep), writer: null, memoryOnly: false, frames: null, frameCount: null, unsent: null, bytes: file.bytes };
}

/** Lets go of the frames of a closed segment on disk that is not being sent: read again from its file when needed. */
export function releaseFrames(segment: Segment): void {
  if (segment.writer === null && !segment.memoryOnly && !segment.inFlight) segment.frames = null;
}

function untouched(name: string, signal: Signal, keep: boolean) {
  return { name, signal, keep, sent: 0, bytes: 0, inFlight: false, singleUntil: 0 };
}
