/** What every page is: an element, filled by refresh() (called at once, then every intervalMs while shown), and the pieces pages share. */
import { h, type Child } from './dom.js';
import { badge } from './format.js';
import type { Route } from './router.js';
import { conditions, warningWords } from './status.js';
import type { PipelineFigures } from './types.js';

export interface View {
  title: string;
  element: HTMLElement;
  refresh(): Promise<void>;
  /** Auto-refresh period, or null for a page that refreshes on request only. */
  intervalMs: number | null;
}

export type Mount = (route: Route) => View;

export const REFRESH_MS = 15_000;

export function section(title: string, ...children: Child[]): HTMLElement {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

/** A table with a caption (read by screen readers, hidden when `hideCaption`), header cells scoped to their columns. */
export function table(caption: string, headers: string[], rows: Child[][], options: { empty?: string; className?: string } = {}): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, options.empty ?? 'Nothing yet.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: options.className },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, headers.map((header) => h('th', { scope: 'col' }, header)))),
      h('tbody', null, rows.map((cells) => h('tr', null, cells.map((cell) => h('td', null, cell))))),
    ),
  );
}

/**
 * Figures as a row of tiles: a label and its value. A `wide` tile takes a row of its own, for a long
 * value (a path, an error) that a figure's narrow column would break into a word per line.
 */
export function tiles(items: [string, Child, 'wide'?][]): HTMLElement {
  return h(
    'dl',
    { class: 'tiles' },
    items.map(([label, value, wide]) => h('div', { class: wide ? 'tile tile-wide' : 'tile' }, h('dt', null, label), h('dd', null, value))),
  );
}

/** A pipeline's status: its badge, its other conditions, and why its data is suspect when it is. */
export function statusCell(p: PipelineFigures): HTMLElement {
  const [status, ...also] = conditions(p);
  const why = warningWords(p);
  return h(
    'span',
    { class: 'status', 'data-status': status },
    badge(status!),
    also.length > 0 ? h('span', { class: 'also' }, `also ${also.join(', ')}`) : null,
    why.length > 0 ? h('span', { class: 'why' }, `Latest run: ${why.join('; ')}`) : null,
  );
}
