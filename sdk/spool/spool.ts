/**
 * The write-ahead spool: every record is appended to a local segment file before it is exported, so
 * that a process killed with `kill -9` leaves its records on disk (in the OS's page cache, which
 * outlives the process) and the next start with the same spool sends them. Export reads from here
 * too: a live export and a replay are the same path, and send the same bytes.
 *
 * - One active segment per signal and kind (kept records, i.e. errors and run/stage records, apart
 *   from ordinary ones), so that evicting ordinary records under the byte bound never has to skip a
 *   segment because it also holds an error. A segment is closed at `segmentBytes` and deleted once
 *   every frame in it was acknowledged (or refused).
 * - Segments of a dead process (see owner.ts) are taken over at open and on later scans.
 * - Bounded in bytes: the oldest ordinary segments go first; kept records are written even past the
 *   bound. When the disk refuses a write, kept records stay in memory (sent from there) up to an eighth
 *   of the bound, the oldest dropped past it; ordinary ones are counted as dropped, as is every record
 *   evicted or refused by the receiver.
 *
 * The parts, in spool/: the files on disk (segment-store), the active segments appended to (appender),
 * what goes over a bound (eviction), kept records held in memory (memory-hold), dead writers' files
 * (takeover), and what goes in a request (batching). This module composes them.
 */
import { FRAME_HEADER_BYTES } from './frames.js';
import { claimOwner, isAlive, type Claim, type Liveness } from './owner.js';
import { Appender } from './appender.js';
import { sendOrder, settleTaken, takeFrames, type Answer, type Settled } from './batching.js';
import { evictWhile, oldestOrdinary } from './eviction.js';
import { MemoryHold } from './memory-hold.js';
import { releaseFrames, type Segment } from './segment.js';
import { SegmentFrames } from './segment-frames.js';
import { SegmentNamer } from './segment-name.js';
import { SegmentStore } from './segment-store.js';
import { SegmentTable } from './segment-table.js';
import { Takeover } from './takeover.js';
import type { Signal } from '../../contract/signal.js';


export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  /** A segment is closed once it holds this many bytes (default: an eighth of maxBytes, 4 MiB at most). */
  segmentBytes?: number;
  /** fsync every append: survives a power cut too, at the cost of a disk flush per write. */
  fsync?: boolean;
  /** How often to look for segments left by processes that died meanwhile (default 30 s). */
  rescanMs?: number;
  now?: () => number;
  alive?: Liveness;
  owner?: Claim;
}

/** Frames on their way to the receiver; `settle` with the transport's answer. */
export interface PendingBatch {
  signal: Signal;
  body: Uint8Array;
  records: number;
  settle(outcome: Answer): void;
}

export interface SpoolStats {
  /** Segment files on disk, and their bytes. */
  segments: number;
  bytes: number;
  /** Records not delivered yet, on disk or in memory. */
  records: number;
  /** Kept records held in memory only, because the disk refused them. */
  inMemory: number;
  /** Records given up on: evicted under the bound (on disk or in memory), refused by the disk or by the receiver. */
  dropped: number;
  /** Of `dropped`, the records the receiver refused as malformed. */
  refused: number;
  /** Records the receiver took. */
  delivered: number;
}

export interface Spool {
  /** Appends one frame (an OTLP request body of `records` records). Never throws. */
  append(signal: Signal, keep: boolean, records: number, body: Uint8Array): void;
  /** The oldest unsent frames of one segment, kept records first, up to `maxBytes` (at least one frame). */
  next(maxBytes: number): PendingBatch | undefined;
  stats(): SpoolStats;
  /** Closes the files being appended to; what is not delivered stays for the next start (of this process too). */
  close(): void;
}

/** Records given up on or delivered, for `stats()`. */
interface Counts {
  dropped: number;
  refused: number;
  delivered: number;
}

export function openSpool(options: SpoolOptions): Spool {
  const { dir, maxBytes } = options;
  const segmentBytes = options.segmentBytes ?? Math.max(1024, Math.min(4 * 2 ** 20, Math.floor(maxBytes / 8)));
  const now = options.now ?? Date.now;
  const owner = options.owner ?? claimOwner();
  const store = new SegmentStore(dir, options.fsync ?? false);
  const namer = new SegmentNamer(owner, now);
  const table = new SegmentTable(store);
  const frames = new SegmentFrames(store);
  const counts: Counts = { dropped: 0, refused: 0, delivered: 0 };
  const drop = (victim: Segment) => {
    counts.dropped += frames.unsent(victim);
    table.forget(victim);
  };
  const appender = new Appender(store, namer, table, segmentBytes);
  // At most an eighth of the disk bound (32 MiB by default) held in memory.
  const held = new MemoryHold(Math.floor(maxBytes / 8), namer, table, drop);
  const takeover = new Takeover(store, table, options.alive ?? isAlive, now, options.rescanMs ?? 30_000);
  takeover.scan();

  /** Evicts the oldest ordinary segments until `bytes` more fit on disk; false if they cannot. */
  const makeRoom = (bytes: number) => evictWhile(() => table.diskBytes + bytes > maxBytes, () => oldestOrdinary(table), drop);

  return {
    append(signal, keep, records, body) {
      const bytes = FRAME_HEADER_BYTES + body.byteLength;
      if ((keep || makeRoom(bytes)) && appender.append(signal, keep, records, body, bytes)) return;
      if (keep) held.hold(signal, records, body);
      // Ordinary records are not held in memory instead: memory must stay bounded while the disk is gone.
      else counts.dropped += records;
    },

    next(maxRequestBytes) {
      takeover.scanIfDue();
      for (const segment of sendOrder(table)) {
        const segmentFrames = frames.of(segment);
        if (segmentFrames === null) {
          table.forget(segment);
          continue;
        }
        if (segment.sent >= segmentFrames.length) {
          // Nothing (valid) left: an empty or cut-short file of a dead process, or a closed segment sent in full.
          if (segment.writer === null) table.forget(segment);
          continue;
        }
        const taken = takeFrames(segment, segmentFrames, maxRequestBytes);
        segment.inFlight = true;
        return {
          signal: segment.signal,
          body: taken.body,
          records: taken.records,
          settle: (outcome) => account(table, counts, segment, taken.records, settleTaken(segment, taken, outcome)),
        };
      }
      return undefined;
    },

    stats() {
      let onDisk = 0;
      let inMemory = 0;
      let records = 0;
      for (const segment of table) {
        const unsent = frames.unsent(segment);
        records += unsent;
        if (segment.memoryOnly) inMemory += unsent;
        else onDisk++;
      }
      return { segments: onDisk, bytes: table.diskBytes, records, inMemory, ...counts };
    },

    close() {
      appender.close();
      owner.release();
    },
  };
}

/** Counts a settled batch's records, and lets go of its segment once every frame in it is settled. */
function account(table: SegmentTable, counts: Counts, segment: Segment, records: number, settled: Settled): void {
  if (settled === 'split') return;
  if (settled === 'refused') {
    counts.dropped += records;
    counts.refused += records;
  } else if (settled === 'delivered') {
    counts.delivered += records;
  }
  if (settled !== 'retry' && segment.sent >= (segment.frameCount ?? Number.POSITIVE_INFINITY) && table.holds(segment)) {
    // Delivered in full: the active segment too (the next append starts a new one).
    table.forget(segment);
  } else {
    releaseFrames(segment);
  }
}
