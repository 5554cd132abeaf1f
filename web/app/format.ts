/** Numbers, durations and times as people read them; a missing value is an en dash, never "NaN" or "null". */
import { h } from './dom.js';
import type { Result, RunState } from './types.js';

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

/** A badge: the word is always written out, so the colour never carries the meaning alone. */
export function badge(word: string): HTMLElement {
  return h('span', { class: `badge badge-${word.replace(/[^a-z]/g, '')}` }, word);
}

/** Check values as sent (any JSON): shown as text. */
export function plain(value: unknown): string {
  if (value === null || value === undefined) return NONE;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
