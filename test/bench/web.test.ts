/**
 * bench:web in its small mode and on a world filled before (--database-url), so that it keeps working as
 * the web view changes: every page it times renders, the overview with a row per pipeline. No timings
 * are asserted.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, inject } from 'vitest';
import { load } from '../../bench/query-load.js';
import { openDatabase } from '../../receiver/storage/open.js';
import { createTestDatabase } from '../helpers/backends.js';
import { CHROMIUM_HINT } from '../helpers/browser.js';
import { tool, withTools } from '../helpers/tools.js';

const chromiumPath = tool('bench/web.test.ts', 'chromium', CHROMIUM_HINT);
const it = withTools(chromiumPath);
const PAGES = ['overview', 'pipeline', 'run', 'logs'];

interface Output {
  data: string;
  records: number;
  pipelines: number;
  busiest_pipeline: string;
  rounds: number;
  rendered_ms: Record<string, { median: number; p95: number; goal_median: number }>;
  pipelines_api_ms: { median: number };
}

async function runBench(args: string[]): Promise<Output> {
  const bench = fileURLToPath(new URL('../../bench/web.ts', import.meta.url));
  const viteNode = createRequire(import.meta.url).resolve('vite-node/vite-node.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [viteNode, bench, '--', ...args], {
    env: { ...process.env, CHROMIUM: chromiumPath ?? '' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = stdout.trim().split('\n');
  expect(lines, 'bench:web prints one JSON object on one line').toHaveLength(1);
  return JSON.parse(lines[0]!) as Output;
}

const timedEveryPage = (output: Output) => {
  expect(Object.keys(output.rendered_ms)).toEqual(PAGES);
  for (const page of PAGES) expect(output.rendered_ms[page]!.median).toBeGreaterThan(0);
  expect(output.pipelines_api_ms.median).toBeGreaterThan(0);
};

describe('bench:web', () => {
  it('times every page on its small world of notebook runs', async () => {
    const output = await runBench(['--small', '--rounds=1']);
    expect(output).toMatchObject({ data: 'notebook activity', records: 100, pipelines: 20, rounds: 1 });
    timedEveryPage(output);
  });

  describe.each(inject('databaseServers'))('on a world of bench:query filled before, on $name', (server) => {
    it("times every page with a key of the world's biggest tenant, its busiest pipeline's pages", async () => {
      const databaseUrl = await createTestDatabase(server.url);
      const db = await openDatabase({ databaseUrl });
      try {
        const loaded = await load(db, 3000, Date.now());
        const biggest = loaded.tenants[0]!;
        const { rows } = await db.query<{ pipeline: string }>(
          'SELECT pipeline FROM pipeline_runs WHERE tenant_id = $1 GROUP BY pipeline ORDER BY count(*) DESC, pipeline LIMIT 1',
          [biggest.id],
        );
        const output = await runBench([`--database-url=${databaseUrl}`, `--key=${biggest.key}`, '--rounds=1']);
        expect(output).toMatchObject({ data: 'a world filled before (--database-url)', records: 0, busiest_pipeline: rows[0]!.pipeline });
        timedEveryPage(output);
      } finally {
        await db.close();
      }
    });
  });
});
