/**
 * The built-in web view (web/): static files built by `npm run build` into dist/web/static, served at `/`. The
 * page reads the public query API with a key the browser keeps; the files themselves hold no data and
 * need no key.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';

/**
 * Where the built view is: dist/web/static beside this file's dist/receiver when running the build, or the
 * repository's dist/web/static when this module runs from source (the tests, under vitest).
 */
function builtWebDir(): string | null {
  const candidates = ['../../web/static', '../../dist/web/static'].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  return candidates.find((dir) => fs.existsSync(`${dir}/index.html`)) ?? null;
}

/**
 * The page runs with the API key in localStorage, so no script but its own may run in it: same-origin
 * scripts, styles and requests only, no framing (clickjacking), no referrer (the hash never leaves, but
 * nothing else should either).
 */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

export function createWebViewRouter(dir: string | null = builtWebDir()): express.Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set(SECURITY_HEADERS);
    next();
  });
  if (dir === null) {
    router.get('/', (_req, res) => {
      res.status(503).type('text/plain').send('The web view is not built: run `npm run build`, then reload.\n');
    });
    return router;
  }
  // Revalidated on every load (no-cache, with Last-Modified): an upgraded receiver never serves stale modules.
  router.use(express.static(dir, { index: 'index.html', cacheControl: true, maxAge: 0, redirect: false, dotfiles: 'ignore' }));
  return router;
}
