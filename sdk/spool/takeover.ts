/**
 * Taking over the files no live writer holds: segments of processes that died, and batch files of the
 * earlier spool. A live writer's segments are its own: another process must not replay and delete a
 * segment still being appended to. Looked for at open, and again every `rescanMs` while sending.
 */
import type { Liveness } from './owner.js';
import { foundSegment } from './segment.js';
import type { SegmentStore } from './segment-store.js';
import type { SegmentTable } from './segment-table.js';

export class Takeover {
  private lastScan = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: Pick<SegmentStore, 'list'>,
    private readonly table: SegmentTable,
    private readonly alive: Liveness,
    private readonly now: () => number,
    private readonly rescanMs: number,
  ) {}

  scan(): void {
    this.lastScan = this.now();
    const files = this.store.list((file) => !this.table.has(file.name) && !(file.writer && this.alive(file.writer)));
    for (const file of files) this.table.add(foundSegment(file));
  }

  scanIfDue(): void {
    if (this.now() - this.lastScan >= this.rescanMs) this.scan();
  }
}
