/**
 * The per-pipeline figures (receiver/query/metrics.ts): one pipeline asked for by name is answered as it
 * stands in the list of all, its recent runs newest first; a name without runs is an empty list; the
 * figures read from the kept day and hour sums and the runs of the partial hour are those of every run.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTenant } from '../../../receiver/auth/keys.js';
import { metricsOverview, metricsPerPipeline } from '../../../receiver/query/metrics.js';
import type { Database } from '../../../receiver/storage/database.js';
import { mergeRuns } from '../../../receiver/storage/merge-runs.js';
import { openDatabase } from '../../../receiver/storage/open.js';
import { createTestDatabase } from '../../helpers/backends.js';
import { runFacts } from '../../helpers/run-facts.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2031, 6, 10, 13, 37);

describe.each(inject('databaseServers'))('per-pipeline figures on $name', (server) => {
  let db: Database;
  let tenantId: number;

  beforeAll(async () => {
    db = await openDatabase({ databaseUrl: await createTestDatabase(server.url) });
    tenantId = await createTenant(db, 'acme');
    const tenant = { id: tenantId, name: 'acme' };
    const runs = ['orders', 'invoices', 'ledger'].flatMap((pipeline, p) =>
      Array.from({ length: 12 }, (_, i) => {
        const startedAtMs = NOW - (i * 5 + p) * HOUR;
        const ended = i > 0 || p !== 1;
        return runFacts({
          runId: `${pipeline}-${i}`,
          pipeline,
          startedAtMs,
          ...(ended ? { state: 'ended', result: i % 4 === p ? 'failure' : 'success', endedAtMs: startedAtMs + 60_000, durationSeconds: 60 + i } : {}),
        });
      }),
    );
    await db.transaction((tx) => mergeRuns(tx, runs.map((run) => ({ tenant, derived: { run, stage: null } }))));
  });

  afterAll(async () => {
    await db?.close();
  });

  it('answers for one pipeline what the list of all says of it, its recent runs newest first', async () => {
    const all = await metricsPerPipeline(db, tenantId, 7, 5, NOW);
    expect(all.items.map((item) => item.pipeline)).toEqual(['invoices', 'ledger', 'orders']);
    for (const item of all.items) {
      const one = await metricsPerPipeline(db, tenantId, 7, 5, NOW, item.pipeline);
      expect(one.items).toEqual([item]);
      expect(item.recent_runs).toHaveLength(5);
      const starts = item.recent_runs.map((run) => Date.parse(run.started_at));
      expect(starts).toEqual([...starts].sort((a, b) => b - a));
    }
    expect(all.items.find((item) => item.pipeline === 'invoices')!.recent_runs[0]).toMatchObject({ run_id: 'invoices-0', state: 'running' });
  });

  it('answers an empty list for a pipeline without runs, and no recent runs when none are asked for', async () => {
    expect((await metricsPerPipeline(db, tenantId, 7, 5, NOW, 'nothing')).items).toEqual([]);
    expect((await metricsPerPipeline(db, tenantId, 7, 0, NOW)).items.every((item) => item.recent_runs.length === 0)).toBe(true);
  });

  it.each([
    { days: 1, nowMs: NOW - 70 * 60_000 },
    { days: 2, nowMs: NOW },
    { days: 7, nowMs: NOW + 25 * 60_000 },
  ])('counts over $days days from the sums and the partial hour what a scan of every run counts ($nowMs)', async ({ days, nowMs }) => {
    const since = new Date(nowMs - days * 24 * HOUR).toISOString();
    const { rows } = await db.query<{ pipeline: string; runs: number; running: number; ended: number; successes: number; errors: number; mean: number | null; first: Date }>(
      `SELECT pipeline, count(*)::int AS runs, count(*) FILTER (WHERE state = 'running')::int AS running, count(*) FILTER (WHERE state = 'ended')::int AS ended,
              count(*) FILTER (WHERE result = 'success')::int AS successes, count(*) FILTER (WHERE result = 'failure')::int AS errors,
              avg(duration_seconds)::float8 AS mean, min(started_at) AS first
         FROM pipeline_runs WHERE tenant_id = $1 AND started_at >= $2 GROUP BY 1 ORDER BY 1`,
      [tenantId, since],
    );
    const page = await metricsPerPipeline(db, tenantId, days, 0, nowMs);
    expect(page.items.filter((item) => item.runs > 0).map(({ pipeline, runs, running, ended, successes, errors, duration_seconds }) => ({ pipeline, runs, running, ended, successes, errors, mean: duration_seconds.mean }))).toEqual(
      rows.map(({ first: _, ...row }) => row),
    );
    const overview = await metricsOverview(db, tenantId, days, nowMs);
    expect(overview.runs).toBe(rows.reduce((sum, row) => sum + row.runs, 0));
    expect(overview.errors).toBe(rows.reduce((sum, row) => sum + row.errors, 0));
  });

  it("has a run in the one-day window's partial first hour, so that the case above reads runs, hours and days", async () => {
    // 70 minutes before NOW, a day's window starts at 12:27 the day before: the run of 12:37 is in its partial hour.
    const nowMs = NOW - 70 * 60_000;
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_runs WHERE started_at >= $1 AND started_at < $2', [
      new Date(nowMs - 24 * HOUR).toISOString(),
      new Date(Math.ceil((nowMs - 24 * HOUR) / HOUR) * HOUR).toISOString(),
    ]);
    expect(rows[0]!.n).toBeGreaterThan(0);
  });
});
