/**
 * A lineage graph as SVG: pipelines as rounded boxes coloured by their status, datasets as cylinders
 * coloured by their freshness, each with its word written out and each a link to its page; edges are
 * arrows, writes from a pipeline to a dataset, reads from a dataset to a pipeline. Beside it, the same
 * graph as a table (what each node comes from and goes to), for screen readers and for copying names.
 */
import { h, svg } from '../lib/dom.js';
import { count } from '../lib/format.js';
import { href } from '../lib/router.js';
import { conditions } from '../lib/status.js';
import type { LineageEdge, LineageGraph, LineageNode } from '../lib/types.js';
import { datasetLink, freshnessCell, linkList, pipelineLink, statusCell, table } from '../lib/view.js';
import { layoutLineage, NODE_SIZE, type Layout, type PlacedNode } from './lineage-layout.js';

const { width: W, height: H } = NODE_SIZE;
/** Characters that fit a node's width at the stylesheet's node font. */
const FITS = 21;
const ARROW = 'lineage-arrow';

const clip = (text: string) => (text.length > FITS ? `${text.slice(0, FITS - 1)}…` : text);

/** A node's words: its full name, the name and second line its box shows, its status or freshness, and its page. */
function wordsOf(node: LineageNode) {
  if (node.kind === 'pipeline') {
    const [word, ...also] = conditions(node.pipeline);
    const name = node.pipeline.pipeline;
    return { full: name, shown: name, word: word!, second: word!, also: also.length ? `also ${also.join(', ')}` : '', link: href('pipeline', name) };
  }
  const { dataset } = node;
  return { full: dataset.dataset, shown: dataset.name, word: dataset.freshness, second: `${dataset.freshness} · ${dataset.namespace}`, also: '', link: href('dataset', dataset.id) };
}

/** A cylinder: the usual drawing of stored data. */
function cylinder(): SVGElement {
  const r = 7;
  return svg('path', { class: 'shape', d: `M0,${r} A${W / 2},${r} 0 0 0 ${W},${r} V${H - r} A${W / 2},${r} 0 0 1 0,${H - r} Z M0,${r} A${W / 2},${r} 0 0 1 ${W},${r}` });
}

function drawNode(node: LineageNode, at: PlacedNode, root: boolean): SVGElement {
  const words = wordsOf(node);
  const label = `${words.full}, ${node.kind}: ${words.word}${words.also ? `, ${words.also}` : ''}${root ? ' (the graph starts here)' : ''}`;
  const shape = node.kind === 'pipeline' ? svg('rect', { class: 'shape', width: W, height: H, rx: 10 }) : cylinder();
  const top = node.kind === 'dataset' ? 24 : 21;
  return svg(
    'a',
    // Named by its title, which starts with its full name (the box may show it cut short).
    { href: words.link, class: `node node-${node.kind} node-${words.word}${root ? ' node-root' : ''}`, 'data-node': node.id, transform: `translate(${at.x},${at.y})` },
    svg('title', null, label),
    shape,
    svg('text', { class: 'node-name', x: 12, y: top }, clip(words.shown)),
    svg('text', { class: 'node-word', x: 12, y: top + 16 }, clip(words.second)),
  );
}

function edgeTitle(edge: LineageEdge): string {
  const stages = edge.stages.length ? ` (stage ${edge.stages.join(', ')})` : '';
  const rows = edge.rows === null ? '' : `, last ${count(edge.rows)} rows`;
  return `${edge.pipeline}${stages} ${edge.direction === 'write' ? 'writes' : 'reads'} it${rows}`;
}

