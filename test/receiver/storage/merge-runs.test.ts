/**
 * Run merge (receiver/storage/merge-runs.ts), fed facts directly rather than records: a run's stored row
 * does not depend on the order its facts arrive in, each end is counted once, each tenant's runs stay
 * its own, and the days' figures and checks follow.
 */
import { describe, expect, it } from 'vitest';
import type { Tenant } from '../../../receiver/model/records.js';
import type { Derived } from '../../../receiver/model/runs.js';
import type { StoredCheck } from '../../../receiver/storage/check-rows.js';
import { mergeRuns, type Derivation } from '../../../receiver/storage/merge-runs.js';
import { backends, databaseFor } from '../../helpers/backends.js';
import { runFacts, stageFacts } from '../../helpers/run-facts.js';

const T0 = Date.UTC(2031, 6, 1, 8);
const DEFAULT: Tenant = { id: 1, name: 'default' };
const OTHER: Tenant = { id: 2, name: 'other' };

/** A run's facts as its records derive them: start, a heartbeat, the end (which reports no duration). */
function runRecords(runId: string): Record<'start' | 'heartbeat' | 'end', Derived> {
  return {
    start: { run: runFacts({ runId, startedAtMs: T0, serviceName: 'etl' }), stage: null },
    heartbeat: { run: runFacts({ runId, lastSeenMs: T0 + 30_000, rowsRead: 40 }), stage: null },
    end: { run: runFacts({ runId, state: 'ended', result: 'failure', endedAtMs: T0 + 90_000, rowsRead: 100, errorType: 'TimeoutError' }), stage: null },
  };
}

/** A stage record: it makes its run visible too, as derive.ts does. */
const stageRecord = (runId: string, facts: Parameters<typeof stageFacts>[0]): Derived => ({
  run: runFacts({ runId, lastSeenMs: facts.endedAtMs ?? facts.startedAtMs ?? T0 }),
  stage: stageFacts({ runId, stageRunId: `${runId}-load`, ...facts }),
});

const of = (tenant: Tenant, ...derived: Derived[]): Derivation[] => derived.map((d) => ({ tenant, derived: d }));

