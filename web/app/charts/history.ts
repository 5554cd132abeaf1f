/**
 * Bars over time: one bar per run, oldest left, its height a value on a scale of round values at the
 * left and its colour the result, each bar a link to its run, start times below. A pipeline's run
 * history draws durations with it (a run that has not ended is a hatched bar up to now), a dataset's
 * page the rows of each write. Hand-made SVG: bars on a shared scale need no chart library.
 */
import { h, svg, type Child } from '../lib/dom.js';
import { count, elapsed, elapsedSeconds, exactTime, outcome } from '../lib/format.js';
import { href } from '../lib/router.js';
import type { DatasetWrite, Run } from '../lib/types.js';
import { countTicks, durationTicks, gridLines, slotTimeAxis, tickCount, tickDuration, valueAxis } from './axis.js';

const BAR = 10;
const HEIGHT = 120;

/** One bar: its value, its colour's word (bar-<word>), where it links, and what it says. */
export interface Bar {
  value: number;
  word: string;
  href: string;
  label: string;
  /** When it started, for the time axis (Unix ms); null when unknown. */
  at: number | null;
}

export interface BarChart {
  /** Oldest first. */
  bars: Bar[];
  ticks: number[];
  tickLabel: (value: number) => string;
  /** The plot's accessible name. */
  name: string;
  caption: Child[];
}

export function barChart(chart: BarChart): HTMLElement {
  const top = chart.ticks[chart.ticks.length - 1]!;
  const width = Math.max(chart.bars.length, 1) * BAR;
  const bars = chart.bars.map((bar, i) => {
    const height = Math.max(1.5, (bar.value / top) * HEIGHT);
    return svg(
      'a',
      { href: bar.href, 'aria-label': bar.label },
      svg('rect', { class: `bar bar-${bar.word.replace(/[^a-z]/g, '')}`, x: i * BAR + 1, y: HEIGHT - height, width: BAR - 2, height }, svg('title', null, bar.label)),
    );
  });
  return h(
    'figure',
    { class: 'history' },
    h(
      'div',
      { class: 'chart' },
      valueAxis(chart.ticks, chart.tickLabel),
      svg('svg', { class: 'plot', viewBox: `0 0 ${width} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'group', 'aria-label': chart.name }, gridLines(chart.ticks, width, HEIGHT), bars),
      slotTimeAxis(chart.bars.map((bar) => bar.at)),
    ),
    h('figcaption', null, chart.caption),
  );
}

/** `runs` newest first, as the API lists them. */
export function historyChart(runs: Run[], nowMs = Date.now()): HTMLElement {
  const points = [...runs].reverse();
  const seconds = (run: Run) => elapsedSeconds(run, nowMs) ?? 0;
  const bars = points.map((run) => {
    const word = outcome(run);
    return { value: seconds(run), word, href: href('run', run.run_id), label: `${exactTime(run.started_at)}: ${word}, ${elapsed(run, nowMs)}`, at: run.started_at ? Date.parse(run.started_at) : null };
  });
  const failures = points.filter((run) => run.state === 'ended' && run.result !== 'success').length;
  return barChart({
    bars,
    ticks: durationTicks(Math.max(...bars.map((bar) => bar.value), 0)),
    tickLabel: tickDuration,
    name: 'Run durations, oldest first',
    caption: [
      `${points.length} runs, oldest left, under the time each started: bar height is the duration, `,
      h('span', { class: 'key key-success' }, 'success'),
      ', ',
      h('span', { class: 'key key-failure' }, 'failed'),
      ', ',
      h('span', { class: 'key key-running' }, 'running'),
      `. ${failures} did not succeed.`,
    ],
  });
}

/** A write that happened (its run, or a stage that wrote it, succeeded), or one that does not count (yet): failed or not ended. */
export const writeWord = (write: DatasetWrite) => (write.counted ? 'written' : 'not counted');

/** A dataset's `writes` newest first, as the API lists them: the rows each wrote. */
export function writesChart(writes: DatasetWrite[]): HTMLElement {
  const points = [...writes].reverse();
  const bars = points.map((write) => ({
    value: write.rows ?? 0,
    word: writeWord(write),
    href: href('run', write.run_id),
    label: `${exactTime(write.at)}: ${write.pipeline} ${writeWord(write)} ${write.rows === null ? 'rows not reported' : `${count(write.rows)} rows`}`,
    at: Date.parse(write.at),
  }));
  const uncounted = points.filter((write) => !write.counted).length;
  return barChart({
    bars,
    ticks: countTicks(Math.max(...bars.map((bar) => bar.value), 0)),
    tickLabel: tickCount,
    name: 'Rows per write, oldest first',
    caption: [
      `${points.length} writes, oldest left, under the time each was made: bar height is the rows written, `,
      h('span', { class: 'key key-success' }, 'written'),
      ', ',
      h('span', { class: 'key key-notcounted' }, 'not counted (failed or not ended)'),
      `. ${uncounted} not counted.`,
    ],
  });
}
