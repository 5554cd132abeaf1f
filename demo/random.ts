/**
 * Determinism for the demo: every run's id and numbers come from (seed, pipeline, scheduled time), not
 * from the order in which runs are made, so the same seed gives the same history however much of it is
 * sent, and a resent run is the same run (the receiver stores it once).
 */
import { createHash } from 'node:crypto';

/** Hex digest of the parts, joined so that ("a", "bc") and ("ab", "c") differ. */
function digest(parts: readonly (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

/**
 * A run id: a UUID in the RFC 9562 version 8 ("custom") layout, since it is derived from a hash rather
 * than random as version 4 promises.
 */
export function runIdFor(seed: number, mode: 'backfill' | 'live', pipeline: string, slotMs: number): string {
  const hex = digest(['run', seed, mode, pipeline, slotMs]);
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** An OpenTelemetry id (32 hex for a trace, 16 for a span) derived from `parts`; never all zeros. */
export function hexId(length: 16 | 32, ...parts: (string | number)[]): string {
  const hex = digest(['id', ...parts]).slice(0, length);
  return /^0+$/.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}

/** mulberry32: a tiny 32-bit PRNG, plenty for demo data, with a fixed sequence per seed. */
export class Random {
  private state: number;

  constructor(...parts: (string | number)[]) {
    this.state = parseInt(digest(['random', ...parts]).slice(0, 8), 16) | 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  int(min: number, max: number): number {
    return Math.floor(this.between(min, max + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/**
 * True for exactly one index in each block of `n` (indices 0 to n-1, n to 2n-1, ...), which one drawn
 * from `parts` and the block: a rate that holds over any stretch of runs, not only on average.
 */
export function oneInEvery(n: number, index: number, ...parts: (string | number)[]): boolean {
  const block = Math.floor(index / n);
  return index - block * n === new Random('one in', n, block, ...parts).int(0, n - 1);
}
