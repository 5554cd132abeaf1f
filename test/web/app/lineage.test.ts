/**
 * Lineage in the web view, in Debian's Chromium, against a receiver fed real records: SDK runs whose
 * stages name what they read and write (pipemon.lineage.inputs/outputs, test/helpers/lineage-graph.ts)
 * and an OpenLineage DatasetEvent with a schema. The graph draws the API's nodes and edges in layers with
 * their status words and links through to a dataset's page and on to a pipeline's; the direction and
 * depth controls redraw it; the failed upstream run's page shows who it leaves without data; the dataset
 * page shows freshness, writes and schema; the datasets list filters and pages; a refresh keeps the focus on its node. Every page passes axe.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { backends } from '../../helpers/backends.js';
import { CHROMIUM_HINT, launchChromium, openPage, ready, screenshot, seriousViolations } from '../../helpers/browser.js';
import { lineageGraphRecords } from '../../helpers/lineage-graph.js';
import { datasetEvent, facet } from '../../helpers/openlineage.js';
import { otlpJsonLogs } from '../../helpers/otlp-json.js';
import { getJson, post, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { required, tool, withTools } from '../../helpers/tools.js';

const chromiumPath = tool('lineage.test.ts', 'chromium', CHROMIUM_HINT);
const it = withTools(chromiumPath);

const SCHEMA = [
  { name: 'order_id', type: 'bigint', description: 'The shop order' },
  { name: 'amount', type: 'numeric(12,2)', description: null },
];

let r: TestReceiver;
let browser: Browser;

async function api<T = any>(path: string): Promise<T> {
  const { status, body } = await getJson<T>(r.url, path, r.key);
  expect(status, path).toBe(200);
  return body;
}

/** A page rendered; `clock` installs Playwright's clock first, so the test moves the page's time. */
async function rendered(fragment: string, page: string, clock = false) {
  const watched = await openPage(browser, { savedKey: r.key });
  if (clock) await watched.page.clock.install();
  await watched.page.goto(`${r.url}/${fragment}`);
  await ready(watched.page, page);
  return watched;
}

/** The id of the dataset of this one name. */
async function datasetId(name: string): Promise<string> {
  const found = (await api(`/api/v1/datasets?q=${encodeURIComponent(name)}`)).items.find((d: any) => d.dataset === name);
  expect(found, name).toBeTruthy();
  return found.id;
}

/** What the drawing shows: each node's id, words and place, and each edge. */
async function drawn(page: Page) {
  return page.evaluate(() => ({
    nodes: [...document.querySelectorAll('svg.lineage-graph a[data-node]')].map((a) => ({
      id: a.getAttribute('data-node')!,
      label: a.querySelector('title')!.textContent!,
      word: a.querySelector('.node-word')!.textContent!,
      href: a.getAttribute('href')!,
      x: (a as SVGGraphicsElement).getBoundingClientRect().left,
      shape: a.querySelector('.shape')!.tagName,
    })),
    edges: [...document.querySelectorAll('svg.lineage-graph [data-edge]')].map((edge) => edge.getAttribute('data-edge')!),
    heads: document.querySelectorAll('svg.lineage-graph marker path').length,
  }));
}

async function noProblems(page: Page, problems: string[], name: string) {
  expect(await seriousViolations(page), name).toEqual([]);
  expect(problems, name).toEqual([]);
}

beforeAll(async () => {
  if (!chromiumPath && !process.env.CI) return;
  browser = await launchChromium(required('chromium', chromiumPath, CHROMIUM_HINT));
  r = await startTestReceiver({ databaseUrl: await backends()[0]!.databaseUrl() });
  const logs = await post(r.url, '/v1/logs', otlpJsonLogs({ 'service.name': 'etl' }, lineageGraphRecords(Date.now())), { key: r.key, contentType: 'application/json' });
  expect(logs.status).toBe(200);
  const schema = { ...datasetEvent(), dataset: { namespace: 'dw', name: 'orders', facets: { schema: facet('SchemaDatasetFacet', { fields: SCHEMA }) } } };
  expect((await post(r.url, '/api/v1/lineage', JSON.stringify(schema), { key: r.key, contentType: 'application/json' })).status).toBeLessThan(300);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await r?.close();
});

