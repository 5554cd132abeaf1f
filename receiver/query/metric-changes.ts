/**
 * What a series counted between its points: a delta point's own amount over its interval; for a
 * cumulative point, its amount less the previous point's, as Prometheus' increase() reads counters: a
 * monotonic amount that dropped was reset, and counts from zero again. A point whose start time differs
 * from the previous point's is a restart, and counts from its start time; a series' first point with a
 * start time counts from it. Amounts are a sum's value (exact while both are integers), a histogram's
 * bucket counts or an exponential histogram's buckets.
 */
import { CUMULATIVE } from './metric-as.js';
import type { ExponentialCounts } from './metric-quantile.js';

/** A point's time, start time (null when not sent) and amount. */
export interface Timed<T> {
  time: bigint;
  start: bigint | null;
  amount: T;
}

export interface Interval<T> {
  /** Its start; null for a delta point without a start time and nothing before it. */
  from: bigint | null;
  to: bigint;
  amount: T;
  /** The series restarted (or its counter reset) at its start. */
  reset: boolean;
}

/** How amounts of one kind are compared and combined. */
export interface Amounts<T> {
  minus(a: T, b: T): T;
  plus(a: T, b: T): T;
  /** a holds less than b somewhere: a monotonic series was reset between them. */
  dropped(a: T, b: T): boolean;
}

export interface SeriesKind {
  temporality: number;
  /** A sum's is_monotonic; a histogram's counts always are. */
  monotonic: boolean;
}

/** The interval ending at `point`, whose previous point is `prev` (null when it has none); null when it counted nothing known. */
export function intervalOf<T>(ops: Amounts<T>, series: SeriesKind, point: Timed<T>, prev: Timed<T> | null): Interval<T> | null {
  const counted = (reset: boolean, fallback: bigint | null): Interval<T> | null => {
    const from = point.start !== null && point.start <= point.time ? point.start : fallback;
    return from === null && series.temporality === CUMULATIVE ? null : { from, to: point.time, amount: point.amount, reset };
  };
  if (series.temporality !== CUMULATIVE) return counted(false, prev?.time ?? null);
  if (prev === null) return counted(false, null);
  if (point.start !== null && prev.start !== null && point.start !== prev.start) return counted(true, prev.time);
  if (series.monotonic && ops.dropped(point.amount, prev.amount)) return { from: prev.time, to: point.time, amount: point.amount, reset: true };
  return { from: prev.time, to: point.time, amount: ops.minus(point.amount, prev.amount), reset: false };
}

/**
 * The intervals thinned to one per step of `stepNs` (steps counted from the Unix epoch): each step's
 * amounts added up, from the first one's start to the last one's end.
 */
export function perStep<T>(ops: Amounts<T>, intervals: Interval<T>[], stepNs: bigint): Interval<T>[] {
  const steps: Interval<T>[] = [];
  let step: bigint | null = null;
  for (const interval of intervals) {
    const at = interval.to / stepNs;
    const last = steps[steps.length - 1];
    if (last && at === step) {
      steps[steps.length - 1] = { from: last.from, to: interval.to, amount: ops.plus(last.amount, interval.amount), reset: last.reset || interval.reset };
    } else {
      steps.push(interval);
      step = at;
    }
  }
  return steps;
}

/** A sum's value: exact as long as both sides are integers (as_int), a double otherwise. */
export type SumAmount = bigint | number;

const both = (a: SumAmount, b: SumAmount, exact: (x: bigint, y: bigint) => SumAmount, double: (x: number, y: number) => SumAmount) =>
  typeof a === 'bigint' && typeof b === 'bigint' ? exact(a, b) : double(Number(a), Number(b));

export const SUMS: Amounts<SumAmount> = {
  minus: (a, b) => both(a, b, (x, y) => x - y, (x, y) => x - y),
  plus: (a, b) => both(a, b, (x, y) => x + y, (x, y) => x + y),
  dropped: (a, b) => a < b,
};

const pairwise = (a: readonly bigint[], b: readonly bigint[], op: (x: bigint, y: bigint) => bigint) => a.map((x, i) => op(x, b[i] ?? 0n));

/** Counts per bucket of the series' explicit bounds (the same on every point of a series). */
export const BUCKETS: Amounts<bigint[]> = {
  minus: (a, b) => pairwise(a, b, (x, y) => x - y),
  plus: (a, b) => pairwise(a, b, (x, y) => x + y),
  dropped: (a, b) => a.length !== b.length || a.some((x, i) => x < b[i]!),
};

/** The buckets at a coarser scale: each merges 2^(scale difference) of the finer ones, as OTLP's downscaling does. */
function downscale(h: ExponentialCounts, scale: number): ExponentialCounts {
  if (h.scale === scale) return h;
  const shift = h.scale - scale;
  const merge = (side: Map<number, bigint>) => {
    const merged = new Map<number, bigint>();
    for (const [i, count] of side) merged.set(i >> shift, (merged.get(i >> shift) ?? 0n) + count);
    return merged;
  };
  return { ...h, scale, positive: merge(h.positive), negative: merge(h.negative) };
}

/** a and b at their common (the coarser) scale, combined bucket by bucket; a's zero threshold kept. */
function combine(a: ExponentialCounts, b: ExponentialCounts, sign: bigint): ExponentialCounts {
  const scale = Math.min(a.scale, b.scale);
  const [x, y] = [downscale(a, scale), downscale(b, scale)];
  const side = (p: Map<number, bigint>, q: Map<number, bigint>) => {
    const out = new Map(p);
    for (const [i, count] of q) out.set(i, (out.get(i) ?? 0n) + sign * count);
    return out;
  };
  return { scale, zeroThreshold: x.zeroThreshold, zero: x.zero + sign * y.zero, positive: side(x.positive, y.positive), negative: side(x.negative, y.negative) };
}

export const EXPONENTIAL: Amounts<ExponentialCounts> = {
  minus: (a, b) => combine(a, b, -1n),
  plus: (a, b) => combine(a, b, 1n),
  dropped: (a, b) => {
    const d = combine(a, b, -1n);
    return d.zero < 0n || [...d.positive.values(), ...d.negative.values()].some((count) => count < 0n);
  },
};
