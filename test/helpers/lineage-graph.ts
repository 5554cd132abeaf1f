/**
 * A tenant's pipelines and datasets for the lineage read tests (query and HTTP alike), as SDK records:
 * each stage names what it reads and writes (pipemon.lineage.inputs/outputs), so the graph is the one
 * the write path keeps. The graph, with a cycle (transform → report → feedback → transform):
 *
 *   src://shop.orders → extract → dw://raw_orders → transform ─┬→ dw://orders → report → dw://daily_report → feedback → dw://raw_orders
 *                                                              └→ dw://customers → ml → dw://scores → dash
 *
 * transform runs hourly (declared); its latest run t-2 failed in `build` (dw://orders) while
 * `build_customers` (dw://customers) succeeded. ml's run m-1 started two hours ago and went silent: stuck.
 */
import { ATTR, EVENT } from '../../contract/vocabulary.js';
import { decodeLogsJson } from '../../receiver/decode/otlp-json.js';
import { prepare } from '../../receiver/ingest/prepare.js';
import type { Tenant } from '../../receiver/model/records.js';
import type { Database } from '../../receiver/storage/database.js';
import { createPartitionManager } from '../../receiver/storage/partitions.js';
import { writeBatch } from '../../receiver/storage/write-batch.js';
import { otlpJsonLogs, type JsonRecord, type Value } from './otlp-json.js';

export const HOUR = 3_600_000;
/** The query suites' clock: the records are placed around it and the queries judged at it. */
export const NOW = Date.now();

interface StageSpec {
  stage: string;
  reads?: string;
  writes?: string;
  /** The stage's result; none leaves it running. */
  result?: string;
  rows?: number;
}

/** A run's records from `startMs`: its start, each stage's start and end, and its end unless `result` is null (still running). */
export function runRecords(pipeline: string, runId: string, startMs: number, result: string | null, stages: StageSpec[], extra: Record<string, Value> = {}): JsonRecord[] {
  const run = { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId, ...extra };
  const records: JsonRecord[] = [{ eventName: EVENT.runStart, timeMs: startMs, attributes: run }];
  stages.forEach(({ stage, reads, writes, result: stageResult, rows }, i) => {
    const attributes = {
      ...run,
      [ATTR.stageName]: stage,
      [ATTR.stageRunId]: `${runId}-${stage}`,
      ...(reads ? { [ATTR.lineageInputs]: reads } : {}),
      ...(writes ? { [ATTR.lineageOutputs]: writes } : {}),
    };
    records.push({ eventName: EVENT.stageStart, timeMs: startMs + 1000 * (i + 1), attributes });
    if (stageResult) {
      const counts: Record<string, Value> = rows === undefined ? {} : { [ATTR.rowsWritten]: rows };
      records.push({ eventName: EVENT.stageEnd, timeMs: startMs + 1000 * (i + 1) + 500, attributes: { ...attributes, ...counts, [ATTR.stageResult]: stageResult } });
    }
  });
  if (result !== null) records.push({ eventName: EVENT.runEnd, timeMs: startMs + 60_000, attributes: { ...run, [ATTR.runResult]: result } });
  return records;
}

const HOURLY = { [ATTR.expectedIntervalSeconds]: 3600 };

export function lineageGraphRecords(nowMs: number): JsonRecord[] {
  const ago = (hours: number) => nowMs - hours * HOUR;
  return [
    ...runRecords('extract', 'e-1', ago(6), 'success', [{ stage: 'pull', reads: 'src://shop.orders', writes: 'dw://raw_orders', result: 'success', rows: 100 }]),
    ...runRecords('transform', 't-1', ago(5), 'success', [
      { stage: 'build', reads: 'dw://raw_orders', writes: 'dw://orders', result: 'success', rows: 90 },
      { stage: 'build_customers', reads: 'dw://raw_orders', writes: 'dw://customers', result: 'success', rows: 10 },
    ], HOURLY),
    ...runRecords('transform', 't-2', ago(0.5), 'failure', [
      { stage: 'build', reads: 'dw://raw_orders', writes: 'dw://orders', result: 'failure' },
      { stage: 'build_customers', reads: 'dw://raw_orders', writes: 'dw://customers', result: 'success', rows: 12 },
    ], HOURLY),
    ...runRecords('report', 'r-1', ago(4), 'success', [{ stage: 'render', reads: 'dw://orders', writes: 'dw://daily_report', result: 'success', rows: 1 }]),
    ...runRecords('feedback', 'f-1', ago(3), 'success', [{ stage: 'loop', reads: 'dw://daily_report', writes: 'dw://raw_orders', result: 'success', rows: 5 }]),
    ...runRecords('ml', 'm-1', ago(2), null, [{ stage: 'score', reads: 'dw://customers', writes: 'dw://scores' }]),
    ...runRecords('dash', 'd-1', ago(3), 'success', [{ stage: 'show', reads: 'dw://scores', result: 'success' }]),
  ];
}

/** Another tenant's records: the same pipeline names, a dataset of the same name, and one of its own. */
export function otherTenantRecords(nowMs: number): JsonRecord[] {
  return [
    ...runRecords('transform', 't-1', nowMs - HOUR, 'failure', [{ stage: 'build', reads: 'dw://raw_orders', writes: 'dw://secret', result: 'failure' }]),
    ...runRecords('hidden', 'h-1', nowMs - HOUR, 'success', [{ stage: 'x', reads: 'dw://secret', writes: 'dw://orders', result: 'success' }]),
  ];
}

/** Stores `records` for `tenant` through the write path (prepare, then writeBatch in one transaction). */
export async function writeRecords(db: Database, tenant: Tenant, records: JsonRecord[]): Promise<void> {
  const logs = decodeLogsJson(otlpJsonLogs({ 'service.name': 'etl' }, records));
  await db.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepare(tenant, logs, [])]));
}

/** Two tenants: the graph above in the first, otherTenantRecords in the second. */
export async function twoTenants(db: Database): Promise<[Tenant, Tenant]> {
  const { rows } = await db.query<{ tenant_id: number; name: string }>("INSERT INTO tenants (name) VALUES ('mine'), ('theirs') RETURNING tenant_id, name");
  const [mine, theirs] = rows.map((row) => ({ id: row.tenant_id, name: row.name }));
  await writeRecords(db, mine!, lineageGraphRecords(NOW));
  await writeRecords(db, theirs!, otherTenantRecords(NOW));
  return [mine!, theirs!];
}
