/**
 * Axes for the hand-made charts: a duration or count scale of a few round values, start times along a row of
 * bars, and the time since a start along a run's timeline. Each is an SVG of its own without a viewBox,
 * placed in percent of its width or height: the plot beside it stretches to any width, and text
 * stretched with it would be distorted.
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

/** The scale's values from 0 up to the first round count (1, 2, 5 of each power of ten) at or above `max`. */
export function countTicks(max: number): number[] {
  const top = Math.max(max, 1);
  const power = 10 ** Math.floor(Math.log10(top / MOST_TICKS));
  const step = [1, 2, 5, 10].map((m) => Math.max(1, m * power)).find((s) => Math.ceil(top / s) <= MOST_TICKS)!;
  return Array.from({ length: Math.ceil(top / step) + 1 }, (_, i) => i * step);
}

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** A count scale's value, short ("12K"). */
export const tickCount = (value: number) => compact.format(value);

/** The scale on the left of a plot: each value at its height, the top one being `ticks` last, in `label`'s words. */
export function valueAxis(ticks: number[], label: (value: number) => string): SVGSVGElement {
  const top = ticks[ticks.length - 1]!;
  return svg(
    'svg',
    { class: 'y-axis', 'aria-hidden': 'true' },
    ticks.map((value) => svg('text', { x: '100%', y: `${(1 - value / top) * 100}%`, dx: -6, 'dominant-baseline': 'middle', 'text-anchor': 'end' }, label(value))),
  );
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
    return at === null || at === undefined ? [] : [{ at: (i + 0.5) / times.length, lines: days ? [clock.format(at), day.format(at)] : [clock.format(at)] }];
  });
  return horizontalAxis(ticks);
}

/** Time since a start along a span of `spanSeconds`: round durations, none past the span's end. */
export function offsetAxis(spanSeconds: number): SVGSVGElement {
  const span = Math.max(spanSeconds, 0.001);
  return horizontalAxis(durationTicks(span).filter((value) => value <= span).map((value) => ({ at: value / span, lines: [tickDuration(value)] })));
}
