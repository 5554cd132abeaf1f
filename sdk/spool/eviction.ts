/**
 * What goes when a bound is passed. On disk: the oldest ordinary segments, never a kept one and never
 * one on the wire. In memory (kept records the disk refused): the oldest pieces, except one on the wire,
 * whose answer settles it.
 */
import type { Segment } from './segment.js';

/** Drops the victims `pick` names while `over` holds; false when still over with none left to drop. */
export function evictWhile(over: () => boolean, pick: () => Segment | undefined, drop: (victim: Segment) => void): boolean {
  while (over()) {
    const victim = pick();
    if (!victim) return false;
    drop(victim);
  }
  return true;
}

/** The oldest ordinary segment on disk not being sent. */
export function oldestOrdinary(segments: Iterable<Segment>): Segment | undefined {
  let victim: Segment | undefined;
  for (const segment of segments) {
    if (segment.keep || segment.inFlight || segment.memoryOnly) continue;
    if (!victim || segment.name < victim.name) victim = segment;
  }
  return victim;
}

/** The oldest piece held in memory not being sent: the first in the order the spool learnt of them (names tie within a millisecond). */
export function oldestHeldPiece(segments: Iterable<Segment>): Segment | undefined {
  for (const segment of segments) if (segment.memoryOnly && !segment.inFlight) return segment;
  return undefined;
}
