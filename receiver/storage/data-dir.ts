/**
 * What pipemon keeps in its data directory besides the database server's own files: a lock naming the
 * process that runs the embedded server, and secrets readable by their owner only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceDurably } from '../../contract/durable-file.js';

const LOCK_FILE = 'pipemon.lock';

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Directories this process holds: a lock file naming our own pid is ours only if listed here; otherwise
// it is left from an earlier process that had the same pid (a restarted container often does).
const held = new Set<string>();

/** The live process holding `<root>/pipemon.lock`, or undefined when nobody does (a stale lock is no one's). */
export function lockHolder(root: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(path.join(root, LOCK_FILE), 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || !isRunning(pid)) return undefined;
  return pid !== process.pid || held.has(root) ? pid : undefined;
}

/** Takes `<root>/pipemon.lock`, or returns the pid of the live process that has it; `release` undoes it. */
export function lock(root: string): { release: () => void } | { heldBy: number } {
  const file = path.join(root, LOCK_FILE);
  // Written whole under another name, then linked into place: a reader never sees an empty lock.
  const mine = `${file}.${process.pid}`;
  fs.writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(mine, file);
        held.add(root);
        return {
          release: () => {
            held.delete(root);
            fs.rmSync(file, { force: true });
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = lockHolder(root);
      if (holder !== undefined) return { heldBy: holder };
      // Stale: moved aside under a name of our own and read again, since between our read and the move
      // another process may have cleared it and taken the lock; a live holder's lock is put back.
      const aside = `${file}.stale.${process.pid}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue; // Another process moved it first.
      }
      const pid = Number.parseInt(fs.readFileSync(aside, 'utf8'), 10);
      if (Number.isInteger(pid) && pid !== process.pid && isRunning(pid)) {
        try {
          fs.linkSync(aside, file);
        } catch {
          // A third process took the lock meanwhile: it holds it now.
        }
        fs.rmSync(aside, { force: true });
        return { heldBy: pid };
      }
      fs.rmSync(aside, { force: true });
    }
  } finally {
    fs.rmSync(mine, { force: true });
  }
  throw new Error(`could not take ${file}: other pipemon processes are starting on ${root}; start one at a time`);
}

/** Writes `content` to `file` readable by its owner only, replacing it whole (never half-written). */
export function writeSecret(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.rmSync(temporary, { force: true });
  // Created fresh, so the mode applies (an existing file would keep its own); synced, because these
  // files are the only copy of their secret.
  replaceDurably(file, temporary, content, 0o600);
}
