/** Numbers, durations and times as people read them; a missing value is an en dash, never "NaN" or "null". */
import { h } from './dom.js';
import type { Result, RunError, RunState } from './types.js';

export const NONE = '–';

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? NONE : integer.format(value);
}

export function bytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let at = value;
  let unit = 0;
  for (; at >= 1024 && unit < units.length - 1; unit++) at /= 1024;
  return `${at.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function percent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? NONE : `${(ratio * 100).toFixed(ratio === 1 ? 0 : 1)}%`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return NONE;
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** A run or stage as far as its time goes. */
export interface Timed {
  state: RunState;
  started_at: string | null;
  duration_seconds: number | null;
}

/**
 * The seconds a run or stage took, or has taken so far while it runs: now − start then, since the
 * duration stored for a running one is only what its last heartbeat said.
 */
export function elapsedSeconds(item: Timed, nowMs: number): number | null {
  if (item.state === 'running' && item.started_at) return Math.max(0, (nowMs - Date.parse(item.started_at)) / 1000);
  return item.duration_seconds;
}

/** elapsedSeconds() in words, "so far" while it runs. */
export function elapsed(item: Timed, nowMs: number): string {
  const seconds = elapsedSeconds(item, nowMs);
  return item.state === 'running' && seconds !== null ? `${duration(seconds)} so far` : duration(seconds);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function ago(iso: string | null | undefined, nowMs = Date.now()): string {
  if (!iso) return NONE;
  const seconds = (nowMs - Date.parse(iso)) / 1000;
  return seconds < 0 ? 'just now' : `${duration(seconds)} ago`;
}

/** A time element: when it was, relative, with the exact local time in its title and datetime. */
export function when(iso: string | null | undefined): HTMLElement | string {
  if (!iso) return NONE;
  return h('time', { datetime: iso, title: dateTime.format(new Date(iso)) }, ago(iso));
}

export function exactTime(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : NONE;
}

/**
 * A run's or stage's outcome as a word, with the stuck state the alerts use. Ended without a result is a
 * stage its run's end closed: it never reported one.
 */
export function outcome(run: { state: RunState; result: Result | null; stuck?: boolean }): string {
  if (run.state === 'running') return run.stuck ? 'stuck' : 'running';
  return run.result ?? 'no end reported';
}

/** An error as one line: its type, then its message, whichever it has. */
export function errorText(error: RunError): string {
  return [error.type, error.message].filter(Boolean).join(': ');
}

/** A badge: the word is always written out, so the colour never carries the meaning alone. */
export function badge(word: string): HTMLElement {
  return h('span', { class: `badge badge-${word.replace(/[^a-z]/g, '')}` }, word);
}

/** Check values as sent (any JSON): shown as text. */
export function plain(value: unknown): string {
  if (value === null || value === undefined) return NONE;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
