/**
 * Debian's Chromium driven by playwright-core (which downloads no browser): launched once per suite,
 * pages that record every console error, page error and failed request, and axe-core for accessibility.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_HINT = "install Debian's chromium (apt-get install chromium), as .ci/run does";

/** Where screenshots go (gitignored): CI keeps the directory as the run's artifacts. */
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/web');

export async function launchChromium(executablePath: string): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
  return chromium.launch({ executablePath, args: ['--no-sandbox'] });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught page errors and failed requests seen so far. */
  problems: string[];
}

export interface PageOptions {
  colorScheme?: 'light' | 'dark';
  /** Put in localStorage before any script of the page runs, as a key saved earlier would be. */
  savedKey?: string;
}

export async function openPage(browser: Browser, options: PageOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ colorScheme: options.colorScheme ?? 'light', viewport: { width: 1280, height: 900 } });
  if (options.savedKey) await context.addInitScript((key) => localStorage.setItem('pipemon.key', key), options.savedKey);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  return { page, context, problems };
}

/** Waits until the page says it rendered `what` (body[data-ready]): a page name, 'key' for the key prompt. */
export async function ready(page: Page, what: string): Promise<void> {
  await page.waitForFunction((expected) => document.body.dataset.ready === expected, what, { timeout: 20_000 });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations of impact serious or critical, as "rule: target" lines. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's Content-Security-Policy (script-src 'self') stays on.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    type Rule = { id: string; impact: string; nodes: { target: string[] }[] };
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: Rule[]; passes: Rule[] }> } }).axe;
    const results = await axe.run();
    // No rule passing means axe saw no page at all: that is no evidence of accessibility.
    if (results.passes.length === 0) throw new Error('axe-core checked nothing');
    return results.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((node) => `${v.id} (${v.impact}): ${node.target.join(' ')}`));
}
