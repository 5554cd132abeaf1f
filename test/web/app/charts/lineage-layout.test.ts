/** The lineage graph's layout: layers by edges from the root, rows untangled, edges from right side to left side. */
import { describe, expect, it } from 'vitest';
import { layers, layoutLineage, NODE_SIZE, type LayoutGraph } from '../../../../web/app/charts/lineage-layout.js';

const graph = (root: string, edges: [string, string][], extra: string[] = []): LayoutGraph => ({
  root,
  nodes: [...new Set([root, ...edges.flat(), ...extra])].map((id) => ({ id })),
  edges: edges.map(([source, target]) => ({ source, target })),
});

/** shop → loader → orders → report → revenue → export, and orders → audit. */
const chain = graph('p:report', [
  ['d:shop', 'p:loader'],
  ['p:loader', 'd:orders'],
  ['d:orders', 'p:report'],
  ['p:report', 'd:revenue'],
  ['d:revenue', 'p:export'],
  ['d:orders', 'p:audit'],
]);

describe('the lineage layout', () => {
  it('puts what feeds the root to its left and what it feeds to its right, one layer per edge', () => {
    expect(Object.fromEntries(layers(chain))).toEqual({
      'p:report': 0,
      'd:revenue': 1,
      'p:export': 2,
      'd:orders': -1,
      'p:loader': -2,
      'p:audit': 0,
      'd:shop': -3,
    });
    const layout = layoutLineage(chain);
    const x = Object.fromEntries(layout.nodes.map((n) => [n.id, n.x]));
    expect(x['d:shop']).toBe(0);
    expect(x['p:loader']! < x['d:orders']! && x['d:orders']! < x['p:report']! && x['p:report']! < x['d:revenue']!).toBe(true);
    expect(layout.width).toBe(6 * NODE_SIZE.width + 5 * NODE_SIZE.gapX);
    // Two nodes share the root's layer: the tallest layer sets the height.
    expect(layout.height).toBe(2 * NODE_SIZE.height + NODE_SIZE.gapY);
  });

  it("routes every edge from its source's right side to its target's left side, arrows pointing right", () => {
    const layout = layoutLineage(chain);
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    expect(layout.edges).toHaveLength(6);
    for (const edge of layout.edges) {
      const [from, to] = [at.get(edge.source)!, at.get(edge.target)!];
      const numbers = edge.path.match(/-?\d+(\.\d+)?/g)!.map(Number);
      expect(numbers.slice(0, 2), edge.source).toEqual([from.x + NODE_SIZE.width, from.y + NODE_SIZE.height / 2]);
      expect(numbers.slice(-2), edge.target).toEqual([to.x, to.y + NODE_SIZE.height / 2]);
      expect(edge.back).toBe(false);
    }
  });

  it('never overlaps two nodes, and orders a layer by its neighbours so that a fan does not cross', () => {
    // Two writers each feeding their own dataset, listed crossed: b's dataset first.
    const fan = graph('d:root', [
      ['p:a', 'd:root'],
      ['p:b', 'd:root'],
      ['d:for-b', 'p:b'],
      ['d:for-a', 'p:a'],
    ]);
    fan.nodes = ['d:root', 'p:a', 'p:b', 'd:for-b', 'd:for-a'].map((id) => ({ id }));
    const layout = layoutLineage(fan);
    const row = Object.fromEntries(layout.nodes.map((n) => [n.id, n.row]));
    expect(row['d:for-a']! < row['d:for-b']!).toBe(row['p:a']! < row['p:b']!);
    const boxes = layout.nodes.map((n) => `${n.x},${n.y}`);
    expect(new Set(boxes).size).toBe(boxes.length);
  });

  it("draws a cycle's closing edge backwards, and ends: a pipeline reading what it writes", () => {
    const cycle = graph('p:self', [
      ['p:self', 'd:table'],
      ['d:table', 'p:self'],
    ]);
    const layout = layoutLineage(cycle);
    expect(layout.nodes.map((n) => [n.id, n.layer])).toEqual([
      ['p:self', 0],
      ['d:table', 1],
    ]);
    expect(layout.edges.map((e) => [e.source, e.back])).toEqual([
      ['p:self', false],
      ['d:table', true],
    ]);
  });

  it('puts a node that is both upstream and downstream (a cycle through the root) where it is nearer', () => {
    // raw feeds the root directly, and comes back from it three edges on.
    const loop = graph('p:root', [
      ['d:raw', 'p:root'],
      ['p:root', 'd:out'],
      ['d:out', 'p:back'],
      ['p:back', 'd:raw'],
    ]);
    expect(Object.fromEntries(layers(loop))).toEqual({ 'p:root': 0, 'd:out': 1, 'p:back': 2, 'd:raw': -1 });
    const layout = layoutLineage(loop);
    const back = layout.edges.filter((e) => e.back);
    expect(back.map((e) => [e.source, e.target])).toEqual([['p:back', 'd:raw']]);
    // It runs under every node, inside the drawing, from the source's right side into the target's left side.
    const ys = back[0]!.path.match(/-?\d+(\.\d+)?/g)!.map(Number).filter((_, i) => i % 2 === 1);
    const bottom = Math.max(...layout.nodes.map((n) => n.y + NODE_SIZE.height));
    expect(Math.max(...ys)).toBeGreaterThan(bottom);
    expect(Math.max(...ys)).toBeLessThan(layout.height);
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    const numbers = back[0]!.path.match(/-?\d+(\.\d+)?/g)!.map(Number);
    expect(numbers.slice(0, 1)).toEqual([at.get('p:back')!.x + NODE_SIZE.width]);
    expect(numbers.slice(-2, -1)).toEqual([at.get('d:raw')!.x]);
  });

  it('lays out a lone root, and keeps a node no edge reaches beside the root', () => {
    expect(layoutLineage(graph('p:alone', []))).toMatchObject({ width: NODE_SIZE.width, height: NODE_SIZE.height, edges: [] });
    const stray = layoutLineage(graph('p:root', [['d:x', 'p:y']], ['p:far']));
    expect(Object.fromEntries(stray.nodes.map((n) => [n.id, n.layer]))).toEqual({ 'p:root': 0, 'd:x': 0, 'p:y': 1, 'p:far': 0 });
  });
});
