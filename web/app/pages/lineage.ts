/**
 * The lineage graph around a pipeline or a dataset (`#/lineage?pipeline=NAME` or `?dataset=ID`), with
 * its direction and depth in the URL; the dataset page draws the same graph around its dataset.
 */
import { getJson } from '../lib/api.js';
import { lineageChart } from '../charts/lineage.js';
import { fill, h } from '../lib/dom.js';
import { href, type Route } from '../lib/router.js';
import type { LineageGraph } from '../lib/types.js';
import { REFRESH_MS, refill, type Mount } from '../lib/view.js';

const DIRECTIONS = [
  ['both', 'Both ways'],
  ['up', 'Upstream: what it is made from'],
  ['down', 'Downstream: who uses it'],
] as const;
type Direction = (typeof DIRECTIONS)[number][0];
const DEPTHS = Array.from({ length: 10 }, (_, i) => String(i + 1));
const DEFAULT_DEPTH = '2';

export interface LineageRoot {
  pipeline?: string;
  /** A dataset id. */
  dataset?: string;
}

/** The URL's direction and depth, or the API's defaults where they name none it takes. */
export function graphParams(params: URLSearchParams): { direction: Direction; depth: string } {
  const direction = DIRECTIONS.find(([value]) => value === params.get('direction'))?.[0] ?? 'both';
  const depth = params.get('depth') ?? '';
  return { direction, depth: DEPTHS.includes(depth) ? depth : DEFAULT_DEPTH };
}

/** The direction and depth fields; submitting goes to `to(changes)`. */
function controls(chosen: { direction: Direction; depth: string }, to: (changes: Record<string, string>) => string): HTMLElement {
  return h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Graph',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const data = new FormData(event.target as HTMLFormElement);
        location.hash = to({ direction: String(data.get('direction')), depth: String(data.get('depth')) });
      },
    },
    h('label', null, 'Direction', h('select', { name: 'direction' }, DIRECTIONS.map(([value, words]) => h('option', { value, selected: value === chosen.direction }, words)))),
    h('label', null, 'Depth (pipeline hops)', h('select', { name: 'depth' }, DEPTHS.map((value) => h('option', { value, selected: value === chosen.depth }, value)))),
    h('button', { type: 'submit' }, 'Show'),
  );
}

/** The graph's controls and drawing around `root`; `to` gives the address of this page with other controls. */
export function lineageView(root: LineageRoot, params: URLSearchParams, to: (changes: Record<string, string>) => string) {
  const chosen = graphParams(params);
  const drawing = h('div');
  return {
    element: h('div', null, controls(chosen, to), drawing),
    /** Draws the graph; `name` names the root in words. Returns it, for the page's own heading. */
    async refresh(name: (graph: LineageGraph) => string): Promise<LineageGraph> {
      const graph = await getJson('/api/v1/lineage', { ...root, direction: chosen.direction, depth: Number(chosen.depth) });
      refill(drawing, lineageChart(graph, name(graph)));
      return graph;
    },
  };
}

/** The root's name: the pipeline's, or the dataset's as the graph lists it. */
const rootName = (root: LineageRoot) => (graph: LineageGraph) => {
  const node = graph.nodes.find((n) => n.id === graph.root);
  return node?.kind === 'dataset' ? node.dataset.dataset : (root.pipeline ?? root.dataset ?? '');
};

const noRoot: Mount = () => ({
  title: 'Lineage',
  element: h(
    'div',
    null,
    h('h1', null, 'Lineage'),
    h('p', null, 'A lineage graph starts from a pipeline or a dataset: open one from its page, or ', h('a', { href: href('datasets') }, 'see the datasets'), '.'),
  ),
  intervalMs: null,
  refresh: async () => undefined,
});

export const mountLineage: Mount = (route: Route) => {
  const root: LineageRoot = { pipeline: route.params.get('pipeline') ?? undefined, dataset: route.params.get('dataset') ?? undefined };
  if (!root.pipeline && !root.dataset) return noRoot(route);
  const crumbs = h('p', { class: 'crumbs' });
  const heading = h('h1', null, 'Lineage of ', root.pipeline ?? `dataset ${root.dataset}`);
  const view = lineageView(root, route.params, (changes) => href('lineage', '', { ...root, ...changes }));
  return {
    title: `Lineage of ${root.pipeline ?? `dataset ${root.dataset}`}`,
    element: h('div', null, crumbs, heading, view.element),
    intervalMs: REFRESH_MS,
    async refresh() {
      const name = rootName(root);
      const graph = await view.refresh(name);
      fill(heading, 'Lineage of ', name(graph));
      fill(
        crumbs,
        root.pipeline
          ? [h('a', { href: href('overview') }, 'Pipelines'), ' / ', h('a', { href: href('pipeline', root.pipeline) }, root.pipeline), ' / ']
          : [h('a', { href: href('datasets') }, 'Datasets'), ' / ', h('a', { href: href('dataset', root.dataset) }, name(graph)), ' / '],
      );
    },
  };
};
