/**
 * The web view in Debian's Chromium, against a receiver holding the demo's pipelines: every page in
 * light and dark without a console error and without serious accessibility violations (screenshots in
 * test-artifacts/web), the lineage pages among them (their behaviour is lineage.test.ts's), the demo's failing, stuck and suspect-data pipelines shown so, search, log rows
 * linked to their runs with their errors, a run's timeline and a stuck run's elapsed time, the run
 * history's axes, the health page's storage row, the key prompt, a refused key, and the first-start
 * link of a real `pipemon serve`.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Browser } from 'playwright-core';
import { DEMO_DATASETS, DEMO_PIPELINES, runDemo } from '../../../demo/index.js';
import { until } from '../../helpers/async.js';
import { backends } from '../../helpers/backends.js';
import { CHROMIUM_HINT, launchChromium, openPage, ready, screenshot, seriousViolations } from '../../helpers/browser.js';
import { spawnPipemon, tempDataDir } from '../../helpers/pipemon-process.js';
import { getJson, logsRequest, post, SeverityNumber, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { NO_END_REPORTED, TOLERATED } from '../../../dashboards/grafana/panels.js';
import { required, tool, withTools } from '../../helpers/tools.js';

const chromiumPath = tool('web-view.test.ts', 'chromium', CHROMIUM_HINT);
const it = withTools(chromiumPath);

/** A label of a chart's duration scale: a round value in one unit (charts/axis.ts). */
const TICK_DURATION = /^\d+(\.\d)? (ms|s|min|h|d)$/;

let r: TestReceiver;
let browser: Browser;

async function api<T = any>(path: string): Promise<T> {
  const { status, body } = await getJson<T>(r.url, path, r.key);
  expect(status, path).toBe(200);
  return body;
}

/** A page of the view with the receiver's key saved, rendered. */
async function rendered(fragment: string, page: string, colorScheme: 'light' | 'dark' = 'light') {
  const watched = await openPage(browser, { colorScheme, savedKey: r.key });
  await watched.page.goto(`${r.url}/${fragment}`);
  await ready(watched.page, page);
  return watched;
}

