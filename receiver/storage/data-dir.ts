/**
 * What pipemon keeps in its data directory besides the database server's own files: a lock naming the
 * process that runs the embedded server, and secrets readable by their owner only.
 */
import fs from 'node:fs';
import path from 'node:path';

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

/**
 * Takes `<root>/pipemon.lock`, or returns the pid of the live process that has it; `release` undoes it.
 */
export function lock(root: string): { release: () => void } | { heldBy: number } {
  const file = path.join(root, LOCK_FILE);
  // Two attempts: the second follows the removal of a stale lock. Two processes removing the same stale
  // lock at the same instant could both proceed; that needs a crash and two starts at once.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
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
    fs.rmSync(file, { force: true });
  }
  throw new Error(`could not take ${file}: another pipemon is starting on ${root}; start one at a time`);
}

/** Writes `content` to `file` readable by its owner only, replacing it whole (never half-written). */
export function writeSecret(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.rmSync(temporary, { force: true });
  // 'wx' creates the file, so the mode applies (an existing file would keep its own).
  fs.writeFileSync(temporary, content, { flag: 'wx', mode: 0o600 });
  fs.renameSync(temporary, file);
}