describe.each(backends())('run merge on $name', (backend) => {
  const db = databaseFor(backend);

  const merge = (found: Derivation[]) => db.transaction((tx) => mergeRuns(tx, found));
  const storedRun = async (runId: string, tenantId = 1) => {
    const { rows } = await db.query(
      `SELECT pipeline, state, result, started_at, start_estimated, ended_at, duration_seconds, last_seen_at, rows_read::float8, error_type, service_name
         FROM pipeline_runs WHERE tenant_id = $1 AND run_id = $2`,
      [tenantId, runId],
    );
    return rows[0];
  };

  it('stores the same run whatever order its facts arrive in, and counts its end once', async () => {
    const inOrder = runRecords('in-order');
    const reversed = runRecords('reversed');
    const ends = [];
    for (const name of ['start', 'heartbeat', 'end'] as const) ends.push(...(await merge(of(DEFAULT, inOrder[name]))).runsEnded);
    for (const name of ['end', 'heartbeat', 'start'] as const) ends.push(...(await merge(of(DEFAULT, reversed[name]))).runsEnded);
    expect(await storedRun('reversed')).toEqual(await storedRun('in-order'));
    expect(await storedRun('in-order')).toMatchObject({ state: 'ended', result: 'failure', duration_seconds: 90, start_estimated: false, rows_read: 100 });
    expect(ends).toEqual([
      { tenant: 'default', pipeline: 'orders', result: 'failure', durationSeconds: 90, errorType: 'TimeoutError', endedAtMs: T0 + 90_000 },
      // Ended first, with its start estimated; the start arriving later does not end it again.
      { tenant: 'default', pipeline: 'orders', result: 'failure', durationSeconds: null, errorType: 'TimeoutError', endedAtMs: T0 + 90_000 },
    ]);
  });

  it("keeps the days' figures of a run replaced by its later facts: one run, ended, an error", async () => {
    const day = async () =>
      (await db.query(`SELECT runs::int, ended::int, errors::int FROM pipeline_days WHERE tenant_id = 1 AND pipeline = 'days'`)).rows[0];
    const records = runRecords('days-run');
    for (const derived of Object.values(records)) derived.run!.pipeline = 'days';
    await merge(of(DEFAULT, records.start));
    expect(await day()).toEqual({ runs: 1, ended: 0, errors: 0 });
    await merge(of(DEFAULT, records.heartbeat, records.end));
    expect(await day()).toEqual({ runs: 1, ended: 1, errors: 1 });
  });

  it("counts a stage's end once when it arrives twice", async () => {
    const end = stageRecord('staged', { state: 'ended', result: 'success', startedAtMs: T0, endedAtMs: T0 + 5000, rowsWritten: 9 });
    const first = await merge(of(DEFAULT, end));
    const second = await merge(of(DEFAULT, end));
    expect(first.stagesEnded).toEqual([
      { tenant: 'default', pipeline: 'orders', stage: 'load', result: 'success', durationSeconds: 5, rows: { read: null, written: 9, rejected: null } },
    ]);
    expect(second.stagesEnded).toEqual([]);
  });

  it('counts a run again when a failed stage arrives after it ended in success', async () => {
    const end = { run: runFacts({ runId: 'late-failure', state: 'ended', result: 'success', startedAtMs: T0, endedAtMs: T0 + 9000 }), stage: null };
    expect((await merge(of(DEFAULT, end))).runsEnded.map((ended) => ended.result)).toEqual(['success']);
    const failed = stageRecord('late-failure', { state: 'ended', result: 'failure', startedAtMs: T0, endedAtMs: T0 + 8000 });
    expect((await merge(of(DEFAULT, failed))).runsEnded.map((ended) => ended.result)).toEqual(['failure']);
    expect(await storedRun('late-failure')).toMatchObject({ state: 'ended', result: 'failure' });
  });

  it("keeps each tenant's run of the same id its own", async () => {
    const start = (pipeline: string) => ({ run: runFacts({ runId: 'shared-id', pipeline, startedAtMs: T0 }), stage: null });
    const ended = { run: runFacts({ runId: 'shared-id', pipeline: 'theirs', state: 'ended', result: 'success', endedAtMs: T0 + 1000 }), stage: null };
    const effects = await merge([...of(OTHER, start('theirs'), ended), ...of(DEFAULT, start('ours'))]);
    expect(await storedRun('shared-id', 1)).toMatchObject({ pipeline: 'ours', state: 'running' });
    expect(await storedRun('shared-id', 2)).toMatchObject({ pipeline: 'theirs', state: 'ended' });
    expect(effects.runsEnded.map((run) => run.tenant)).toEqual(['other']);
  });

  it('stores a check once, under its record\'s fingerprint, and derives no run from it', async () => {
    const check: StoredCheck = {
      atMs: T0, pipeline: 'checked', runId: 'checked-run', stage: 'load', name: 'not null', passed: false, details: { nulls: 3 }, body: 'nulls', fingerprint: '255',
    };
    const found: Derivation[] = [{ tenant: DEFAULT, derived: { run: null, stage: null }, check }];
    await merge(found);
    await merge(found);
    const { rows } = await db.query(`SELECT fingerprint::text, pipeline, run_id, stage, name, passed, details, body FROM pipeline_checks`);
    expect(rows).toEqual([
      { fingerprint: '00000000-0000-0000-0000-0000000000ff', pipeline: 'checked', run_id: 'checked-run', stage: 'load', name: 'not null', passed: false, details: { nulls: 3 }, body: 'nulls' },
    ]);
    expect(await storedRun('checked-run')).toBeUndefined();
  });
});