function drawing(graph: LineageGraph, layout: Layout, name: string): SVGSVGElement {
  const nodes = new Map(graph.nodes.map((node) => [node.id, node]));
  const pad = 8;
  const marker = svg('marker', { id: ARROW, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' }, svg('path', { class: 'arrow-head', d: 'M0,0 L10,5 L0,10 z' }));
  const byId = new Map(graph.edges.map((edge) => [`${edge.source} ${edge.target}`, edge]));
  return svg(
    'svg',
    {
      class: 'lineage-graph',
      width: layout.width + 2 * pad,
      height: layout.height + 2 * pad,
      viewBox: `${-pad} ${-pad} ${layout.width + 2 * pad} ${layout.height + 2 * pad}`,
      role: 'group',
      'aria-label': `Lineage graph around ${name}: upstream to the left, downstream to the right`,
    },
    svg('defs', null, marker),
    layout.edges.map((edge) =>
      svg(
        'path',
        { class: `edge edge-${byId.get(`${edge.source} ${edge.target}`)!.direction}${edge.back ? ' edge-back' : ''}`, d: edge.path, 'marker-end': `url(#${ARROW})`, 'data-edge': `${edge.source} ${edge.target}` },
        svg('title', null, edgeTitle(byId.get(`${edge.source} ${edge.target}`)!)),
      ),
    ),
    layout.nodes.map((at) => drawNode(nodes.get(at.id)!, at, at.id === graph.root)),
  );
}

/** A node as a link to its page, in the table. */
function nodeLink(node: LineageNode): HTMLElement {
  return node.kind === 'pipeline' ? pipelineLink(node.pipeline.pipeline) : datasetLink(node.dataset.id, node.dataset.dataset);
}

const hopsText = (hops: number) => `${count(hops)} pipeline ${hops === 1 ? 'hop' : 'hops'}`;

/** The graph as rows, in the drawing's order (left to right, top to bottom): each node with its status, where it stands, and the nodes its edges come from and go to. */
function nodeRows(graph: LineageGraph, layout: Layout) {
  const nodes = new Map(graph.nodes.map((node) => [node.id, node]));
  const ends = (id: string, from: 'source' | 'target', to: 'source' | 'target') =>
    linkList(graph.edges.filter((edge) => edge[from] === id && nodes.has(edge[to])).map((edge) => nodeLink(nodes.get(edge[to])!)));
  const where = (node: LineageNode, at: PlacedNode) =>
    node.id === graph.root ? 'start' : `${at.layer < 0 ? 'upstream' : 'downstream'}, ${node.hops === 0 ? 'next to the start' : hopsText(node.hops)}`;
  return [...layout.nodes]
    .sort((a, b) => a.x - b.x || a.y - b.y)
    .map((at) => {
      const node = nodes.get(at.id)!;
      return [
        node.kind,
        nodeLink(node),
        node.kind === 'pipeline' ? statusCell(node.pipeline) : freshnessCell(node.dataset),
        where(node, at),
        ends(node.id, 'target', 'source'),
        ends(node.id, 'source', 'target'),
      ];
    });
}

/** `name` names the root in words, for the drawing's accessible name. */
export function lineageChart(graph: LineageGraph, name: string): HTMLElement {
  const pipelines = graph.nodes.filter((node) => node.kind === 'pipeline').length;
  const layout = layoutLineage(graph);
  return h(
    'figure',
    { class: 'lineage' },
    h('div', { class: 'lineage-scroll' }, drawing(graph, layout, name)),
    h(
      'figcaption',
      null,
      `${count(pipelines)} pipelines and ${count(graph.nodes.length - pipelines)} datasets, upstream to the left, downstream to the right: `,
      'boxes are pipelines (by status), cylinders are datasets (by freshness); arrows go from a pipeline to what it writes and from a dataset to who reads it; a dashed arrow under the others closes a cycle.',
      graph.truncated ? ' The walk stopped at its bound of 1,000 nodes: more lie beyond.' : '',
    ),
    table(`Lineage around ${name}`, ['Kind', 'Name', 'Status', 'Where', 'Comes from', 'Goes to'], nodeRows(graph, layout), { className: 'lineage-nodes' }),
  );
}
