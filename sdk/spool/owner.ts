/**
 * Which SDK instance wrote a spool segment or an open-run marker, and whether it still runs. Files are
 * named with the writer's pid and a random instance id: a live writer's files are its own (another
 * process must not replay and delete a segment still being appended to); a dead one's are taken over by
 * the next start. The instance id tells a dead process from a later one that reuses its pid, and an
 * SDK instance shut down in this process from the one started after it.
 */
import { randomBytes } from 'node:crypto';

export interface Owner {
  pid: number;
  instance: string;
}

export interface Claim extends Owner {
  /** This instance stopped writing: its files are left for the next start to take over. */
  release(): void;
}

/** Whether files of `owner` belong to a writer that still runs. */
export type Liveness = (owner: Owner) => boolean;

const running = new Set<string>();

export function claimOwner(): Claim {
  const instance = randomBytes(4).toString('hex');
  running.add(instance);
  return { pid: process.pid, instance, release: () => running.delete(instance) };
}

export const isAlive: Liveness = (owner) => {
  if (owner.pid === process.pid) return running.has(owner.instance);
  // kill(0) and kill(-n) address process groups, not a process: no writer has such a pid.
  if (!(owner.pid > 0)) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the pid runs under another user, so it is alive (and a reused pid at worst delays replay).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};
