/**
 * The write path's stored run and stage rows (receiver/storage/run-rows.ts): facts written as rows read
 * back as the facts they hold, so that the next merge starts from what was reported, not from what the
 * row shows (an estimated start, a measured duration, the stages' result in place of the run's own).
 */
import { describe, expect, it } from 'vitest';
import type { Tenant } from '../../../receiver/model/records.js';
import { settle } from '../../../receiver/model/runs.js';
import { readRuns, readStages, runRow, stageKey, stageRow, writeRuns, writeStages } from '../../../receiver/storage/run-rows.js';
import { backends, databaseFor } from '../../helpers/backends.js';
import { runFacts, stageFacts } from '../../helpers/run-facts.js';

const T0 = Date.UTC(2031, 7, 1, 8);
const TENANT: Tenant = { id: 1, name: 'default' };

describe.each(backends())('run rows on $name', (backend) => {
  const db = databaseFor(backend);

  it('reads a written run back as its facts, with its row as stored', async () => {
    const facts = runFacts({
      runId: 'whole', state: 'ended', result: 'failure', startedAtMs: T0, endedAtMs: T0 + 60_000, durationSeconds: 42, rowsRead: 7,
      errorType: 'ValueError', errorMessage: 'bad row', targetNamespace: 'pg', targetCollection: 'orders', attributes: { team: 'data' },
      serviceName: 'etl', environment: 'prod', sourceSystem: 'airflow', traceId: 'ab'.repeat(16), lastSeenMs: T0 + 61_000,
    });
    const row = runRow(facts, settle(facts), null);
    await db.transaction((tx) => writeRuns(tx, TENANT, [row]));
    const stored = await db.transaction((tx) => readRuns(tx, TENANT, ['whole', 'absent']));
    expect([...stored.keys()]).toEqual(['whole']);
    expect(stored.get('whole')!.own).toEqual(facts);
    expect(stored.get('whole')!.row).toMatchObject({ started_at: T0, ended_at: T0 + 60_000, last_seen_at: T0 + 61_000, rows_read: 7, reported: null });
  });

  it('reads an estimated start and a measured duration back as not reported', async () => {
    const endOnly = runFacts({ runId: 'estimated', state: 'ended', result: 'success', endedAtMs: T0 + 5000 });
    const measured = runFacts({ runId: 'measured', state: 'ended', result: 'success', startedAtMs: T0, endedAtMs: T0 + 5000 });
    await db.transaction((tx) => writeRuns(tx, TENANT, [endOnly, measured].map((f) => runRow(f, settle(f), null))));
    const stored = await db.transaction((tx) => readRuns(tx, TENANT, ['estimated', 'measured']));
    expect(stored.get('estimated')!.row).toMatchObject({ started_at: T0 + 5000, start_estimated: true });
    expect(stored.get('estimated')!.own).toEqual(endOnly);
    expect(stored.get('measured')!.row.duration_seconds).toBe(5);
    expect(stored.get('measured')!.own).toEqual(measured);
  });

  it("puts back what a run reported where its row shows its stages'", async () => {
    const shown = runFacts({ runId: 'rolled-up', state: 'ended', result: 'failure', startedAtMs: T0, endedAtMs: T0 + 1000, errorType: 'StageFailed' });
    await db.transaction((tx) => writeRuns(tx, TENANT, [runRow(shown, settle(shown), { result: 'success', errorType: null })]));
    const { own, row } = (await db.transaction((tx) => readRuns(tx, TENANT, ['rolled-up']))).get('rolled-up')!;
    expect(row).toMatchObject({ result: 'failure', error_type: 'StageFailed' });
    expect(own).toMatchObject({ result: 'success', errorType: null });
  });

  it('replaces a written run, and reads stages by their run and stage run id', async () => {
    const running = runFacts({ runId: 'staged', startedAtMs: T0 });
    const ended = runFacts({ runId: 'staged', state: 'ended', result: 'success', startedAtMs: T0, endedAtMs: T0 + 3000 });
    const stage = stageFacts({ runId: 'staged', stageRunId: 'staged-load', state: 'ended', result: 'success', startedAtMs: T0, endedAtMs: T0 + 2000, spanId: '01'.repeat(8) });
    await db.transaction(async (tx) => {
      await writeRuns(tx, TENANT, [runRow(running, settle(running), null)]);
      await writeRuns(tx, TENANT, [runRow(ended, settle(ended), null)]);
      await writeStages(tx, TENANT, [stageRow(stage)]);
    });
    const [runs, stages] = await db.transaction(async (tx) => [await readRuns(tx, TENANT, ['staged']), await readStages(tx, TENANT, ['staged'])] as const);
    expect(runs.get('staged')!.own).toEqual(ended);
    expect(stages).toEqual(new Map([[stageKey('staged', 'staged-load'), stage]]));
  });
});
