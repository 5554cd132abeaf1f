/** What every page is: an element, filled by refresh() (called at once, then every intervalMs while shown), and the pieces pages share. */
import { fill, h, type Child } from './dom.js';
import { ago, badge, duration } from './format.js';
import { href, type Route } from './router.js';
import { conditions, warningWords, type StatusFacts } from './status.js';
import type { Dataset } from './types.js';

export interface View {
  title: string;
  element: HTMLElement;
  refresh(): Promise<void>;
  /** Auto-refresh period, or null for a page that refreshes on request only. */
  intervalMs: number | null;
}

export type Mount = (route: Route) => View;

export const REFRESH_MS = 15_000;

/**
 * fill(), keeping the reader's focus on the link to the same place when a refresh redraws the links
 * under it, so that auto-refresh never throws a keyboard reader back to the top.
 */
export function refill(parent: Element, ...children: Child[]): void {
  const active = document.activeElement;
  const target = active && parent.contains(active) ? active.getAttribute('href') : null;
  const same = () => [...parent.querySelectorAll('[href]')].filter((link) => link.getAttribute('href') === target) as (HTMLElement | SVGElement)[];
  const nth = target === null ? -1 : same().indexOf(active as HTMLElement);
  fill(parent, ...children);
  if (nth >= 0) same()[nth]?.focus();
}

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

/**
 * A pipeline's status: its badge, its other conditions, why its data is suspect when it is, and the
 * upstream pipelines it waits on (failing, late or stuck): the likely cause when it is late.
 */
export function statusCell(p: StatusFacts): HTMLElement {
  const [status, ...also] = conditions(p);
  const why = warningWords(p);
  const upstreams = p.upstream_unhealthy;
  return h(
    'span',
    { class: 'status', 'data-status': status },
    badge(status!),
    also.length > 0 ? h('span', { class: 'also' }, `also ${also.join(', ')}`) : null,
    why.length > 0 ? h('span', { class: 'why' }, `Latest run: ${why.join('; ')}`) : null,
    // Plain links: a row's [data-pipeline] link is its own pipeline's.
    upstreams.length > 0 ? h('span', { class: 'waits' }, 'Waits on ', ...upstreams.flatMap((name, i) => [i > 0 ? ', ' : '', h('a', { href: href('pipeline', name) }, name)]), ' upstream') : null,
  );
}

/** Why a dataset is fresh, stale or unknown: its last write that happened against the expected interval of the pipeline it is judged by. */
export function freshnessWords(d: Pick<Dataset, 'last_write' | 'expected_interval_seconds' | 'writers'>): string {
  const interval = d.expected_interval_seconds === null ? 'no expected interval' : `expected every ${duration(d.expected_interval_seconds)}`;
  const write = d.last_write;
  if (d.writers.length === 0) return 'no pipeline here writes it: a source';
  if (!write) return `no write of it has happened yet; its writer has ${interval}`;
  return `last written ${ago(write.at)} by ${write.pipeline}, ${d.expected_interval_seconds === null ? 'which has no expected interval' : interval}`;
}

/** A dataset's freshness: its badge, and against what it is judged. */
export function freshnessCell(d: Dataset): HTMLElement {
  return h('span', { class: 'status', 'data-freshness': d.freshness }, badge(d.freshness), h('span', { class: 'also' }, freshnessWords(d)));
}

export const pipelineLink = (pipeline: string) => h('a', { href: href('pipeline', pipeline), 'data-pipeline': pipeline }, pipeline);
export const datasetLink = (id: string, name: string) => h('a', { href: href('dataset', id), 'data-dataset': id }, name);

/** Links, comma-separated; `none` when there are none. */
export function linkList(links: HTMLElement[], none = '–'): Child {
  return links.length === 0 ? none : links.flatMap((link, i) => (i === 0 ? [link] : [', ', link]));
}

/** The values of `filters` in the route's query, '' where absent: what a filtered page asks and shows. */
export function filterParams<F extends string>(route: Route, filters: readonly F[]): Record<F, string> {
  return Object.fromEntries(filters.map((name) => [name, route.params.get(name) ?? ''])) as Record<F, string>;
}

export function filterField(name: string, label: string, value: string, type = 'search'): HTMLElement {
  return h('label', null, label, h('input', { name, type, value, autocomplete: 'off', spellcheck: 'false' }));
}

/** A search form of filters (its fields among `children`): submitted, `go` gets each of `filters` trimmed. */
export function filterForm(filters: readonly string[], go: (values: Record<string, string>) => void, ...children: Child[]): HTMLFormElement {
  const submit = (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    go(Object.fromEntries(filters.map((name) => [name, String(data.get(name) ?? '').trim()])));
  };
  return h('form', { class: 'filters', role: 'search', onsubmit: submit }, ...children);
}
