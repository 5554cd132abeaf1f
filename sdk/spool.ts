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
 */
import fs from 'node:fs';
import path from 'node:path';
import { syncDir } from './durable-file.js';
import { FRAME_HEADER_BYTES, frameHeader, readFrames, type Frame } from './frames.js';
import { claimOwner, isAlive, type Claim, type Liveness } from './owner.js';
import type { Outcome, Signal } from './transport.js';

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
  settle(outcome: Outcome['kind']): void;
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

interface Segment {
  name: string;
  signal: Signal;
  keep: boolean;
  /** Open for appending: this process's active segment. */
  fd: number | null;
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

// <ms>-<pid>-<instance>-<seq>-<signal>-<e|n>.wal: sortable by age, with its writer and kind in the name.
const SEGMENT = /^(\d{13})-(\d+)-([0-9a-f]{8})-(\d+)-(logs|traces)-([en])\.wal$/;
// One batch per file, as the spool before the write-ahead design wrote them: still replayed after an upgrade.
const BATCH_FILE = /^(\d{13})-(\d+)-(\d+)-(logs|traces)-([en])-(\d+)\.otlp$/;

/** The bytes of records that a spool directory holds (0 when there is none): what is still to send from it. */
export function spooledBytesIn(dir: string): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  return names
    .filter((name) => SEGMENT.test(name) || BATCH_FILE.test(name))
    .reduce((sum, name) => sum + (fs.statSync(path.join(dir, name), { throwIfNoEntry: false })?.size ?? 0), 0);
}

