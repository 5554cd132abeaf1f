/**
 * The runs, stages, checks and lineage that a batch's new records describe, merged into their stored rows in the
 * batch's transaction. Per tenant, under its runs' locks: each run's own facts (model/runs.ts merge()),
 * then what it shows with all its stages (rollUp()), written back (run-rows.ts) with the changes to their
 * days' figures (run-days.ts); the ends the metrics count after COMMIT are returned. A record that
 * arrives again is not new (record-copy.ts): it derives nothing, so each fact is merged once.
 */
import type { LineageFacts } from '../model/lineage.js';
import type { Tenant } from '../model/records.js';
import {
  isFailedResult,
  merge,
  reopened,
  reportedOf,
  rollUp,
  settle,
  type Derived,
  type RunEnded,
  type RunFacts,
  type Settled,
  type StageEnded,
  type StageFacts,
} from '../model/runs.js';
import { insertChecks, type StoredCheck } from './check-rows.js';
import { writeLineage } from './lineage-rows.js';
import type { Queryable } from './database.js';
import { addRunChanges, type RunChange } from './run-days.js';
import type { SharedRunRow } from './run-columns.js';
import { readRuns, readStages, runRow, stageKey, stageRow, writeRuns, writeStages, type StoredRun } from './run-rows.js';

/** What one new record describes, filed under its key by ingest/prepare.ts. */
export interface Derivation {
  tenant: Tenant;
  derived: Derived;
  check?: StoredCheck | null;
  lineage?: LineageFacts | null;
}

/** The ends a batch's merge brought about, for the metrics to count after COMMIT. */
export interface RunEffects {
  runsEnded: RunEnded[];
  stagesEnded: StageEnded[];
}

/** Merges what a batch's new records describe; in the transaction that stored the records. */
export async function mergeRuns(tx: Queryable, found: Derivation[]): Promise<RunEffects> {
  const effects: RunEffects = { runsEnded: [], stagesEnded: [] };
  const changes: RunChange[] = [];
  // Locks in one order in every transaction (tenants by id, then the days' figures), so that two cannot deadlock.
  for (const { tenant, runs, stages } of factsByTenant(found)) {
    if (runs.size === 0) continue;
    const merged = await mergeTenant(tx, tenant, runs, stages);
    effects.runsEnded.push(...merged.runsEnded);
    effects.stagesEnded.push(...merged.stagesEnded);
    changes.push(...merged.changes);
  }
  await addRunChanges(tx, changes);
  await insertChecks(tx, found.flatMap(({ tenant, check }) => (check ? [{ tenant, check }] : [])));
  await writeLineage(tx, found.flatMap(({ tenant, lineage }) => (lineage ? [{ tenantId: tenant.id, lineage }] : [])));
  return effects;
}

interface TenantFacts {
  tenant: Tenant;
  runs: Map<string, RunFacts>;
  stages: Map<string, StageFacts>;
}

/** The facts of each tenant, in tenant id order; facts about one run or stage merged into one. */
function factsByTenant(found: Derivation[]): TenantFacts[] {
  const byTenant = new Map<number, TenantFacts>();
  for (const { tenant, derived } of found) {
    let group = byTenant.get(tenant.id);
    if (!group) byTenant.set(tenant.id, (group = { tenant, runs: new Map(), stages: new Map() }));
    if (derived.run) addFacts(group.runs, derived.run.runId, derived.run);
    if (derived.stage) addFacts(group.stages, stageKey(derived.stage.runId, derived.stage.stageRunId), derived.stage);
  }
  return [...byTenant.values()].sort((a, b) => a.tenant.id - b.tenant.id);
}

function addFacts<F extends RunFacts | StageFacts>(map: Map<string, F>, key: string, facts: F): void {
  const existing = map.get(key);
  map.set(key, existing ? merge(existing, facts) : facts);
}

interface Merged extends RunEffects {
  changes: RunChange[];
}

