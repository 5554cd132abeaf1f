/**
 * The last step of `npm run build` for the web view: tsc has compiled web/app into dist/web/static/app;
 * this copies the page, stylesheet and icon (web/public) beside it. The receiver serves dist/web/static.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../../web/public/', import.meta.url));
const to = fileURLToPath(new URL('./static/', import.meta.url));
fs.mkdirSync(to, { recursive: true });
fs.cpSync(from, to, { recursive: true });
