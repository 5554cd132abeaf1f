/**
 * A pipeline's run history: one bar per run, oldest left, its height the duration and its colour the
 * result; a run that has not ended is a hatched bar up to now. Every bar links to its run. A duration
 * scale on the left and start times below. Hand-made SVG: bars on a shared scale need no chart library.
 */
import { h, svg } from '../lib/dom.js';
import { elapsed, elapsedSeconds, exactTime, outcome } from '../lib/format.js';
import { href } from '../lib/router.js';
import type { Run } from '../lib/types.js';
import { durationAxis, durationTicks, slotTimeAxis } from './axis.js';

const BAR = 10;
const HEIGHT = 120;

/** The scale's lines across the plot, behind the bars. */
function gridLines(ticks: number[], top: number, width: number) {
  return ticks.map((value) => {
    const y = HEIGHT - (value / top) * HEIGHT;
    return svg('line', { class: 'grid', x1: 0, x2: width, y1: y, y2: y, 'vector-effect': 'non-scaling-stroke' });
  });
}

/** `runs` newest first, as the API lists them. */
export function historyChart(runs: Run[], nowMs = Date.now()): HTMLElement {
  const points = [...runs].reverse();
  const seconds = (run: Run) => elapsedSeconds(run, nowMs) ?? 0;
  const ticks = durationTicks(Math.max(...points.map(seconds), 0));
  const top = ticks[ticks.length - 1]!;
  const width = Math.max(points.length, 1) * BAR;
  const bars = points.map((run, i) => {
    const height = Math.max(1.5, (seconds(run) / top) * HEIGHT);
    const word = outcome(run);
    const label = `${exactTime(run.started_at)}: ${word}, ${elapsed(run, nowMs)}`;
    return svg(
      'a',
      { href: href('run', run.run_id), 'aria-label': label },
      svg('rect', { class: `bar bar-${word}`, x: i * BAR + 1, y: HEIGHT - height, width: BAR - 2, height }, svg('title', null, label)),
    );
  });
  const failures = points.filter((run) => run.state === 'ended' && run.result !== 'success').length;
  return h(
    'figure',
    { class: 'history' },
    h(
      'div',
      { class: 'chart' },
      durationAxis(ticks),
      svg(
        'svg',
        { class: 'plot', viewBox: `0 0 ${width} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'group', 'aria-label': 'Run durations, oldest first' },
        gridLines(ticks, top, width),
        bars,
      ),
      slotTimeAxis(points.map((run) => (run.started_at ? Date.parse(run.started_at) : null))),
    ),
    h(
      'figcaption',
      null,
      `${points.length} runs, oldest left, under the time each started: bar height is the duration, `,
      h('span', { class: 'key key-success' }, 'success'),
      ', ',
      h('span', { class: 'key key-failure' }, 'failed'),
      ', ',
      h('span', { class: 'key key-running' }, 'running'),
      `. ${failures} did not succeed.`,
    ),
  );
}
