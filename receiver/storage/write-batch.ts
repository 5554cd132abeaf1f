/**
 * One group-commit transaction: the records of every request in the batch are copied into their tables
 * (record-copy.ts), metric points with them, and what the new ones among them describe (a resent record is not new) is merged into
 * the stored runs, stages and checks (merge-runs.ts), all before one COMMIT: a record and what it derives
 * are stored together, once.
 */
import { mergeRuns, type Derivation, type RunEffects } from './merge-runs.js';
import type { Transaction } from './database.js';
import type { PartitionManager } from './partitions.js';
import type { CommittedStreams } from './committed-streams.js';
import { copyRecords, type Counts, type RecordLines } from './record-copy.js';

/** A request's records rendered as COPY lines and what they derive (ingest/prepare.ts). */
export interface Prepared extends RecordLines {
  /** By logKey() or spanKey(): what the database returns for inserted rows, so that only new records derive. */
  candidates: Map<string, Derivation>;
}

export interface BatchEffects extends RunEffects {
  logs: Counts;
  spans: Counts;
  points: Counts;
}

export async function writeBatch(tx: Transaction, partitions: PartitionManager, batch: Prepared[], streams?: CommittedStreams): Promise<BatchEffects> {
  const { logs, spans, points, newKeys } = await copyRecords(tx, partitions, batch, streams);
  const candidates = new Map(batch.flatMap((p) => [...p.candidates]));
  const merged = await mergeRuns(tx, newKeys.flatMap((key) => candidates.get(key) ?? []));
  return { logs, spans, points, ...merged };
}
