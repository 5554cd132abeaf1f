/**
 * This writer's active segments: one per signal and kind (kept records apart from ordinary ones), so
 * that evicting ordinary records never has to skip a segment because it also holds an error. A segment
 * is closed at `segmentBytes`, or when the disk stopped taking it: the next append starts a new file.
 */
import type { Signal } from '../../contract/signal.js';
import { newSegment, releaseFrames, type Segment } from './segment.js';
import type { SegmentNamer } from './segment-name.js';
import type { SegmentStore } from './segment-store.js';
import type { SegmentTable } from './segment-table.js';

export class Appender {
  private readonly active = new Map<string, Segment>();

  constructor(
    private readonly store: Pick<SegmentStore, 'create'>,
    private readonly namer: SegmentNamer,
    private readonly table: SegmentTable,
    private readonly segmentBytes: number,
  ) {}

  /** Appends one frame (`bytes` on disk, header included) to the active segment; false when the disk refuses it. */
  append(signal: Signal, keep: boolean, records: number, body: Uint8Array, bytes: number): boolean {
    const segment = this.activeFor(signal, keep);
    if (segment && segment.writer!.append(records, body)) {
      this.table.addFrame(segment, { records, body }, bytes);
      if (segment.bytes >= this.segmentBytes) this.seal(segment);
      return true;
    }
    // A segment the disk stopped taking is not appended to again; the next append tries a new file.
    if (segment) this.seal(segment);
    return false;
  }

  /** Closes the files being appended to; their frames are read back only when sent. */
  close(): void {
    for (const segment of [...this.active.values()]) this.seal(segment);
  }

  /** The open segment of this signal and kind, a new one when there is none (or it was forgotten); null when the disk refuses a file. */
  private activeFor(signal: Signal, keep: boolean): Segment | null {
    const current = this.active.get(`${signal}/${keep}`);
    if (current?.writer) return current;
    const name = this.namer.segment(signal, keep);
    const writer = this.store.create(name);
    if (!writer) return null;
    const segment = newSegment(name, signal, keep, writer);
    this.table.add(segment);
    this.active.set(`${signal}/${keep}`, segment);
    return segment;
  }

  private seal(segment: Segment): void {
    segment.writer?.close();
    segment.writer = null;
    if (this.active.get(`${segment.signal}/${segment.keep}`) === segment) this.active.delete(`${segment.signal}/${segment.keep}`);
    releaseFrames(segment);
  }
}
