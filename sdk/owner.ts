/**
 * Which process wrote a spool segment or an open-run marker, and whether that process still runs.
 * Files are named with the writer's pid and a random instance id: a live process's files are its own
 * (another process must not replay and delete a segment still being appended to), a dead one's are
 * taken over by the next start. The instance id tells a dead process from a later one that reuses its pid.
 */
import { randomBytes } from 'node:crypto';

export interface Owner {
  pid: number;
  instance: string;
}

export const SELF: Owner = { pid: process.pid, instance: randomBytes(4).toString('hex') };

/** Whether files of `owner` belong to a process that still runs (this one, or another live pid). */
export type Liveness = (owner: Owner) => boolean;

export const isAlive: Liveness = (owner) => {
  if (owner.pid === SELF.pid) return owner.instance === SELF.instance;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the pid runs under another user, so it is alive (and a reused pid at worst delays replay).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};
