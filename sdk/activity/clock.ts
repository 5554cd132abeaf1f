/**
 * The time a run and its stages read: when they start and end, when their records and spans happen,
 * when heartbeats and timeouts fire. By default the system's; a run given another clock (a backfill of
 * runs that happened earlier, a test) puts that clock's times on everything it records.
 */
import { performance } from 'node:perf_hooks';
import type { HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';

export interface Clock {
  /** Unix time in milliseconds (fractions allowed). */
  now(): number;
  /** Calls `fn` once `ms` of this clock's time from now; returns what cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Calls `fn` every `ms` of this clock's time until cancelled; it must never keep a process alive. */
  every(ms: number, fn: () => void): () => void;
}

/** The system's time: Unix milliseconds that never go back (timeOrigin + performance.now(), as OpenTelemetry's spans take it). */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  every(ms, fn) {
    // A heartbeat must never keep a finished pipeline process alive.
    const timer = setInterval(fn, ms).unref();
    return () => clearInterval(timer);
  },
};

interface Timer {
  dueMs: number;
  everyMs: number | null;
  fn: () => void;
}

/** A clock that moves only when told to, firing its timers at their own instants as it passes them. */
export class ManualClock implements Clock {
  private readonly timers: Timer[] = [];

  constructor(private nowMs: number) {}

  now(): number {
    return this.nowMs;
  }

  after(ms: number, fn: () => void): () => void {
    return this.add({ dueMs: this.nowMs + ms, everyMs: null, fn });
  }

  every(ms: number, fn: () => void): () => void {
    if (!(ms > 0)) throw new RangeError(`ManualClock.every needs a positive interval, got ${ms} ms`);
    return this.add({ dueMs: this.nowMs + ms, everyMs: ms, fn });
  }

  /** Moves `ms` forward (never back); each timer due on the way fires with the clock at its instant. */
  advance(ms: number): void {
    const target = this.nowMs + Math.max(0, ms);
    for (let timer = this.nextDue(target); timer; timer = this.nextDue(target)) {
      this.nowMs = timer.dueMs;
      if (timer.everyMs === null) this.timers.splice(this.timers.indexOf(timer), 1);
      else timer.dueMs += timer.everyMs;
      timer.fn();
    }
    this.nowMs = target;
  }

  private add(timer: Timer): () => void {
    this.timers.push(timer);
    return () => {
      const index = this.timers.indexOf(timer);
      if (index >= 0) this.timers.splice(index, 1);
    };
  }

  /** The earliest timer due by `target`, the first added among equals. */
  private nextDue(target: number): Timer | undefined {
    let next: Timer | undefined;
    for (const timer of this.timers) if (timer.dueMs <= target && (next === undefined || timer.dueMs < next.dueMs)) next = timer;
    return next;
  }
}

/**
 * The times a run and its stages put on their records and spans. On the system clock none: the
 * providers stamp them (the SDK's logger with sub-millisecond times). On another clock, that clock's.
 */
export interface RunTime {
  readonly clock: Clock;
  /** The time of a record or span made now; undefined leaves it to the providers. */
  stamp(): HrTime | undefined;
  /** A record's observed time; undefined leaves it to the providers. */
  observed(): HrTime | undefined;
}

const SYSTEM_TIME: RunTime = { clock: systemClock, stamp: () => undefined, observed: () => undefined };

/**
 * `time`, or 1 ns after `previous` if `time` is not later. Observed times handed out so strictly
 * increase: the receiver stores identical records once (its fingerprint hashes the observed time), and
 * two records made at one instant are two records.
 */
export function observedAfter(previous: HrTime, time: HrTime): HrTime {
  const [seconds, nanos] = previous;
  if (time[0] > seconds || (time[0] === seconds && time[1] > nanos)) return [time[0], time[1]];
  return nanos + 1 < 1e9 ? [seconds, nanos + 1] : [seconds + 1, 0];
}

/** One per run, shared by its stages: the observed times it hands out increase within the run. */
class ClockTime implements RunTime {
  private last: HrTime = [0, 0];

  constructor(readonly clock: Clock) {}

  stamp(): HrTime {
    return millisToHrTime(this.clock.now());
  }

  observed(): HrTime {
    this.last = observedAfter(this.last, this.stamp());
    return this.last;
  }
}

/** The time of a new run: the system's unless the run was given a clock. */
export function runTime(clock: Clock | undefined): RunTime {
  return clock === undefined || clock === systemClock ? SYSTEM_TIME : new ClockTime(clock);
}
