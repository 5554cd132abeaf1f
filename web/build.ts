/**
 * The last step of `npm run build` for the web view: tsc has compiled web/app into dist/web/static/app;
 * this copies the page, stylesheet and icon (web/public) beside it, the page naming every module for
 * the browser to fetch at once (modulepreload) rather than level by level of their imports. The
 * receiver serves dist/web/static.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../../web/public/', import.meta.url));
const to = fileURLToPath(new URL('./static/', import.meta.url));
fs.mkdirSync(to, { recursive: true });
fs.cpSync(from, to, { recursive: true });

/** main.js and every module it imports, however deep: what the page loads (type-only modules are not). */
function imported(file: string, found = new Set<string>()): Set<string> {
  found.add(file);
  const code = fs.readFileSync(path.join(`${to}app`, file), 'utf8');
  for (const [, relative] of code.matchAll(/^(?:import|export)\b[^'"]*'(\.[^']+)'/gm)) {
    const next = path.posix.join(path.posix.dirname(file), relative!);
    if (!found.has(next)) imported(next, found);
  }
  return found;
}

const page = `${to}index.html`;
const preloads = [...imported('main.js')]
  .filter((file) => file !== 'main.js')
  .sort()
  .map((file) => `    <link rel="modulepreload" href="app/${file}">`)
  .join('\n');
fs.writeFileSync(page, fs.readFileSync(page, 'utf8').replace('  </head>', `${preloads}\n  </head>`));
