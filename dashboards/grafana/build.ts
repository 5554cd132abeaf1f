/**
 * Writes the dashboards' JSON from their TypeScript, from the repository root:
 *   npx tsc -p tsconfig.json && node dist/dashboards/grafana/build.js
 * test/dashboards/grafana/dashboards.test.ts fails while the committed files differ from what this writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { renderDashboards } from './dashboards.js';

const OUT_DIR = path.join('dashboards', 'grafana', 'dashboards');

function main(): number {
  if (!fs.existsSync(OUT_DIR)) {
    console.error(`${OUT_DIR} not found: run this from the repository root`);
    return 2;
  }
  const rendered = renderDashboards();
  const stale = fs.readdirSync(OUT_DIR).filter((name) => name.endsWith('.json') && !rendered.has(name));
  const changed = [...rendered].filter(([name, text]) => {
    const file = path.join(OUT_DIR, name);
    return !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text;
  });
  for (const [name, text] of changed) fs.writeFileSync(path.join(OUT_DIR, name), text);
  // A dashboard removed from the code must not stay provisioned.
  for (const name of stale) fs.rmSync(path.join(OUT_DIR, name));
  console.log(`${rendered.size} dashboards in ${OUT_DIR}: ${changed.length} written, ${stale.length} removed`);
  return 0;
}

process.exitCode = main();