/** Merges a tenant's runs and stages of one batch (every stage's run is among `runs`: derive.ts makes one for it). */
async function mergeTenant(tx: Queryable, tenant: Tenant, runs: Map<string, RunFacts>, stages: Map<string, StageFacts>): Promise<Merged> {
  const runIds = [...runs.keys()];
  await lockRuns(tx, tenant, runIds);
  const storedStages = await readStages(tx, tenant, runIds);
  const storedRuns = await readRuns(tx, tenant, runIds);
  const allStages = new Map([...storedStages].map(([key, stage]) => [key, reopened(stage)]));
  for (const [key, facts] of stages) allStages.set(key, allStages.has(key) ? merge(allStages.get(key)!, facts) : facts);
  const stagesOfRun = groupByRun(allStages.values());

  const result: Merged = { runsEnded: [], stagesEnded: stagesEnded(tenant, stages.keys(), storedStages, allStages), changes: [] };
  const stagesToWrite = new Map([...stages.keys()].map((key) => [key, allStages.get(key)!]));
  const runRows = [...runs].map(([runId, incoming]) => {
    const before = storedRuns.get(runId);
    const own = before ? merge(before.own, incoming) : incoming;
    const shown = rollUp(own, stagesOfRun.get(runId) ?? []);
    // A stage its run closed is written once, when it closes (it reads back as open, and closes again).
    for (const stage of shown.closed) {
      const key = stageKey(runId, stage.stageRunId);
      if (stages.has(key) || storedStages.get(key)?.state !== 'ended') stagesToWrite.set(key, stage);
    }
    const row = runRow(shown.facts, shown.settled, reportedOf(own, shown));
    result.changes.push(...replacedChange(tenant, before), ...runChange(1, tenant, row));
    const ended = runEnded(tenant, shown.facts, shown.settled, before?.row);
    if (ended) result.runsEnded.push(ended);
    return row;
  });
  // A batch of run records alone (heartbeats, ends) writes no stage.
  await writeStages(tx, tenant, [...stagesToWrite.values()].map(stageRow));
  await writeRuns(tx, tenant, runRows);
  return result;
}

function groupByRun(stages: Iterable<StageFacts>): Map<string, StageFacts[]> {
  const byRun = new Map<string, StageFacts[]>();
  for (const stage of stages) {
    const ofRun = byRun.get(stage.runId);
    if (ofRun) ofRun.push(stage);
    else byRun.set(stage.runId, [stage]);
  }
  return byRun;
}

/** The batch's stages that reported their end in it: each counted once, however often its end arrives. */
function stagesEnded(tenant: Tenant, keys: Iterable<string>, stored: Map<string, StageFacts>, merged: Map<string, StageFacts>): StageEnded[] {
  return [...keys].flatMap((key) => {
    const stage = merged.get(key)!;
    const before = stored.get(key);
    const endedBefore = before !== undefined && reopened(before).state === 'ended';
    return stage.state === 'ended' && stage.result !== null && !endedBefore ? [stageEnded(tenant, stage)] : [];
  });
}

/**
 * Serializes transactions that touch the same runs (two writers, or two receivers), so that the stored
 * rows read below are the ones this merge replaces, and a run's end is counted once. Locks are taken in one
 * order, hash order, so that two batches cannot deadlock on them.
 */
async function lockRuns(tx: Queryable, tenant: Tenant, runIds: string[]): Promise<void> {
  await tx.query(
    `SELECT pg_advisory_xact_lock($1, h) FROM (SELECT DISTINCT hashtext(id) AS h FROM unnest($2::text[]) AS id ORDER BY h OFFSET 0) AS s`,
    [tenant.id, runIds],
  );
}

/**
 * A run counts as ended when it first shows an end, and again when a failure shows after it had counted
 * as not failed (its failed stage arrived after its end): the failure must reach the alerts.
 */
function runEnded(tenant: Tenant, shown: RunFacts, settled: Settled, before: Pick<SharedRunRow<unknown>, 'state' | 'result'> | undefined): RunEnded | null {
  if (shown.state !== 'ended' || shown.result === null) return null;
  const counted = before?.state === 'ended' && before.result !== null;
  if (counted && !(isFailedResult(shown.result) && !isFailedResult(before.result))) return null;
  return { tenant: tenant.name, pipeline: shown.pipeline, result: shown.result, durationSeconds: settled.durationSeconds, errorType: shown.errorType, endedAtMs: shown.endedAtMs };
}

function stageEnded(tenant: Tenant, stage: StageFacts): StageEnded {
  return {
    tenant: tenant.name,
    pipeline: stage.pipeline,
    stage: stage.stage,
    result: stage.result!,
    durationSeconds: settle(stage).durationSeconds,
    rows: { read: stage.rowsRead, written: stage.rowsWritten, rejected: stage.rowsRejected },
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The stored row a write replaces leaves its day's figures. */
const replacedChange = (tenant: Tenant, before: StoredRun | undefined): RunChange[] =>
  before ? runChange(-1, tenant, { ...before.row, started_at: iso(before.row.started_at) }) : [];

/** A run row's part in its day's figures (run-days.ts), as stored: read back (-1) or written (+1); none without a start. */
function runChange(sign: 1 | -1, tenant: Tenant, run: Omit<RunChange, 'sign' | 'tenant_id' | 'started_at'> & { started_at: string | null }): RunChange[] {
  const { pipeline, started_at, state, result, duration_seconds, rows_read, rows_written, rows_rejected } = run;
  return started_at === null ? [] : [{ sign, tenant_id: tenant.id, pipeline, started_at, state, result, duration_seconds, rows_read, rows_written, rows_rejected }];
}
