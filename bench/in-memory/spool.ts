/**
 * The disk spool: OTLP request bodies the receiver has not acknowledged, one file per batch, written
 * once (temp file, fsync, rename, fsync of the directory), so a batch on disk survives `kill -9` and a
 * delivered batch is removed with one unlink, no compaction. Replay sends the same bytes again; the
 * receiver stores a resent record once (logs by content hash, spans by trace and span id).
 *
 * Bounded in bytes: when a new batch does not fit, the oldest batches without errors go first; batches
 * holding errors or run/stage end records are never evicted, even past the bound. Every record that
 * leaves without being delivered is counted in `dropped`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceDurably } from '../../sdk/durable-file.js';

export type Signal = 'logs' | 'traces';

export interface SpoolEntry {
  name: string;
  signal: Signal;
  priority: boolean;
  records: number;
  bytes: number;
}

export interface Spool {
  readonly dir: string;
  /** Writes one batch durably; false if it could not be stored (dropped and counted). Never throws. */
  write(signal: Signal, priority: boolean, records: number, body: Uint8Array): boolean;
  /** Oldest first. */
  entries(): SpoolEntry[];
  read(entry: SpoolEntry): Uint8Array | null;
  remove(entry: SpoolEntry): void;
  /** Marks the batch replay is sending (null: none), which eviction must leave alone. */
  sending(entry: SpoolEntry | null): void;
  /** Counts records given up on for a reason other than delivery (eviction, permanent refusal). */
  drop(entry: SpoolEntry): void;
  readonly dropped: number;
  readonly bytes: number;
}

// <ms>-<pid>-<seq>-<signal>-<e|n>-<records>.otlp: sortable by age, self-describing without reading.
const NAME = /^(\d{13})-(\d+)-(\d+)-(logs|traces)-([en])-(\d+)\.otlp$/;

export function openSpool(dir: string, maxBytes: number): Spool {
  let index: SpoolEntry[] = [];
  let total = 0;
  let dropped = 0;
  let seq = 0;
  let ready = false;
  let sendingName: string | null = null;

  // Synchronous on purpose: writes happen at exit too, where only sync I/O completes.
  const ensure = (): boolean => {
    if (ready) return true;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      index = scan();
      total = index.reduce((sum, entry) => sum + entry.bytes, 0);
      ready = true;
    } catch {
      ready = false;
    }
    return ready;
  };

  const scan = (): SpoolEntry[] => {
    const found: SpoolEntry[] = [];
    for (const name of fs.readdirSync(dir)) {
      const m = NAME.exec(name);
      if (!m) {
        // A temp file left by a crash mid-write was never renamed: its batch is incomplete.
        if (name.endsWith('.tmp')) fs.rmSync(path.join(dir, name), { force: true });
        continue;
      }
      let bytes = 0;
      try {
        bytes = fs.statSync(path.join(dir, name)).size;
      } catch {
        continue;
      }
      found.push({ name, signal: m[4] as Signal, priority: m[5] === 'e', records: Number(m[6]), bytes });
    }
    return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  };

  const unlink = (entry: SpoolEntry) => {
    fs.rmSync(path.join(dir, entry.name), { force: true });
    // By name: entries() rescans and replaces the index, so the caller may hold an older object.
    const at = index.findIndex((indexed) => indexed.name === entry.name);
    if (at >= 0) {
      total -= index[at]!.bytes;
      index.splice(at, 1);
    }
  };

  return {
    dir,
    write(signal, priority, records, body) {
      try {
        if (!ensure()) throw new Error('spool directory unavailable');
        while (total + body.byteLength > maxBytes) {
          // Never the batch replay is sending: it may be delivered, and would then count as dropped too.
          const victim = index.find((entry) => !entry.priority && entry.name !== sendingName);
          if (!victim) break;
          dropped += victim.records;
          unlink(victim);
        }
        if (total + body.byteLength > maxBytes && !priority) {
          dropped += records;
          return false;
        }
        const name = `${Date.now()}-${process.pid}-${seq++}-${signal}-${priority ? 'e' : 'n'}-${records}.otlp`;
        replaceDurably(path.join(dir, name), path.join(dir, `${name}.tmp`), body, 0o600);
        index.push({ name, signal, priority, records, bytes: body.byteLength });
        total += body.byteLength;
        return true;
      } catch {
        dropped += records;
        return false;
      }
    },
    entries() {
      if (!ensure()) return [];
      // Another process (an earlier run, a parallel `pipemon exec`) may have added or taken files.
      index = scan();
      total = index.reduce((sum, entry) => sum + entry.bytes, 0);
      return index.slice();
    },
    read(entry) {
      try {
        return fs.readFileSync(path.join(dir, entry.name));
      } catch {
        unlink(entry);
        return null;
      }
    },
    remove(entry) {
      try {
        unlink(entry);
      } catch {
        // Already gone (another process replayed it): nothing to undo.
      }
    },
    sending(entry) {
      sendingName = entry?.name ?? null;
    },
    drop(entry) {
      dropped += entry.records;
      this.remove(entry);
    },
    get dropped() {
      return dropped;
    },
    get bytes() {
      return total;
    },
  };
}