beforeAll(async () => {
  if (!chromiumPath && !process.env.CI) return;
  browser = await launchChromium(required('chromium', chromiumPath, CHROMIUM_HINT));
  r = await startTestReceiver({ databaseUrl: await backends()[0]!.databaseUrl() });
  await runDemo({ endpoint: r.url, key: r.key, days: 2, seed: 11 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await r?.close();
});

describe('the web view with the demo loaded', () => {
  it('renders every page in light and dark without a console error or a serious accessibility violation', async () => {
    const hung = (await api(`/api/v1/runs?pipeline=${DEMO_PIPELINES.hanging}&state=running`)).items[0];
    const failed = (await api(`/api/v1/runs?pipeline=${DEMO_PIPELINES.flaky}&result=failure&limit=1`)).items[0];
    const broken = (await api(`/api/v1/runs?pipeline=${DEMO_PIPELINES.loader}&result=failure&limit=1`)).items[0];
    const orders = (await api(`/api/v1/datasets?q=${encodeURIComponent(DEMO_DATASETS.orders)}`)).items[0];
    const pages: [string, string, string][] = [
      ['overview', '#/', 'overview'],
      ['pipeline-flaky', `#/pipelines/${DEMO_PIPELINES.flaky}`, 'pipeline'],
      ['pipeline-quality', `#/pipelines/${DEMO_PIPELINES.quality}`, 'pipeline'],
      ['run-failed', `#/runs/${encodeURIComponent(failed.run_id)}`, 'run'],
      ['run-hung', `#/runs/${encodeURIComponent(hung.run_id)}`, 'run'],
      ['run-impact', `#/runs/${encodeURIComponent(broken.run_id)}`, 'run'],
      ['datasets', '#/datasets', 'datasets'],
      ['dataset', `#/datasets/${orders.id}`, 'dataset'],
      ['lineage', `#/lineage?pipeline=${DEMO_PIPELINES.report}`, 'lineage'],
      ['logs', '#/logs?severity_min=WARN', 'logs'],
      ['health', '#/health', 'health'],
    ];
    for (const scheme of ['light', 'dark'] as const) {
      for (const [name, fragment, page] of pages) {
        const { page: tab, context, problems } = await rendered(fragment, page, scheme);
        await screenshot(tab, `${name}-${scheme}`);
        expect(await seriousViolations(tab), `${name} (${scheme})`).toEqual([]);
        expect(problems, `${name} (${scheme})`).toEqual([]);
        await context.close();
      }
      const { page: prompt, context, problems } = await openPage(browser, { colorScheme: scheme });
      await prompt.goto(`${r.url}/`);
      await ready(prompt, 'key');
      await screenshot(prompt, `key-prompt-${scheme}`);
      expect(await seriousViolations(prompt), `key prompt (${scheme})`).toEqual([]);
      expect(problems).toEqual([]);
      await context.close();
    }
  });

  it('shows every pipeline whose latest runs failed as failing, the hanging one as stuck, the ones with suspect data as warning, what needs attention first', async () => {
    const figures = (await api('/api/v1/metrics/pipelines')).items as any[];
    const failing = figures.filter((p) => p.consecutive_failures > 0).map((p) => p.pipeline);
    expect(failing).toContain(DEMO_PIPELINES.flaky);
    const { page, context } = await rendered('#/', 'overview');
    const rows = await page.$$eval('table.pipelines tbody tr', (trs) =>
      trs.map((tr) => ({
        pipeline: tr.querySelector('[data-pipeline]')!.getAttribute('data-pipeline')!,
        status: tr.querySelector('[data-status]')!.getAttribute('data-status')!,
        text: tr.textContent!,
      })),
    );
    expect(rows.map((row) => row.pipeline).sort()).toEqual(figures.map((p) => p.pipeline).sort());
    for (const pipeline of failing) expect(rows.find((row) => row.pipeline === pipeline)!.status, pipeline).toBe('failing');
    expect(rows.find((row) => row.pipeline === DEMO_PIPELINES.hanging)!.text).toMatch(/stuck/);
    expect(rows.find((row) => row.pipeline === DEMO_PIPELINES.stopped)!.text).toMatch(/late/);
    expect(rows.find((row) => row.pipeline === DEMO_PIPELINES.healthy)!.status).toMatch(/^(ok|running)$/);
    // Red means red: suspect data is never ok, and says why.
    const quality = rows.find((row) => row.pipeline === DEMO_PIPELINES.quality)!;
    expect(quality.status).toBe('warning');
    expect(quality.text).toMatch(/Latest run: checks? [^;]*null_ratio[^;]* failed; [\d,]+ rows rejected/);
    const zeroRows = rows.find((row) => row.pipeline === DEMO_PIPELINES.zeroRows)!;
    expect(zeroRows.status).toBe('warning');
    expect(zeroRows.text).toMatch(/Latest run: 0 rows written/);
    const rank = ['failing', 'stuck', 'late', 'warning', 'running', 'ok', 'idle'];
    const ranks = rows.map((row) => rank.indexOf(row.status));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    await context.close();

    const hung = (await api(`/api/v1/runs?pipeline=${DEMO_PIPELINES.hanging}&state=running`)).items[0];
    const run = await rendered(`#/runs/${encodeURIComponent(hung.run_id)}`, 'run');
    expect(await run.page.getAttribute('[data-status]', 'data-status')).toBe('stuck');
    expect(await run.page.textContent('main')).toMatch(/Stuck: running, and silent since/);
    await run.context.close();
  });

  it('finds a known record by searching its words, typed and submitted from the keyboard, and keeps the search in the URL', async () => {
    const known = (await api(`/api/v1/logs?pipeline=${DEMO_PIPELINES.flaky}&severity_min=ERROR&limit=1`)).items[0];
    expect(known?.body).toBeTruthy();
    const words = `"${known.body.split(/\s+/).slice(0, 6).join(' ')}"`;
    const { page, context, problems } = await rendered('#/logs', 'logs');
    await page.getByLabel('Search').fill(words);
    await page.getByLabel('Search').press('Enter');
    await page.waitForFunction(() => location.hash.includes('q='));
    await ready(page, 'logs');
    expect(new URLSearchParams(await page.evaluate(() => location.hash.split('?')[1]!)).get('q')).toBe(words);
    const bodies = await page.$$eval('table.logs .body', (cells) => cells.map((cell) => cell.textContent));
    expect(bodies).toContain(known.body);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows all of a run's stages on its timeline, under them the time since its start", async () => {
    const latest = (await api(`/api/v1/runs?pipeline=${DEMO_PIPELINES.healthy}&state=ended&limit=1`)).items[0];
    const detail = await api(`/api/v1/runs/${encodeURIComponent(latest.run_id)}`);
    expect(detail.stages.length).toBeGreaterThanOrEqual(4);
    const { page, context } = await rendered(`#/runs/${encodeURIComponent(latest.run_id)}`, 'run');
    const stages = await page.$$eval('.timeline [data-stage]', (items) => items.map((item) => item.getAttribute('data-stage')));
    expect(stages).toEqual(detail.stages.map((stage: any) => stage.stage));
    const times = await page.$$eval('.timeline .x-axis text', (labels) => labels.map((label) => label.textContent));
    expect(times[0]).toBe('0');
    expect(times.length).toBeGreaterThanOrEqual(2);
    for (const time of times.slice(1)) expect(time).toMatch(TICK_DURATION);
    await context.close();
  });

  it("shows a run that its stage failed as failed, with what its own end said, its open and tolerated stages so", async () => {
    const runId = 'web-red-run';
    const at = Date.now() - 60_000;
    const run = { [ATTR.pipelineName]: 'web-red', [ATTR.runId]: runId };
    const stage = (name: string) => ({ ...run, [ATTR.stageName]: name, [ATTR.stageRunId]: `${runId}-${name}` });
    const failed = { [ATTR.stageResult]: 'failure', [ATTR.exceptionMessage]: 'warehouse refused 2 rows' };
    const records = [
      { eventName: EVENT.stageStart, attributes: stage('load'), timestampMs: at },
      { eventName: EVENT.stageEnd, severityNumber: SeverityNumber.ERROR, attributes: { ...stage('load'), ...failed }, timestampMs: at + 2000 },
      { eventName: EVENT.stageStart, attributes: stage('notify'), timestampMs: at + 3000 },
      { eventName: EVENT.stageEnd, attributes: { ...stage('notify'), ...failed, [ATTR.failureAllowed]: true }, timestampMs: at + 4000 },
      { eventName: EVENT.stageStart, attributes: stage('archive'), timestampMs: at + 5000 },
      { eventName: EVENT.runEnd, attributes: { ...run, [ATTR.runResult]: 'success' }, timestampMs: at + 9000 },
    ];
    expect((await post(r.url, '/v1/logs', logsRequest(records), { key: r.key })).status).toBe(200);
    const { page, context, problems } = await rendered(`#/runs/${runId}`, 'run');
    expect(await page.getAttribute('[data-status]', 'data-status')).toBe('failure');
    const text = await page.textContent('main');
    expect(text).toContain('warehouse refused 2 rows');
    expect(text).toContain('(estimated: no start was reported)');
    expect(text).toContain('Its own end said success; it shows what its stages reported.');
    const labels = await page.$$eval('.timeline [data-stage] .stage-time', (items) => items.map((item) => item.textContent));
    // In the words of the run dashboard's Stages panel.
    expect(labels).toEqual([expect.stringMatching(/^failure, /), expect.stringContaining(`failure${TOLERATED}, `), expect.stringContaining(`${NO_END_REPORTED}, `)]);
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("links a log row to its run, and shows an error row's message beside its words", async () => {
    const errors = (await api(`/api/v1/logs?pipeline=${DEMO_PIPELINES.flaky}&severity_min=ERROR&limit=20`)).items as any[];
    const known = errors.find((log) => log.body.startsWith('run failure') && log.attributes['exception.message'])!;
    expect(known, 'a failed run of the demo ends with its exception').toBeTruthy();
    const { page, context, problems } = await rendered(`#/logs?pipeline=${DEMO_PIPELINES.flaky}&severity_min=ERROR`, 'logs');
    const rows = await page.$$eval('table.logs tbody tr', (trs) =>
      trs.map((tr) => ({
        run: tr.querySelector('a[href^="#/runs/"]')?.getAttribute('href') ?? null,
        body: tr.querySelector('.body')!.textContent,
        error: tr.querySelector('.log-error')?.textContent ?? null,
      })),
    );
    const link = `#/runs/${encodeURIComponent(known.run_id)}`;
    expect(rows).toContainEqual({ run: link, body: known.body, error: expect.stringContaining(known.attributes['exception.message']) });
    expect(rows.every((row) => row.run !== null)).toBe(true);
    await page.click(`table.logs a[href="${link}"]`);
    await ready(page, 'run');
    expect(await page.textContent('h1')).toContain(known.run_id);
    // On the run's own page its records do not link to where the reader already is.
    expect(await page.$$('table.logs a[href^="#/runs/"]')).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("gives a stuck run one elapsed time, now since its start, in its Duration and on its timeline", async () => {
    const hung = (await api(`/api/v1/runs?pipeline=${DEMO_PIPELINES.hanging}&state=running`)).items[0];
    const { page, context } = await rendered(`#/runs/${encodeURIComponent(hung.run_id)}`, 'run');
    const shown = await page.evaluate(() => ({
      tile: [...document.querySelectorAll('.tile')].find((tile) => tile.querySelector('dt')!.textContent === 'Duration')!.querySelector('dd')!.textContent!,
      stage: document.querySelector('.timeline [data-stage] .stage-time')!.textContent!,
      caption: document.querySelector('.timeline figcaption')!.textContent!,
    }));
    // Its closing run started an hour ago and froze 25 minutes in: its last heartbeat's 25 min is not its duration.
    expect(shown.tile).toMatch(/^1 h \d\d min so far$/);
    expect(shown.stage).toBe(`stuck, ${shown.tile}`);
    expect(shown.caption).toContain(`to now: ${shown.tile}.`);
    await context.close();
  });

  it('draws the run history with a duration scale and start times', async () => {
    const { page, context } = await rendered(`#/pipelines/${DEMO_PIPELINES.flaky}`, 'pipeline');
    const axes = await page.evaluate(() => {
      const figure = document.querySelector('.history')!.getBoundingClientRect();
      const labels = (selector: string) =>
        [...document.querySelectorAll(`.history ${selector} text`)].map((text) => {
          const box = text.getBoundingClientRect();
          return { text: text.textContent!, inside: box.width > 0 && box.left >= figure.left && box.right <= figure.right && box.top >= figure.top };
        });
      return { y: labels('.y-axis'), x: labels('.x-axis') };
    });
    expect(axes.y.length).toBeGreaterThanOrEqual(3);
    expect(axes.y[0]!.text).toBe('0');
    for (const label of axes.y.slice(1)) expect(label.text).toMatch(TICK_DURATION);
    expect(axes.x.filter((label) => /\d:\d\d/.test(label.text)).length).toBeGreaterThanOrEqual(3);
    expect([...axes.y, ...axes.x].filter((label) => !label.inside)).toEqual([]);
    await context.close();
  });

  it("shows the stages and data-quality checks of the pipeline's latest runs, as /stages and /checks list them", async () => {
    const name = DEMO_PIPELINES.quality;
    const [stages, checks] = await Promise.all([api(`/api/v1/stages?pipeline=${name}&runs=10`), api(`/api/v1/checks?pipeline=${name}&runs=10`)]);
    expect(checks.items.length).toBeGreaterThan(0);
    const { page, context } = await rendered(`#/pipelines/${name}`, 'pipeline');
    const shown = await page.evaluate(() => {
      const cells = (caption: string, column: number) =>
        [...document.querySelectorAll('table')].find((table) => table.caption?.textContent === caption)!.querySelectorAll(`tbody tr td:nth-child(${column})`);
      return {
        stages: [...cells('Stages', 1)].map((cell) => cell.textContent),
        checkRuns: [...cells('Data-quality checks', 1)].map((cell) => cell.querySelector('a')!.getAttribute('href')),
      };
    });
    expect(shown.stages).toEqual([...new Set(stages.items.map((stage: { stage: string }) => stage.stage))]);
    expect(shown.checkRuns).toEqual(checks.items.map((check: { run_id: string }) => `#/runs/${encodeURIComponent(check.run_id)}`));
    await context.close();
  });

  it("gives the health page's storage its own row, so a long path is not broken into a word per line", async () => {
    const { page, context } = await rendered('#/health', 'health');
    const widths = await page.evaluate(() => {
      const tile = [...document.querySelectorAll('.tile')].find((t) => t.querySelector('dt')!.textContent === 'Storage')!;
      const padding = parseFloat(getComputedStyle(tile).paddingLeft) + parseFloat(getComputedStyle(tile).paddingRight);
      return { value: tile.querySelector('dd')!.getBoundingClientRect().width, card: tile.clientWidth - padding, row: tile.parentElement!.clientWidth };
    });
    expect(widths.value).toBeGreaterThan(widths.card - 2);
    expect(widths.card).toBeGreaterThan(widths.row * 0.9);
    await context.close();
  });

  it('moves between pages from the keyboard alone', async () => {
    const { page, context } = await rendered('#/', 'overview');
    let reached = false;
    for (let presses = 0; presses < 40 && !reached; presses++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate((name) => document.activeElement?.getAttribute('data-pipeline') === name, DEMO_PIPELINES.flaky);
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await ready(page, 'pipeline');
    expect(await page.textContent('h1')).toBe(DEMO_PIPELINES.flaky);
    await context.close();
  });
});

describe('the key', () => {
  it('is asked for once: a wrong one is refused with the reason, a right one is kept for the next visit', async () => {
    const { page, context, problems } = await openPage(browser);
    await page.goto(`${r.url}/`);
    await ready(page, 'key');
    // The prompt says where the key is: the field's description names the file and the command.
    expect(await page.getByLabel('API key').getAttribute('aria-describedby')).toBe('key-help');
    expect(await page.textContent('#key-help')).toMatch(/cat \.pipemon\/default-api-key.*pipemon keys create --tenant NAME --scopes read/);
    await page.getByLabel('API key').fill('pm_1_000000000000_wrong');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await expect.poll(() => page.textContent('.key-message [role=alert]')).toMatch(/This key was refused: it is not a key of this receiver, or it was revoked/);
    const readOnly = await r.keyFor('acme', ['ingest']);
    await page.getByLabel('API key').fill(readOnly);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await expect.poll(() => page.textContent('.key-message [role=alert]')).toMatch(/lacks the read scope/);
    await page.getByLabel('API key').fill(r.key);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await ready(page, 'overview');
    expect(await page.evaluate(() => localStorage.getItem('pipemon.key'))).toBe(r.key);
    await page.reload();
    await ready(page, 'overview');
    // The browser's own 401 lines for the refused keys are all it logged.
    expect(problems.filter((problem) => !/status of 40[13]/.test(problem))).toEqual([]);
    await context.close();
  });

  it('says clearly when a saved key is refused, and asks for another', async () => {
    const { page, context } = await openPage(browser, { savedKey: 'pm_1_000000000000_revoked' });
    await page.goto(`${r.url}/#/logs`);
    await ready(page, 'key');
    expect(await page.textContent('.key-message [role=alert]')).toMatch(/The saved key no longer works\. This key was refused/);
    await context.close();
  });

  it('comes in the link pipemon serve prints on first start, and leaves the address bar at once', async () => {
    const serve = await spawnPipemon(tempDataDir(), await backends()[0]!.databaseUrl());
    await until(() => /#key=/.test(serve.output()), 'pipemon serve prints the web view link', 10_000);
    const link = /(http:\/\/\S+\/#key=\S+)/.exec(serve.output())![1]!;
    expect(decodeURIComponent(link.split('#key=')[1]!)).toBe(serve.key);
    const { page, context, problems } = await openPage(browser);
    await page.goto(link);
    await ready(page, 'overview');
    expect(await page.evaluate(() => location.hash)).toBe('#/');
    expect(await page.evaluate(() => localStorage.getItem('pipemon.key'))).toBe(serve.key);
    expect(await page.textContent('main')).toMatch(/No pipeline has reported yet/);
    expect(problems).toEqual([]);
    await context.close();
  });
});
