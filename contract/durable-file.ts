/**
 * Replacing a file so that a crash or a power cut leaves the old content or the new one, never a part:
 * written to a temporary name, synced, renamed over the target, the directory synced. Used for the
 * SDK's spool batches and the receiver's secrets (receiver/storage/data-dir.ts).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Writes `content` to `temporary` (created with `mode`; it must not exist), then renames it to `target`. */
export function replaceDurably(target: string, temporary: string, content: string | Uint8Array, mode: number): void {
  const fd = fs.openSync(temporary, 'wx', mode);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, target);
  syncDir(path.dirname(target));
}

/** Makes a directory's entries (a file created or renamed in it) durable; best effort. */
export function syncDir(dir: string): void {
  // The rename is durable only once the directory entry is; not supported on every platform.
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Best effort: the file data itself is already synced.
  }
}