export function openSpool(options: SpoolOptions): Spool {
  const { dir, maxBytes } = options;
  const segmentBytes = options.segmentBytes ?? Math.max(1024, Math.min(4 * 2 ** 20, Math.floor(maxBytes / 8)));
  const now = options.now ?? Date.now;
  const alive = options.alive ?? isAlive;
  const owner = options.owner ?? claimOwner();
  const rescanMs = options.rescanMs ?? 30_000;
  // Kept records the disk refused, held in memory: at most an eighth of the disk bound (32 MiB by
  // default), in pieces of an eighth of that, so that the oldest go a piece at a time as ordinary
  // segments do on disk. Dropping frame by frame would cost a splice per append once at the bound:
  // measured 50 µs with 10k frames held, 440 µs with 100k (Node 20), where a piece costs a push.
  const heldMaxBytes = Math.floor(maxBytes / 8);
  const heldPieceBytes = Math.max(1, Math.floor(heldMaxBytes / 8));
  const segments = new Map<string, Segment>();
  const active = new Map<string, Segment>();
  /** The piece each signal's refused kept records go to. */
  const holding = new Map<Signal, Segment>();
  let diskBytes = 0;
  let heldBytes = 0;
  let dropped = 0;
  let refused = 0;
  let delivered = 0;
  let seq = 0;
  let lastScan = Number.NEGATIVE_INFINITY;

  const file = (segment: Segment) => path.join(dir, segment.name);

  /** Segments of dead processes, and batch files of the earlier design; never a live process's. */
  const scan = () => {
    lastScan = now();
    let names: string[];
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (segments.has(name)) continue;
      const segment = SEGMENT.exec(name);
      const batch = segment ? null : BATCH_FILE.exec(name);
      if (!segment && !batch) continue;
      if (segment && alive({ pid: Number(segment[2]), instance: segment[3]! })) continue;
      let bytes: number;
      try {
        bytes = fs.statSync(path.join(dir, name)).size;
      } catch {
        continue;
      }
      const [signal, kind] = segment ? [segment[5], segment[6]] : [batch![4], batch![5]];
      segments.set(name, {
        name,
        signal: signal as Signal,
        keep: kind === 'e',
        fd: null,
        memoryOnly: false,
        frames: null,
        frameCount: null,
        sent: 0,
        unsent: null,
        bytes,
        inFlight: false,
        singleUntil: 0,
      });
      diskBytes += bytes;
    }
  };

  /** The frames of a segment not held in memory; null when its file is gone (another process took it). */
  const load = (segment: Segment): Frame[] | null => {
    if (segment.frames) return segment.frames;
    let content: Buffer;
    try {
      content = fs.readFileSync(file(segment));
    } catch {
      return null;
    }
    const legacy = BATCH_FILE.exec(segment.name);
    segment.frames = legacy ? [{ records: Number(legacy[6]), body: content }] : readFrames(content);
    segment.frameCount = segment.frames.length;
    segment.unsent ??= segment.frames.slice(segment.sent).reduce((sum, frame) => sum + frame.records, 0);
    return segment.frames;
  };

  /** Records of `segment` not delivered yet: a dead process's file is read once to count them. */
  const unsentRecords = (segment: Segment): number => {
    if (segment.unsent !== null) return segment.unsent;
    load(segment);
    // Counted, not sent yet: read again when its turn comes rather than held meanwhile.
    if (!segment.inFlight) segment.frames = null;
    return segment.unsent ?? 0;
  };

  const forget = (segment: Segment) => {
    segments.delete(segment.name);
    if (active.get(`${segment.signal}/${segment.keep}`) === segment) active.delete(`${segment.signal}/${segment.keep}`);
    if (segment.fd !== null) closeQuietly(segment.fd);
    segment.fd = null;
    if (segment.memoryOnly) {
      heldBytes -= segment.bytes;
      return;
    }
    diskBytes -= segment.bytes;
    try {
      fs.rmSync(file(segment), { force: true });
    } catch {
      // Left on disk, it is sent again at the next start and stored once by the receiver.
    }
  };

  /** Closes a full segment: appends go to a new one, and its frames are read back only when sent. */
  const seal = (segment: Segment) => {
    if (segment.fd !== null) closeQuietly(segment.fd);
    segment.fd = null;
    active.delete(`${segment.signal}/${segment.keep}`);
    if (!segment.inFlight && !segment.memoryOnly) segment.frames = null;
  };

  const segmentOf = (name: string, signal: Signal, keep: boolean, fd: number | null): Segment => ({
    name,
    signal,
    keep,
    fd,
    memoryOnly: fd === null,
    frames: [],
    frameCount: 0,
    sent: 0,
    unsent: 0,
    bytes: 0,
    inFlight: false,
    singleUntil: 0,
  });

  /** A new active segment file; null when the disk refuses it. */
  const openSegment = (signal: Signal, keep: boolean): Segment | null => {
    const name = `${now()}-${owner.pid}-${owner.instance}-${seq++}-${signal}-${keep ? 'e' : 'n'}.wal`;
    let fd: number;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fd = fs.openSync(path.join(dir, name), 'a', 0o600);
    } catch {
      return null;
    }
    if (options.fsync) syncDir(dir);
    const segment = segmentOf(name, signal, keep, fd);
    segments.set(name, segment);
    active.set(`${signal}/${keep}`, segment);
    return segment;
  };

  /** Kept records the disk refused: held in memory and sent from there (a copy survives only while we run). */
  const hold = (signal: Signal, records: number, body: Uint8Array) => {
    let segment = holding.get(signal);
    // A new piece when the last is full, on the wire (which keeps it from being dropped), or gone.
    if (!segment || segment.bytes >= heldPieceBytes || segment.inFlight || segments.get(segment.name) !== segment) {
      const name = `${now()}-${owner.pid}-${owner.instance}-${seq++}-${signal}-e.memory`;
      segments.set(name, (segment = segmentOf(name, signal, true, null)));
      holding.set(signal, segment);
    }
    segment.frames!.push({ records, body });
    segment.frameCount = segment.frames!.length;
    segment.unsent! += records;
    segment.bytes += body.byteLength;
    heldBytes += body.byteLength;
    // Kept records are the ones the spool promises not to drop, but with the disk gone that promise
    // would cost unbounded memory (an error logged in a loop on a full disk, the receiver down), and a
    // process killed for its memory loses every record. Past the bound the oldest pieces go, counted
    // as dropped like any other record; a piece on the wire stays (its answer settles it).
    while (heldBytes > heldMaxBytes) {
      let victim: Segment | undefined;
      // The map keeps insertion order: the first piece found is the oldest (names tie within a millisecond).
      for (const held of segments.values()) {
        if (held.memoryOnly && !held.inFlight) {
          victim = held;
          break;
        }
      }
      if (!victim) return;
      dropped += unsentRecords(victim);
      forget(victim);
    }
  };

  /** Evicts the oldest ordinary segments (never one on the wire) until `bytes` more fit; false if they cannot. */
  const makeRoom = (bytes: number): boolean => {
    while (diskBytes + bytes > maxBytes) {
      let victim: Segment | undefined;
      for (const segment of segments.values()) {
        if (segment.keep || segment.inFlight || segment.memoryOnly) continue;
        if (!victim || segment.name < victim.name) victim = segment;
      }
      if (!victim) return false;
      dropped += unsentRecords(victim);
      forget(victim);
    }
    return true;
  };

  const writeFrame = (segment: Segment, records: number, body: Uint8Array): boolean => {
    try {
      // One system call for header and body: a kill between them could only cut the last frame short.
      fs.writevSync(segment.fd!, [frameHeader(body.byteLength, records), body]);
      if (options.fsync) fs.fdatasyncSync(segment.fd!);
      return true;
    } catch {
      return false;
    }
  };

  scan();

  return {
    append(signal, keep, records, body) {
      const size = FRAME_HEADER_BYTES + body.byteLength;
      if (!keep && !makeRoom(size)) {
        dropped += records;
        return;
      }
      const segment = active.get(`${signal}/${keep}`) ?? openSegment(signal, keep);
      if (segment && writeFrame(segment, records, body)) {
        segment.frames ??= [];
        segment.frames.push({ records, body });
        segment.frameCount = (segment.frameCount ?? 0) + 1;
        segment.unsent! += records;
        segment.bytes += size;
        diskBytes += size;
        if (segment.bytes >= segmentBytes) seal(segment);
        return;
      }
      // A segment the disk stopped taking is not appended to again; the next append tries a new file.
      if (segment) seal(segment);
      if (keep) hold(signal, records, body);
      // Ordinary records are not held in memory instead: memory must stay bounded while the disk is gone.
      else dropped += records;
    },

    next(maxRequestBytes) {
      if (now() - lastScan >= rescanMs) scan();
      const order = [...segments.values()]
        .filter((segment) => !segment.inFlight)
        .sort((a, b) => (a.keep !== b.keep ? (a.keep ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const segment of order) {
        const frames = load(segment);
        if (frames === null) {
          forget(segment);
          continue;
        }
        if (segment.sent >= frames.length) {
          // Nothing (valid) left: an empty or cut-short file of a dead process, or a closed segment sent in full.
          if (segment.fd === null) forget(segment);
          continue;
        }
        let end = segment.sent + 1;
        let bytes = frames[segment.sent]!.body.byteLength;
        if (end > segment.singleUntil) {
          while (end < frames.length && bytes + frames[end]!.body.byteLength <= maxRequestBytes) bytes += frames[end++]!.body.byteLength;
        }
        const taken = frames.slice(segment.sent, end);
        const records = taken.reduce((sum, frame) => sum + frame.records, 0);
        // Concatenated OTLP messages are one message whose repeated fields are joined (protobuf encoding
        // spec, "Last One Wins" / merging): one request for many frames, each frame's bytes unchanged.
        const body = taken.length === 1 ? taken[0]!.body : Buffer.concat(taken.map((frame) => frame.body));
        segment.inFlight = true;
        return {
          signal: segment.signal,
          body,
          records,
          settle(outcome) {
            segment.inFlight = false;
            if (outcome === 'retry') {
              if (segment.fd === null && !segment.memoryOnly) segment.frames = null;
              return;
            }
            if (outcome === 'refused' && taken.length > 1) {
              // One bad frame must not take the others with it: send them one by one to find it.
              segment.singleUntil = segment.sent + taken.length;
              return;
            }
            if (outcome === 'refused') {
              dropped += records;
              refused += records;
            } else {
              delivered += records;
            }
            segment.sent += taken.length;
            segment.unsent! -= records;
            if (segment.sent >= (segment.frameCount ?? Number.POSITIVE_INFINITY) && segments.get(segment.name) === segment) {
              // Delivered in full: the active segment too (the next append starts a new one).
              forget(segment);
            } else if (segment.fd === null && !segment.memoryOnly) {
              segment.frames = null;
            }
          },
        };
      }
      return undefined;
    },

    stats() {
      let onDisk = 0;
      let inMemory = 0;
      let records = 0;
      for (const segment of segments.values()) {
        const unsent = unsentRecords(segment);
        records += unsent;
        if (segment.memoryOnly) inMemory += unsent;
        else onDisk++;
      }
      return { segments: onDisk, bytes: diskBytes, records, inMemory, dropped, refused, delivered };
    },

    close() {
      for (const segment of [...active.values()]) seal(segment);
      owner.release();
    },
  };
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed: nothing left to release.
  }
}
