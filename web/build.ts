/**
 * The last step of `npm run build` for the web view: tsc has type-checked web/app and compiled it into ES
 * modules in dist/web/app; this joins them into one script, dist/web/static/app.js, beside the page,
 * stylesheet and icon (web/public). The receiver serves dist/web/static.
 *
 * One script because a page's first request to the API waits for every module: as separate files the
 * browser fetched them level by level of their imports (modulepreload links only partly helped), 150-300 ms
 * of round trips before any data at 10 M records under load. esbuild only concatenates and scopes the
 * modules here, at build time; nothing of it runs in the receiver or the browser.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const from = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
const modules = from('./app/');
const statics = from('./static/');

// Anew each build: files of an older layout (a module per file) must not linger where they are served.
fs.rmSync(statics, { recursive: true, force: true });
fs.cpSync(from('../../web/public/'), statics, { recursive: true });
await build({
  entryPoints: [`${modules}main.js`],
  outfile: `${statics}app.js`,
  bundle: true,
  format: 'esm',
  // tsc's target (tsconfig.web.json): esbuild rewrites nothing, it only joins.
  target: 'es2022',
  logLevel: 'warning',
});
// tsc's modules were only the bundle's input.
fs.rmSync(modules, { recursive: true });
