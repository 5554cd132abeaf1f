/**
 * The web view's entry: the page frame, the key prompt, the hash router and the refresh loop. A page is
 * mounted once per address and refreshed in place, so auto-refresh never moves the reader's focus.
 */
import { ApiError, getJson, KeyError, keyRefusal } from './lib/api.js';
import { fill, h } from './lib/dom.js';
import { forgetKey, savedKey, saveKey, takeKeyFromFragment } from './lib/key.js';
import { mountDataset } from './pages/dataset.js';
import { mountDatasets } from './pages/datasets.js';
import { mountHealth } from './pages/health.js';
import { mountLineage } from './pages/lineage.js';
import { mountLogs } from './pages/logs.js';
import { mountOverview } from './pages/overview.js';
import { mountPipeline } from './pages/pipeline.js';
import { mountRun } from './pages/run.js';
import { href, parseRoute, type PageName } from './lib/router.js';
import { applyTheme, currentTheme, toggleTheme } from './lib/theme.js';
import type { Mount, View } from './lib/view.js';

const mountUnknown: Mount = () => ({
  title: 'Not found',
  element: h('div', null, h('h1', null, 'No such page'), h('p', null, 'This address names no page of pipemon. ', h('a', { href: href('overview') }, 'See the pipelines.'))),
  intervalMs: null,
  refresh: async () => undefined,
});

const MOUNTS: Record<PageName, Mount> = {
  overview: mountOverview,
  pipeline: mountPipeline,
  run: mountRun,
  logs: mountLogs,
  health: mountHealth,
  datasets: mountDatasets,
  dataset: mountDataset,
  lineage: mountLineage,
  unknown: mountUnknown,
};

const NAV: [Exclude<PageName, 'unknown'>, string, PageName[]][] = [
  ['overview', 'Pipelines', ['overview', 'pipeline', 'run']],
  ['datasets', 'Datasets', ['datasets', 'dataset', 'lineage']],
  ['logs', 'Logs', ['logs']],
  ['health', 'pipemon health', ['health']],
];

const main = h('main', { id: 'content', tabindex: '-1' });
const notice = h('div', { class: 'notice', role: 'alert' });
// Not a live region: announcing every refresh would talk over the reader every 15 s.
const updated = h('p', { class: 'updated' });
const themeButton = h('button', { type: 'button', class: 'quiet', onclick: () => (toggleTheme(), labelThemeButton()) });
const keyButton = h('button', { type: 'button', class: 'quiet', onclick: () => (forgetKey(), showKeyPrompt(null)) }, 'Forget key');
const nav = h('nav', { 'aria-label': 'Pages' });

function labelThemeButton(): void {
  const dark = currentTheme() === 'dark';
  themeButton.textContent = dark ? 'Light theme' : 'Dark theme';
  themeButton.setAttribute('aria-label', dark ? 'Switch to the light theme' : 'Switch to the dark theme');
}

function renderNav(current: PageName | null): void {
  fill(
    nav,
    h('ul', null, NAV.map(([page, label, covers]) => h('li', null, h('a', { href: href(page), 'aria-current': current && covers.includes(current) ? 'page' : null }, label)))),
  );
}

/** Bumped on every navigation: an answer that arrives for an earlier page is dropped. */
let generation = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

function stop(): void {
  generation += 1;
  clearTimeout(timer);
  delete document.body.dataset.ready;
}

function showKeyPrompt(reason: string | null): void {
  stop();
  renderNav(null);
  keyButton.hidden = true;
  document.title = 'API key · pipemon';
  const input = h('input', { id: 'key', name: 'key', type: 'password', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'key-help' });
  const message = h('div', { class: 'key-message' }, reason ? h('p', { class: 'error-box', role: 'alert' }, reason) : null);
  const form = h(
    'form',
    {
      class: 'key-form',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const key = input.value.trim();
        try {
          await getJson('/api/v1/metrics/overview', { days: 1 }, key);
          saveKey(key);
          show();
        } catch (error) {
          const text = error instanceof KeyError ? keyRefusal(error.status) : (error as Error).message;
          fill(message, h('p', { class: 'error-box', role: 'alert' }, text));
          input.focus();
        }
      },
    },
    h('label', { for: 'key' }, 'API key'),
    input,
    h(
      'p',
      { id: 'key-help', class: 'help' },
      'A key with the read scope. The first start of pipemon serve printed one and saved it in its data directory: ',
      h('code', null, 'cat .pipemon/default-api-key'),
      ' in the folder where it runs shows it. Another: ',
      h('code', null, 'pipemon keys create --tenant NAME --scopes read'),
      '. It stays in this browser (localStorage) and goes only to this receiver.',
    ),
    h('button', { type: 'submit' }, 'Use this key'),
  );
  fill(main, h('h1', null, 'pipemon'), h('p', null, 'This receiver answers only with an API key.'), message, form);
  fill(notice);
  fill(updated);
  document.body.dataset.ready = 'key';
  input.focus();
}

async function refreshLoop(view: View, page: PageName, mine: number): Promise<void> {
  try {
    await view.refresh();
    if (mine !== generation) return;
    fill(notice);
    const every = view.intervalMs === null ? 'refreshes on request' : `refreshes every ${view.intervalMs / 1000} s`;
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}, ${every}.`;
    document.body.dataset.ready = page;
    // For bench/web.ts: when the page first stood rendered, on the navigation's clock.
    if (performance.getEntriesByName(`pipemon:${page}`).length === 0) performance.mark(`pipemon:${page}`);
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof KeyError) return showKeyPrompt(`The saved key no longer works. ${error.message}`);
    fill(notice, h('p', { class: 'error-box' }, error instanceof ApiError ? error.message : `The page failed: ${(error as Error).message}`));
    document.body.dataset.ready = 'error';
  }
  if (view.intervalMs !== null) timer = setTimeout(() => whenVisible(() => mine === generation && void refreshLoop(view, page, mine)), view.intervalMs);
}

/** A hidden tab asks nothing of the receiver: the refresh waits until the page is seen again. */
function whenVisible(work: () => void): void {
  if (!document.hidden) return work();
  document.addEventListener('visibilitychange', function once() {
    if (document.hidden) return;
    document.removeEventListener('visibilitychange', once);
    work();
  });
}

function show(moveFocus = false): void {
  if (!savedKey()) return showKeyPrompt(null);
  stop();
  const mine = generation;
  const route = parseRoute(location.hash);
  const view = MOUNTS[route.page](route);
  document.title = `${view.title} · pipemon`;
  keyButton.hidden = false;
  renderNav(route.page);
  fill(notice);
  fill(main, view.element);
  if (moveFocus) main.focus();
  void refreshLoop(view, route.page, mine);
}

applyTheme();
labelThemeButton();
takeKeyFromFragment();
document.body.append(
  h('a', { class: 'skip', href: '#content', onclick: (event: Event) => (event.preventDefault(), main.focus()) }, 'Skip to content'),
  h('header', { class: 'top' }, h('a', { class: 'brand', href: href('overview') }, 'pipemon'), nav, h('div', { class: 'actions' }, themeButton, keyButton)),
  notice,
  main,
  h('footer', null, updated),
);
addEventListener('hashchange', () => {
  // A first-start link (`#key=...`) pasted while the page is open: its key is taken before the page shows.
  takeKeyFromFragment();
  show(true);
});
show();
