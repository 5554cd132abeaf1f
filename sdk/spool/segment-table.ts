/**
 * The segments a spool knows, in the order it learnt of them, and the bytes they hold on disk and in
 * memory: the two totals its bounds are checked against.
 */
import type { Frame } from './frames.js';
import type { Segment } from './segment.js';
import type { SegmentStore } from './segment-store.js';

export class SegmentTable implements Iterable<Segment> {
  private readonly byName = new Map<string, Segment>();
  private disk = 0;
  private held = 0;

  constructor(private readonly store: Pick<SegmentStore, 'remove'>) {}

  get diskBytes(): number {
    return this.disk;
  }

  get heldBytes(): number {
    return this.held;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Whether `segment` is still tracked (not forgotten meanwhile). */
  holds(segment: Segment): boolean {
    return this.byName.get(segment.name) === segment;
  }

  add(segment: Segment): void {
    this.byName.set(segment.name, segment);
    this.count(segment, segment.bytes);
  }

  /** Records a frame appended to `segment` (`bytes` as it takes them, on disk or in memory). */
  addFrame(segment: Segment, frame: Frame, bytes: number): void {
    (segment.frames ??= []).push(frame);
    segment.frameCount = (segment.frameCount ?? 0) + 1;
    segment.unsent! += frame.records;
    segment.bytes += bytes;
    this.count(segment, bytes);
  }

  /** Drops a segment settled in full, evicted, or gone: its writer closed, its file deleted. */
  forget(segment: Segment): void {
    this.byName.delete(segment.name);
    segment.writer?.close();
    segment.writer = null;
    this.count(segment, -segment.bytes);
    if (!segment.memoryOnly) this.store.remove(segment.name);
  }

  [Symbol.iterator](): Iterator<Segment> {
    return this.byName.values();
  }

  private count(segment: Segment, bytes: number): void {
    if (segment.memoryOnly) this.held += bytes;
    else this.disk += bytes;
  }
}
