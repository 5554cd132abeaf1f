/**
 * Where a lineage graph's nodes go: layers left to right, the root's in the middle, what feeds it to
 * the left and what it feeds to the right, one layer per edge walked (pipeline, dataset, pipeline...).
 * Within a layer nodes are ordered by their neighbours' rows (a few barycentre sweeps), which untangles
 * the usual chains and fans. Pure arithmetic on ids, so it is tested without a browser.
 */

export interface LayoutGraph {
  root: string;
  /** In the order the API lists them (by hops, then id): the first order of each layer. */
  nodes: readonly { id: string }[];
  edges: readonly { source: string; target: string }[];
}

export interface PlacedNode {
  id: string;
  /** Edges from the root: negative upstream, positive downstream. */
  layer: number;
  /** Position in its layer, from the top. */
  row: number;
  /** The node's top-left corner. */
  x: number;
  y: number;
}

export interface RoutedEdge {
  source: string;
  target: string;
  /** An SVG path from the source's right side to the target's left side. */
  path: string;
  /** It goes right to left or within a layer: a cycle's closing edge. */
  back: boolean;
}

export interface Layout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: RoutedEdge[];
}

export const NODE_SIZE = { width: 210, height: 50, gapX: 80, gapY: 20 };

type Size = typeof NODE_SIZE;

/** Each node's layer: downstream walks first (forward along edges), then upstream, then whatever hangs off those. */
export function layers(graph: LayoutGraph): Map<string, number> {
  const layer = new Map<string, number>([[graph.root, 0]]);
  const walk = (from: 'source' | 'target', to: 'source' | 'target', step: number) => {
    const queue = [graph.root];
    for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
      for (const edge of graph.edges) {
        if (edge[from] !== at || layer.has(edge[to])) continue;
        layer.set(edge[to], layer.get(at)! + step);
        queue.push(edge[to]);
      }
    }
  };
  walk('source', 'target', 1);
  walk('target', 'source', -1);
  // Nodes neither walk reaches from the root (the API's walks leave none): beside a placed neighbour, and
  // a part the root's edges do not reach at all from its first node, in the root's layer.
  for (const stray of graph.nodes) {
    placeNeighbours(graph, layer);
    if (!layer.has(stray.id)) layer.set(stray.id, 0);
  }
  placeNeighbours(graph, layer);
  return layer;
}

function placeNeighbours(graph: LayoutGraph, layer: Map<string, number>): void {
  for (let changed = true; changed; ) {
    changed = false;
    for (const { source, target } of graph.edges) {
      if (layer.has(source) && !layer.has(target)) layer.set(target, layer.get(source)! + 1);
      else if (layer.has(target) && !layer.has(source)) layer.set(source, layer.get(target)! - 1);
      else continue;
      changed = true;
    }
  }
}

const SWEEPS = 3;

/** Orders each layer by the mean row of its neighbours in the layer before it, left to right then back. */
function order(graph: LayoutGraph, layer: Map<string, number>): Map<number, string[]> {
  const byLayer = new Map<number, string[]>();
  for (const { id } of graph.nodes) byLayer.set(layer.get(id)!, [...(byLayer.get(layer.get(id)!) ?? []), id]);
  const numbers = [...byLayer.keys()].sort((a, b) => a - b);
  const adjacent = new Map<string, string[]>();
  for (const { source, target } of graph.edges) {
    adjacent.set(source, [...(adjacent.get(source) ?? []), target]);
    adjacent.set(target, [...(adjacent.get(target) ?? []), source]);
  }
  const neighbours = (id: string, side: number) => (adjacent.get(id) ?? []).filter((n) => layer.get(n) === side);
  const sweep = (current: number, side: number) => {
    const rowOf = new Map((byLayer.get(side) ?? []).map((id, row) => [id, row]));
    const ids = byLayer.get(current)!;
    const weight = new Map(
      ids.map((id, row) => {
        const rows = neighbours(id, side).map((n) => rowOf.get(n)!);
        return [id, rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : row];
      }),
    );
    byLayer.set(current, [...ids].sort((a, b) => weight.get(a)! - weight.get(b)!));
  };
  for (let i = 0; i < SWEEPS; i++) {
    for (const n of numbers.slice(1)) sweep(n, n - 1);
    for (const n of numbers.slice(0, -1).reverse()) sweep(n, n + 1);
  }
  return byLayer;
}

/** A curve leaving the source's right side and entering the target's left side, so the arrow points right. */
function route(from: PlacedNode, to: PlacedNode, size: Size): string {
  const [x1, y1] = [from.x + size.width, from.y + size.height / 2];
  const [x2, y2] = [to.x, to.y + size.height / 2];
  const bend = Math.max(size.gapX / 2, Math.abs(x2 - x1) / 2);
  return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
}

export function layoutLineage(graph: LayoutGraph, size: Size = NODE_SIZE): Layout {
  const layer = layers(graph);
  const byLayer = order(graph, layer);
  const numbers = [...byLayer.keys()];
  const first = Math.min(...numbers, 0);
  const tallest = Math.max(...[...byLayer.values()].map((ids) => ids.length), 1);
  const pitchY = size.height + size.gapY;
  const placed = new Map<string, PlacedNode>();
  for (const [n, ids] of byLayer) {
    // Shorter layers are centred against the tallest.
    const top = ((tallest - ids.length) * pitchY) / 2;
    ids.forEach((id, row) => placed.set(id, { id, layer: n, row, x: (n - first) * (size.width + size.gapX), y: top + row * pitchY }));
  }
  const edges = graph.edges.flatMap(({ source, target }) => {
    const [from, to] = [placed.get(source), placed.get(target)];
    return from && to ? [{ source, target, path: route(from, to, size), back: to.layer <= from.layer }] : [];
  });
  const columns = numbers.length ? Math.max(...numbers) - first + 1 : 1;
  return {
    width: columns * size.width + (columns - 1) * size.gapX,
    height: tallest * pitchY - size.gapY,
    nodes: graph.nodes.flatMap(({ id }) => placed.get(id) ?? []),
    edges,
  };
}
