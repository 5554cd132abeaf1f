/**
 * The per-pipeline figures (receiver/query/metrics.ts): one pipeline asked for by name is answered as it
 * stands in the list of all, its recent runs newest first; a name without runs is an empty list.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTenant } from '../../../receiver/auth/keys.js';
import { metricsPerPipeline } from '../../../receiver/query/metrics.js';
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
});
