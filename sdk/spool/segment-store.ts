/**
 * The spool's files on disk: segments, frames appended one after the other (docs/spool-format.md), and
 * the batch files of the spool before them. Nothing here throws: a disk that refuses answers null or
 * false, and the spool decides what that costs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { syncDir } from '../../contract/durable-file.js';
import { frameHeader, readFrames, type Frame } from './frames.js';
import type { Owner } from './owner.js';
import type { Signal } from '../../contract/signal.js';
import { legacyBatchFrames, parseLegacyBatchName } from './legacy-batch.js';
import { parseSegmentName } from './segment-name.js';

/** A spool file in the directory, as its name describes it. */
export interface SpoolFile {
  name: string;
  signal: Signal;
  keep: boolean;
  /** The segment's writer; undefined for a batch file of the earlier spool, which has none. */
  writer?: Owner;
}

/** A segment open for appending. */
export interface SegmentWriter {
  /** Appends one frame; false when the disk refuses it. */
  append(records: number, body: Uint8Array): boolean;
  close(): void;
}

export class SegmentStore {
  constructor(
    private readonly dir: string,
    /** fsync every append, and the directory when a segment is created. */
    private readonly fsync: boolean,
  ) {}

  /** The spool files `wanted`, with their sizes; none when the directory cannot be made or read. */
  list(wanted: (file: SpoolFile) => boolean): Array<SpoolFile & { bytes: number }> {
    let names: string[];
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const found: Array<SpoolFile & { bytes: number }> = [];
    for (const name of names) {
      const file = parseSpoolFileName(name);
      if (!file || !wanted(file)) continue;
      try {
        found.push({ ...file, bytes: fs.statSync(path.join(this.dir, name)).size });
      } catch {
        // Gone meanwhile: taken over by another process.
      }
    }
    return found;
  }

  /** A new segment file opened for appending; null when the disk refuses it. */
  create(name: string): SegmentWriter | null {
    let fd: number;
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      fd = fs.openSync(path.join(this.dir, name), 'a', 0o600);
    } catch {
      return null;
    }
    if (this.fsync) syncDir(this.dir);
    return appenderOf(fd, this.fsync);
  }

  /** The frames of a file, a batch file's being its one body; null when the file is gone. */
  read(name: string): Frame[] | null {
    let content: Buffer;
    try {
      content = fs.readFileSync(path.join(this.dir, name));
    } catch {
      return null;
    }
    const legacy = parseLegacyBatchName(name);
    return legacy ? legacyBatchFrames(legacy, content) : readFrames(content);
  }

  remove(name: string): void {
    try {
      fs.rmSync(path.join(this.dir, name), { force: true });
    } catch {
      // Left on disk, it is sent again at the next start and stored once by the receiver.
    }
  }
}

/** The bytes of records that a spool directory holds (0 when there is none): what is still to send from it. */
export function spooledBytesIn(dir: string): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  return names
    .filter((name) => parseSpoolFileName(name) !== null)
    .reduce((sum, name) => sum + (fs.statSync(path.join(dir, name), { throwIfNoEntry: false })?.size ?? 0), 0);
}

function parseSpoolFileName(name: string): SpoolFile | null {
  const segment = parseSegmentName(name);
  if (segment) return { name, ...segment };
  const batch = parseLegacyBatchName(name);
  return batch && { name, signal: batch.signal, keep: batch.keep };
}

function appenderOf(fd: number, fsync: boolean): SegmentWriter {
  return {
    append(records, body) {
      try {
        // One system call for header and body: a kill between them could only cut the last frame short.
        fs.writevSync(fd, [frameHeader(body.byteLength, records), body]);
        if (fsync) fs.fdatasyncSync(fd);
        return true;
      } catch {
        return false;
      }
    },
    close() {
      try {
        fs.closeSync(fd);
      } catch {
        // Already closed: nothing left to release.
      }
    },
  };
}
