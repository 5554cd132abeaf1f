/**
 * A run's stages on its time axis: one row per stage, a bar from its start to its end (to now while it
 * runs, hatched), coloured by result and labelled with its duration, so overlaps and gaps show at a glance;
 * under the bars, the time since the run's start.
 */
import { h } from '../lib/dom.js';
import { elapsed, exactTime, outcome } from '../lib/format.js';
import type { RunDetail, Stage } from '../lib/types.js';
import { offsetAxis } from './axis.js';

const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);

export function timeline(run: RunDetail, nowMs = Date.now()): HTMLElement {
  if (run.stages.length === 0) return h('p', { class: 'empty' }, 'This run reported no stages.');
  const starts = [ms(run.started_at), ...run.stages.map((stage) => ms(stage.started_at))].filter((v): v is number => v !== null);
  const ends = [ms(run.ended_at), ...run.stages.map((stage) => ms(stage.ended_at))].filter((v): v is number => v !== null);
  const from = Math.min(...starts, ...ends);
  const to = run.state === 'running' ? Math.max(nowMs, ...ends) : Math.max(...ends, from + 1);
  const span = Math.max(to - from, 1);
  const row = (stage: Stage) => {
    const start = ms(stage.started_at) ?? from;
    const end = ms(stage.ended_at) ?? (stage.state === 'running' ? to : start);
    const word = outcome({ state: stage.state, result: stage.result, stuck: run.stuck && stage.state === 'running' });
    const left = ((start - from) / span) * 100;
    const width = Math.max(((end - start) / span) * 100, 0.5);
    return h(
      'li',
      { 'data-stage': stage.stage },
      h('span', { class: 'stage-name' }, stage.stage),
      h(
        'span',
        { class: 'track' },
        h('span', { class: `span span-${word.replace(/[^a-z]/g, '')}`, style: { left: `${left}%`, width: `${Math.min(width, 100 - left)}%` } }),
      ),
      h('span', { class: 'stage-time' }, `${word}${stage.failure_allowed && word !== 'success' ? ' (tolerated)' : ''}, ${elapsed(stage, nowMs)}`),
    );
  };
  return h(
    'figure',
    { class: 'timeline' },
    h('ol', { 'aria-label': 'Stages on the run\'s time axis' }, run.stages.map(row)),
    h('div', { class: 'timeline-axis' }, offsetAxis(span / 1000)),
    h('figcaption', null, `From ${exactTime(new Date(from).toISOString())} to ${run.state === 'running' ? 'now' : exactTime(new Date(to).toISOString())}: ${elapsed(run, nowMs)}.`),
  );
}
