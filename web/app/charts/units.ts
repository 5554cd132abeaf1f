/**
 * A metric's unit as its instrument declared it (UCUM, as OpenTelemetry asks: "s", "ms", "By", "{row}",
 * "1") in words, and its values on a scale and in a legend: a time in one short unit, bytes in KiB and MiB,
 * anything else as a number with its unit's words.
 */
import { bytes, duration } from '../lib/format.js';
import { durationTicks, roundTicks, tickDuration, tickValue } from './axis.js';

export interface UnitFormat {
  /** What the unit says, for a heading: '' for none. */
  words: string;
  /** The scale's values around `min` to `max`. */
  ticks(min: number, max: number): number[];
  tick(value: number): string;
  /** A value in full, with its unit. */
  value(value: number): string;
}

/** Seconds in each UCUM time unit. */
const SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, min: 60, h: 3600, d: 86_400 };

const WORDS: Record<string, string> = { '': '', '1': '', By: 'bytes', Cel: '°C', '%': '%' };

const full = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const small = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });

/** A number whole to the hundredth, a fraction under 1 to three significant digits. */
const number = (value: number) => (Math.abs(value) >= 1 || value === 0 ? full : small).format(value);

/** "{row}" is an annotation, its words are "row"; other units are as sent. */
const wordsOf = (unit: string) => WORDS[unit] ?? unit.replace(/[{}]/g, '');

function timeFormat(unit: string, seconds: number): UnitFormat {
  return {
    words: unit,
    // A duration scale's round values (1.5 min, not 100 s) while all are positive, as every duration is.
    ticks: (min, max) => (min >= 0 ? durationTicks(max * seconds).map((value) => value / seconds) : roundTicks(min, max)),
    tick: (value) => (value < 0 ? `−${tickDuration(-value * seconds)}` : tickDuration(value * seconds)),
    value: (value) => (value < 0 ? `−${duration(-value * seconds)}` : duration(value * seconds)),
  };
}

export function unitFormat(unit: string): UnitFormat {
  const seconds = SECONDS[unit];
  if (seconds !== undefined) return timeFormat(unit, seconds);
  if (unit === 'By') return { words: 'bytes', ticks: roundTicks, tick: bytes, value: bytes };
  const words = wordsOf(unit);
  return { words, ticks: roundTicks, tick: tickValue, value: (value) => (words ? `${number(value)} ${words}` : number(value)) };
}
