/**
 * Axes for the hand-made SVG charts: a duration scale of a few round values, and times along a row of
 * bars. Each is an SVG of its own without a viewBox, placed in percent of its width or height: the
 * plot beside it stretches to any width, and text stretched with it would be distorted.
 */
import { svg } from '../dom.js';

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

/** The duration scale on the left of a plot: each value at its height, the top one being `ticks` last. */
export function durationAxis(ticks: number[]): SVGSVGElement {
  const top = ticks[ticks.length - 1]!;
  return svg(
    'svg',
    { class: 'y-axis', 'aria-hidden': 'true' },
    ticks.map((value) => svg('text', { x: '100%', y: `${(1 - value / top) * 100}%`, dx: -6, 'dominant-baseline': 'middle', 'text-anchor': 'end' }, tickDuration(value))),
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
 * unknown): a tick at a few slots' centres, labelled with the time, and the day above it when the row
 * spans more than one. Every other label is minor: narrow screens show the first, middle and last.
 */
export function timeAxis(times: (number | null)[]): SVGSVGElement {
  const known = times.filter((t): t is number => t !== null);
  const days = known.length > 0 && Math.max(...known) - Math.min(...known) > DAY_MS;
  const ticks = spread(times.length, 5).filter((i) => times[i] !== null);
  return svg(
    'svg',
    { class: 'x-axis', 'aria-hidden': 'true' },
    ticks.map((i, n) => {
      const x = `${((i + 0.5) / times.length) * 100}%`;
      const anchor = n === 0 && ticks.length > 1 ? 'start' : n === ticks.length - 1 && ticks.length > 1 ? 'end' : 'middle';
      const at = new Date(times[i]!);
      return svg(
        'g',
        { class: n % 2 ? 'tick tick-minor' : 'tick' },
        svg('line', { x1: x, x2: x, y1: 0, y2: 5 }),
        svg('text', { x, y: 18, 'text-anchor': anchor }, clock.format(at)),
        days ? svg('text', { x, y: 34, 'text-anchor': anchor }, day.format(at)) : null,
      );
    }),
  );
}
