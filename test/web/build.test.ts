/**
 * The web view's build step (web/build.ts, run compiled as dist/web/build.js by `npm run build`): tsc's
 * modules become one script beside the public files, nothing of an older build stays served, and the
 * built page, in Debian's Chromium, asks for that one script and no other, under its
 * Content-Security-Policy, and renders from it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { backends } from '../helpers/backends.js';
import { CHROMIUM_HINT, launchChromium, openPage, ready } from '../helpers/browser.js';
import { startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { repoPath } from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';
import { required, run, tool, withTools } from '../helpers/tools.js';

const chromiumPath = tool('web/build.test.ts', 'chromium', CHROMIUM_HINT);
const withChromium = withTools(chromiumPath);

/** A repository's layout in a scratch directory: the compiled build step, tsc's `modules`, web/public, and an older build's leftovers. */
function scratchBuild(modules: Record<string, string>): string {
  const root = tempDir('pipemon-web-build-');
  const file = (relative: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    fs.writeFileSync(path.join(root, relative), text);
  };
  fs.cpSync(repoPath('dist/web/build.js'), path.join(root, 'dist/web/build.js'));
  fs.symlinkSync(repoPath('node_modules'), path.join(root, 'node_modules'));
  fs.cpSync(repoPath('web/public'), path.join(root, 'web/public'), { recursive: true });
  for (const [name, code] of Object.entries(modules)) file(`dist/web/app/${name}`, code);
  file('dist/web/static/app/main.js', 'export const stale = true;\n');
  return root;
}

describe('web/build.ts', () => {
  it('joins the compiled modules into one script beside the public files, and leaves no module or older file behind', async () => {
    const root = scratchBuild({
      'main.js': "import { greet } from './lib/greet.js';\ndocument.title = greet('main');\n",
      'lib/greet.js': "import { WORD } from './word.js';\nexport const greet = (who) => `${WORD} ${who}`;\n",
      'lib/word.js': "export const WORD = 'hello';\n",
    });
    try {
      await run(process.execPath, [path.join(root, 'dist/web/build.js')]);
      const statics = path.join(root, 'dist/web/static');
      expect(fs.readdirSync(statics).sort()).toEqual(['app.js', ...fs.readdirSync(repoPath('web/public'))].sort());
      const bundle = fs.readFileSync(path.join(statics, 'app.js'), 'utf8');
      expect(bundle).not.toMatch(/^\s*(import|export)\b/m);
      expect(bundle).toContain("WORD = \"hello\"");
      expect(bundle).toContain('greet("main")');
      expect(fs.existsSync(path.join(root, 'dist/web/app'))).toBe(false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('fails the build, naming the module, when an import cannot be resolved', async () => {
    const root = scratchBuild({ 'main.js': "import { gone } from './lib/gone.js';\ngone();\n" });
    try {
      await expect(run(process.execPath, [path.join(root, 'dist/web/build.js')])).rejects.toThrow(/lib\/gone\.js/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('the page names one script, by its file: no inline script, which the Content-Security-Policy would refuse', () => {
    const page = fs.readFileSync(repoPath('web/public/index.html'), 'utf8');
    expect([...page.matchAll(/<script\b[^>]*>([^<]*)<\/script>/g)].map(([tag, body]) => ({ tag, body }))).toEqual([
      { tag: '<script type="module" src="app.js"></script>', body: '' },
    ]);
  });
});

describe('the built web view in Chromium', () => {
  let r: TestReceiver;
  let browser: Browser;

  beforeAll(async () => {
    if (!chromiumPath && !process.env.CI) return;
    browser = await launchChromium(required('chromium', chromiumPath, CHROMIUM_HINT));
    r = await startTestReceiver({ databaseUrl: await backends()[0]!.databaseUrl() });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await r?.close();
  });

  withChromium('loads exactly one script, under the Content-Security-Policy, and renders the overview from it', async () => {
    const { page, context, problems } = await openPage(browser, { savedKey: r.key });
    const scripts: string[] = [];
    page.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname);
    });
    const response = await page.goto(`${r.url}/`);
    await ready(page, 'overview');
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(scripts).toEqual(['/app.js']);
    expect(problems).toEqual([]);
    await context.close();
  });
});
