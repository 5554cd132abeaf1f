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
  /** It goes right to left or within a layer (a cycle's closing edge): drawn under the nodes. */
  back: boolean;
}

export interface Layout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: RoutedEdge[];
}

export const NODE_SIZE = { width: 180, height: 50, gapX: 56, gapY: 20 };

type Size = typeof NODE_SIZE;

/** Edges from the root to each node it reaches following edges `from` → `to`. */
function distances(graph: LayoutGraph, from: 'source' | 'target', to: 'source' | 'target'): Map<string, number> {
  const found = new Map<string, number>([[graph.root, 0]]);
  const queue = [graph.root];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const edge of graph.edges) {
      if (edge[from] !== at || found.has(edge[to])) continue;
      found.set(edge[to], found.get(at)! + 1);
      queue.push(edge[to]);
    }
  }
  return found;
}

/**
 * Each node's layer: downstream of the root to its right, upstream to its left, at its distance in edges.
 * A node both ways (a cycle through the root) goes where it is nearer, downstream on a tie.
 */
export function layers(graph: LayoutGraph): Map<string, number> {
  const [down, up] = [distances(graph, 'source', 'target'), distances(graph, 'target', 'source')];
  const layer = new Map<string, number>();
  for (const [id, edges] of down) layer.set(id, edges);
  for (const [id, edges] of up) if (edges < (down.get(id) ?? Infinity)) layer.set(id, -edges);
  // Nodes neither way reaches from the root (the API's walks leave none): beside a placed neighbour, and
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

/** A cycle's closing edge: out of the source's right side, back along `below` under every node, into the target's left side. */
function routeBack(from: PlacedNode, to: PlacedNode, size: Size, below: number): string {
  const [x1, y1] = [from.x + size.width, from.y + size.height / 2];
  const [x2, y2] = [to.x, to.y + size.height / 2];
  const bend = size.gapX / 2;
  return `M${x1},${y1} C${x1 + bend},${y1} ${x1 + bend},${below} ${x1},${below} L${x2},${below} C${x2 - bend},${below} ${x2 - bend},${y2} ${x2},${y2}`;
}

/** Room under the nodes for each closing edge's own line. */
const BACK_LANE = 8;

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
  const nodesHeight = tallest * pitchY - size.gapY;
  let lanes = 0;
  const edges = graph.edges.flatMap(({ source, target }) => {
    const [from, to] = [placed.get(source), placed.get(target)];
    if (!from || !to) return [];
    if (to.layer > from.layer) return [{ source, target, path: route(from, to, size), back: false }];
    lanes += 1;
    return [{ source, target, path: routeBack(from, to, size, nodesHeight + size.gapY / 2 + lanes * BACK_LANE), back: true }];
  });
  const columns = numbers.length ? Math.max(...numbers) - first + 1 : 1;
  return {
    width: columns * size.width + (columns - 1) * size.gapX,
    height: nodesHeight + (lanes ? size.gapY / 2 + (lanes + 1) * BACK_LANE : 0),
    nodes: graph.nodes.flatMap(({ id }) => placed.get(id) ?? []),
    edges,
  };
}
