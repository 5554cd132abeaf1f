/**
 * Axes for the hand-made charts: a duration, count or any value's scale of a few round values, start times
 * along a row of bars, clock times along a span, and the time since a start along a run's timeline. Each
 * is an SVG of its own without a viewBox, placed in percent of its width or height: the plot beside it
 * stretches to any width, and text stretched with it would be distorted.
 */
import { svg } from '../lib/dom.js';

/** Round steps of a duration scale, in seconds: 1, 2, 5, 10, 15, 30 of each unit. */
const STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800];
const MOST_TICKS = 4;

/** The scale's values from 0 up to the first round value at or above `max` (seconds), at most MOST_TICKS steps. */
export function durationTicks(max: number): number[] {
  const top = Math.max(max, 0.1);
  const step = STEPS.find((s) => Math.ceil(top / s) <= MOST_TICKS) ?? Math.ceil(top / MOST_TICKS);
  return Array.from({ length: Math.ceil(top / step) + 1 }, (_, i) => i * step);
}

const trim = (n: number) => String(Number(n.toFixed(1)));

/** A scale value in one short unit ("90 s" reads worse than "1.5 min" beside a tick). */
export function tickDuration(seconds: number): string {
  if (seconds === 0) return '0';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${trim(seconds)} s`;
  if (seconds < 3600) return `${trim(seconds / 60)} min`;
  if (seconds < 86_400) return `${trim(seconds / 3600)} h`;
  return `${trim(seconds / 86_400)} d`;
}

/** Keeps a scale value from collecting float noise (0.30000000000000004) as it is stepped. */
const tidy = (n: number) => Number(n.toPrecision(12));

/**
 * Round values (1, 2, 5 of each power of ten, no step under `least`) from 0 or below `min` to 0 or above
 * `max`, at most MOST_TICKS steps: a scale that always has 0 on it, so a line's height reads as its size.
 */
export function roundTicks(min: number, max: number, least = 0): number[] {
  const low = Math.min(min, 0);
  // All zero: a scale up to 1, so that the zero line has a height to stand in.
  const high = max > 0 || low < 0 ? Math.max(max, 0) : 1;
  const power = 10 ** Math.floor(Math.log10((high - low) / MOST_TICKS));
  const steps = (s: number) => Math.ceil(tidy(high / s)) - Math.floor(tidy(low / s));
  const step = [1, 2, 5, 10].map((m) => Math.max(least, tidy(m * power))).find((s) => steps(s) <= MOST_TICKS)!;
  const first = Math.floor(tidy(low / step));
  return Array.from({ length: steps(step) + 1 }, (_, i) => tidy((first + i) * step));
}

/** The scale's values from 0 up to the first round count (1, 2, 5 of each power of ten) at or above `max`. */
export const countTicks = (max: number) => roundTicks(0, Math.max(max, 1), 1);

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** A count scale's value, short ("12K"). */
export const tickCount = (value: number) => compact.format(value);

const significant = new Intl.NumberFormat(undefined, { notation: 'compact', maximumSignificantDigits: 3 });

/** Any scale's value, short, fractions kept ("0.05", "1.25K"). */
export const tickValue = (value: number) => significant.format(value);

/** Where `value` stands on a scale of `ticks`, as a fraction of its height from the top. */
export function heightOf(ticks: number[], value: number): number {
  const bottom = ticks[0]!;
  const top = ticks[ticks.length - 1]!;
  return 1 - (value - bottom) / (top - bottom || 1);
}

/** The scale on the left of a plot: each value at its height, from `ticks` first at the bottom to its last at the top, in `label`'s words. */
export function valueAxis(ticks: number[], label: (value: number) => string): SVGSVGElement {
  return svg(
    'svg',
    { class: 'y-axis', 'aria-hidden': 'true' },
    ticks.map((value) => svg('text', { x: '100%', y: `${heightOf(ticks, value) * 100}%`, dx: -6, 'dominant-baseline': 'middle', 'text-anchor': 'end' }, label(value))),
  );
}

/** The scale's lines across a plot of `width` by `height` (its viewBox), behind what it draws. */
export function gridLines(ticks: number[], width: number, height: number): SVGLineElement[] {
  return ticks.map((value) => {
    const y = heightOf(ticks, value) * height;
    return svg('line', { class: 'grid', x1: 0, x2: width, y1: y, y2: y, 'vector-effect': 'non-scaling-stroke' });
  });
}

/** A tick of a horizontal axis: where, as a fraction of the width, and its label's lines. */
export interface Tick {
  at: number;
  lines: string[];
}

/** Labels near an edge lean inwards, so that none is cut off. */
const anchorAt = (at: number) => (at < 0.05 ? 'start' : at > 0.95 ? 'end' : 'middle');

/** A horizontal axis under a plot. Every other label is minor: narrow screens show only the others. */
export function horizontalAxis(ticks: Tick[]): SVGSVGElement {
  return svg(
    'svg',
    { class: 'x-axis', 'aria-hidden': 'true' },
    ticks.map(({ at, lines }, n) => {
      const x = `${at * 100}%`;
      return svg(
        'g',
        { class: n % 2 ? 'tick tick-minor' : 'tick' },
        svg('line', { x1: x, x2: x, y1: 0, y2: 5 }),
        lines.map((line, i) => svg('text', { x, y: 18 + i * 16, 'text-anchor': anchorAt(at) }, line)),
      );
    }),
  );
}

const day = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const clock = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const DAY_MS = 86_400_000;

/** At most `most` evenly spread indices of `n` slots, first and last among them. */
function spread(n: number, most: number): number[] {
  if (n <= most) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: most }, (_, i) => Math.round((i * (n - 1)) / (most - 1)));
}

/** A time's label: its clock time, and its day under it when the axis spans more than one. */
const timeLines = (at: number, days: boolean) => (days ? [clock.format(at), day.format(at)] : [clock.format(at)]);

/**
 * Start times under a row of `times.length` equal slots (one per bar, oldest first; null for a time
 * unknown): a few slots' centres labelled with their time, and with the day under it when the row spans
 * more than one.
 */
export function slotTimeAxis(times: (number | null)[]): SVGSVGElement {
  const known = times.filter((t): t is number => t !== null);
  const days = known.length > 0 && Math.max(...known) - Math.min(...known) > DAY_MS;
  const ticks = spread(times.length, 5).flatMap((i) => {
    const at = times[i];
    return at === null || at === undefined ? [] : [{ at: (i + 0.5) / times.length, lines: timeLines(at, days) }];
  });
  return horizontalAxis(ticks);
}

const clockSeconds = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit' });

/**
 * Clock times along a span from `fromMs` to `toMs` (Unix ms): five, evenly spread, the first and last at
 * its ends; with seconds when the span is minutes (or its labels would repeat), with the day when it is days.
 */
export function clockAxis(fromMs: number, toMs: number): SVGSVGElement {
  const span = toMs - fromMs;
  const label = (at: number) => (span < 600_000 ? [clockSeconds.format(at)] : timeLines(at, span > DAY_MS));
  return horizontalAxis(Array.from({ length: 5 }, (_, i) => ({ at: i / 4, lines: label(fromMs + (span * i) / 4) })));
}

/** Time since a start along a span of `spanSeconds`: round durations, none past the span's end. */
export function offsetAxis(spanSeconds: number): SVGSVGElement {
  const span = Math.max(spanSeconds, 0.001);
  return horizontalAxis(durationTicks(span).filter((value) => value <= span).map((value) => ({ at: value / span, lines: [tickDuration(value)] })));
}
