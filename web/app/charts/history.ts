/**
 * A pipeline's run history: one bar per run, oldest left, its height the duration and its colour the
 * result; a run that has not ended is a hatched bar up to now. Every bar links to its run. Hand-made SVG:
 * bars on a shared scale need no chart library.
 */
import { h, svg } from '../dom.js';
import { duration, exactTime, outcome } from '../format.js';
import { href } from '../router.js';
import type { Run } from '../types.js';

const BAR = 10;
const HEIGHT = 120;

/** `runs` newest first, as the API lists them. */
export function historyChart(runs: Run[], nowMs = Date.now()): HTMLElement {
  const points = [...runs].reverse();
  const seconds = (run: Run) => run.duration_seconds ?? (run.started_at ? Math.max(0, (nowMs - Date.parse(run.started_at)) / 1000) : 0);
  const max = Math.max(...points.map(seconds), 0) || 1;
  const bars = points.map((run, i) => {
    const height = Math.max(1.5, (seconds(run) / max) * HEIGHT);
    const word = outcome(run);
    const label = `${exactTime(run.started_at)}: ${word}, ${duration(run.duration_seconds ?? seconds(run))}`;
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
    h('div', { class: 'axis-max' }, duration(max)),
    svg(
      'svg',
      { viewBox: `0 0 ${Math.max(points.length, 1) * BAR} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'group', 'aria-label': 'Run durations, oldest first' },
      bars,
    ),
    h(
      'figcaption',
      null,
      `${points.length} runs, oldest left: bar height is the duration, `,
      h('span', { class: 'key key-success' }, 'success'),
      ', ',
      h('span', { class: 'key key-failure' }, 'failed'),
      ', ',
      h('span', { class: 'key key-running' }, 'running'),
      `. ${failures} did not succeed.`,
    ),
  );
}