describe('lineage in the web view', () => {
  it('draws the graph around a pipeline: the API\'s nodes and edges, upstream left and downstream right, with their status words', async () => {
    const graph = await api('/api/v1/lineage?pipeline=transform&depth=3');
    const { page, context, problems } = await rendered('#/lineage?pipeline=transform&depth=3', 'lineage');
    await screenshot(page, 'lineage-transform');
    const shown = await drawn(page);
    expect(shown.nodes.map((n) => n.id).sort()).toEqual(graph.nodes.map((n: any) => n.id).sort());
    expect(shown.edges.sort()).toEqual(graph.edges.map((e: any) => `${e.source} ${e.target}`).sort());
    expect(shown.heads).toBe(1);
    const node = (id: string) => shown.nodes.find((n) => n.id === id)!;
    // transform's latest run failed; ml's went silent: the words of the pipelines list.
    expect(node('pipeline:transform').word).toBe('failing');
    expect(node('pipeline:transform').label).toMatch(/^transform, pipeline: failing.*\(the graph starts here\)$/);
    expect(node('pipeline:ml').word).toBe('stuck');
    expect(node('pipeline:transform').shape).toBe('rect');
    for (const n of graph.nodes.filter((n: any) => n.kind === 'dataset')) {
      expect(node(n.id).word, n.id).toBe(`${n.dataset.freshness} · ${n.dataset.namespace}`);
      expect(node(n.id).shape).toBe('path');
      expect(node(n.id).href).toBe(`#/datasets/${n.dataset.id}`);
    }
    expect(node('pipeline:report').href).toBe('#/pipelines/report');
    // Upstream to the left, downstream to the right, one layer per edge.
    const [rawOrders, orders] = [await datasetId('dw://raw_orders'), await datasetId('dw://orders')];
    const x = (id: string) => node(id).x;
    expect(x('pipeline:extract')).toBeLessThan(x(`dataset:${rawOrders}`));
    expect(x(`dataset:${rawOrders}`)).toBeLessThan(x('pipeline:transform'));
    expect(x('pipeline:transform')).toBeLessThan(x(`dataset:${orders}`));
    expect(x(`dataset:${orders}`)).toBeLessThan(x('pipeline:report'));
    // The text equivalent lists every node with the same status.
    const rows = await page.$$eval('table.lineage-nodes tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toHaveLength(graph.nodes.length);
    expect(rows.find((row) => row[1] === 'transform')![2]).toMatch(/^failing/);
    await noProblems(page, problems, 'lineage of transform');
    await context.close();
  });

  it('redraws from the direction and depth controls, which stay in the URL', async () => {
    const down = await api('/api/v1/lineage?pipeline=transform&direction=down&depth=1');
    const { page, context, problems } = await rendered('#/lineage?pipeline=transform', 'lineage');
    await page.getByLabel('Direction').selectOption('down');
    await page.getByLabel('Depth (pipeline hops)').selectOption('1');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForFunction(() => location.hash.includes('direction=down'));
    await ready(page, 'lineage');
    const params = new URLSearchParams(await page.evaluate(() => location.hash.split('?')[1]!));
    expect([params.get('pipeline'), params.get('direction'), params.get('depth')]).toEqual(['transform', 'down', '1']);
    const shown = await drawn(page);
    expect(shown.nodes.map((n) => n.id).sort()).toEqual(down.nodes.map((n: any) => n.id).sort());
    expect(shown.nodes.map((n) => n.id)).not.toContain('pipeline:extract');
    expect(await page.getByLabel('Direction').inputValue()).toBe('down');
    expect(problems).toEqual([]);
    await context.close();
  });

  it("clicks through from a dataset's node to its page (freshness, writes, schema), and on to a pipeline that reads it", async () => {
    const id = await datasetId('dw://orders');
    const detail = await api(`/api/v1/datasets/${id}`);
    const { page, context, problems } = await rendered('#/lineage?pipeline=transform', 'lineage');
    await page.click(`svg.lineage-graph a[data-node="dataset:${id}"]`);
    await ready(page, 'dataset');
    await screenshot(page, 'dataset-orders');
    expect(await page.textContent('h1')).toBe('dw://orders');
    const tile = (label: string) =>
      page.evaluate((l) => [...document.querySelectorAll('.tile')].find((t) => t.querySelector('dt')!.textContent === l)!.querySelector('dd')!.textContent!, label);
    // transform's last successful write of it is t-1's, five hours ago, against its hourly interval.
    expect(detail.freshness).toBe('stale');
    expect(await tile('Freshness')).toMatch(/^stale\s*last written 5 h \d\d min ago by transform, expected every 1 h 00 min$/);
    expect(await page.getAttribute('[data-run]', 'data-run')).toBe('t-1');
    const writes = await page.$$eval('table.writes tbody tr', (trs) => trs.map((tr) => ({ run: tr.querySelector('a')!.getAttribute('href'), text: tr.textContent! })));
    expect(writes.map((w) => w.run)).toEqual(['#/runs/t-2', '#/runs/t-1']);
    expect(writes[0]!.text).toMatch(/not counted$/);
    expect(writes[1]!.text).toMatch(/90written$/);
    expect(await page.$$eval('.history .bar', (bars) => bars.map((bar) => bar.getAttribute('class')))).toEqual(['bar bar-written', 'bar bar-notcounted']);
    const fields = await page.$$eval('section[aria-labelledby="s-schema"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(fields).toEqual(SCHEMA.map((f) => [f.name, f.type, f.description ?? '–']));
    // Its graph, and who writes and reads it.
    expect((await drawn(page)).nodes.map((n) => n.id)).toContain('pipeline:report');
    await noProblems(page, problems, 'dataset page');
    await page.click('section[aria-labelledby="s-read-by"] a[data-pipeline="report"]');
    await ready(page, 'pipeline');
    expect(await page.textContent('h1')).toBe('report');
    // transform, which writes what report reads, is failing: report says it waits on it, with a link.
    expect(await page.textContent('.status .waits')).toBe('Waits on transform upstream');
    expect(await page.getAttribute('.status .waits a', 'href')).toBe('#/pipelines/transform');
    await page.click('a.lineage-link');
    await ready(page, 'lineage');
    expect((await drawn(page)).nodes.find((n) => n.id === 'pipeline:report')!.label).toContain('(the graph starts here)');
    await context.close();
  });

  it("shows on a failed upstream run's page what it did not write and who reads it, by distance", async () => {
    const run = await api('/api/v1/runs/t-2');
    expect(run.impact.pipelines.length).toBeGreaterThan(0);
    const { page, context, problems } = await rendered('#/runs/t-2', 'run');
    await screenshot(page, 'run-impact');
    const impact = await page.evaluate(() => {
      const section = document.querySelector('section.impact')!;
      const rows = (table: string) => [...section.querySelectorAll(`table.${table} tbody tr`)].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent));
      return { heading: section.querySelector('h2')!.textContent, summary: section.querySelector('.impact-summary')!.textContent, datasets: rows('impact-datasets'), pipelines: rows('impact-pipelines') };
    });
    expect(impact.heading).toBe('Downstream impact');
    expect(impact.summary).toMatch(new RegExp(`^This run failed: ${run.impact.datasets.length} datasets .* ${run.impact.pipelines.length} pipelines downstream`));
    expect(impact.datasets.map((row) => row[0])).toEqual(run.impact.datasets.map((d: any) => d.dataset));
    expect(impact.datasets[0]).toEqual(['dw://orders', 'its own output, not written']);
    expect(impact.pipelines).toContainEqual(['report', '1 hop: reads its output']);
    expect(impact.pipelines).toContainEqual(['feedback', '2 hops, through others']);
    expect(impact.pipelines.map((row) => row[0])).toEqual(run.impact.pipelines.map((p: any) => p.pipeline));
    const datasets = await page.$$eval('table.run-datasets tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)));
    expect(datasets).toEqual(expect.arrayContaining([['read', 'dw://raw_orders', 'build'], ['wrote', 'dw://orders', 'build'], ['wrote', 'dw://customers', 'build_customers']]));
    await noProblems(page, problems, 'failed run');
    await context.close();

    // A run that succeeded leaves no one without data: no impact section.
    const ok = await rendered('#/runs/r-1', 'run');
    expect(await ok.page.isHidden('section.impact')).toBe(true);
    await ok.context.close();
  });

  it('lists the datasets by filter, pages on request, and reaches a graph node from the keyboard, which keeps the focus through a refresh', async () => {
    const all = (await api('/api/v1/datasets')).items.map((d: any) => d.dataset);
    const { page, context, problems } = await rendered('#/datasets?limit=3', 'datasets');
    expect(await page.getAttribute('nav a[aria-current=page]', 'href')).toBe('#/datasets');
    const names = () => page.$$eval('table.datasets tbody a[data-dataset]', (links) => links.map((link) => link.textContent));
    expect(await names()).toEqual(all.slice(0, 3));
    await page.getByRole('button', { name: 'More datasets' }).click();
    await expect.poll(names).toEqual(all.slice(0, 6));
    await noProblems(page, problems, 'datasets');
    await page.getByLabel('Name contains').fill('orders');
    await page.getByLabel('Name contains').press('Enter');
    await page.waitForFunction(() => location.hash.includes('q=orders'));
    // The page redraws on the hash's change, after it: until then it still says it is ready with the list before.
    await expect.poll(names).toEqual(all.filter((name: string) => name.includes('orders')));
    await context.close();

    const { page: graph, context: graphContext } = await rendered('#/lineage?pipeline=transform', 'lineage', true);
    let reached = false;
    for (let presses = 0; presses < 40 && !reached; presses++) {
      await graph.keyboard.press('Tab');
      reached = await graph.evaluate(() => document.activeElement?.getAttribute('data-node') === 'pipeline:report');
    }
    expect(reached).toBe(true);
    // The refresh 15 s on draws the graph anew, and the focus stays on the same node.
    const before = await graph.evaluateHandle(() => document.querySelector('svg.lineage-graph'));
    await graph.clock.fastForward(16_000);
    await graph.waitForFunction((old) => document.querySelector('svg.lineage-graph') !== old, before);
    expect(await graph.evaluate(() => document.activeElement?.getAttribute('data-node'))).toBe('pipeline:report');
    await graph.keyboard.press('Enter');
    await ready(graph, 'pipeline');
    expect(await graph.textContent('h1')).toBe('report');
    await graphContext.close();
  });
});
