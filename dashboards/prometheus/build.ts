/**
 * Writes the generated rule files into dashboards/prometheus/ of this checkout:
 *
 *   npx tsc -p tsconfig.json && node dist/dashboards/prometheus/build.js
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './generated-files.js';

// This file runs as dist/dashboards/prometheus/build.js: the sources are three levels up.
const sourceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dashboards/prometheus');

for (const [file, content] of Object.entries(generatedFiles())) {
  const target = path.join(sourceDir, file);
  await fs.writeFile(target, content);
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
