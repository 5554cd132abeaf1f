/**
 * The writer's metrics: its memory budget, and each group-commit transaction, recorded once when it
 * commits or fails. A committed batch also counts what COMMIT changed (records accepted and duplicate,
 * runs and stages ended), never before: a batch that fails changed nothing.
 */
import { FAILED_RESULTS } from '../../contract/vocabulary.js';
import type { RunEnded, StageEnded } from '../model/runs.js';
import type { RefusalKind } from '../model/outcome.js';
import type { BatchEffects } from '../storage/write-batch.js';
import type { LabelBound } from './label-bound.js';
import type { Instruments } from './instruments.js';

export interface WriterReport {
  /** The writer's memory budget now: `heldBytes` of `limitBytes` held. */
  budget(heldBytes: number, limitBytes: number): void;
  /** A group-commit transaction of `records` records starts. */
  startBatch(records: number): BatchOperation;
}

export interface BatchOperation {
  /** COMMIT happened: records the batch, its duration and what it changed. */
  committed(effects: BatchEffects): void;
  /** The transaction failed with `kind`: records the batch and the database error. */
  failed(kind: RefusalKind): void;
}

const DATABASE_ERROR_KIND = (kind: RefusalKind) => (kind === 'invalid' ? 'permanent' : kind === 'internal' ? 'internal' : 'transient');

export function createWriterReport(m: Instruments, bounded: LabelBound, now: () => number): WriterReport {
  const effects = committedEffects(m, bounded);
  return {
    budget(heldBytes, limitBytes) {
      m.queueBytes.set(heldBytes);
      m.queueLimitBytes.set(limitBytes);
    },
    startBatch(records) {
      const started = now();
      return {
        committed(changed) {
          m.batchRecords.observe(records);
          m.commitDuration.observe((now() - started) / 1000);
          effects(changed);
        },
        failed(kind) {
          m.batchRecords.observe(records);
          m.databaseErrors.inc({ kind: DATABASE_ERROR_KIND(kind) });
        },
      };
    },
  };
}

/** Counts what one committed batch changed. */
function committedEffects(m: Instruments, bounded: LabelBound): (effects: BatchEffects) => void {
  const runEnded = runCounter(m, bounded);
  const stageEnded = (stage: StageEnded) => {
    const pipeline = bounded('stages', stage.pipeline);
    const name = bounded('stage_names', stage.stage);
    if (stage.durationSeconds !== null) {
      m.stageDuration.observe({ tenant: stage.tenant, pipeline, stage: name, result: stage.result }, stage.durationSeconds);
    }
    for (const kind of ['read', 'written', 'rejected'] as const) {
      const n = stage.rows[kind];
      if (n !== null && n > 0) m.rows.inc({ tenant: stage.tenant, pipeline, stage: name, kind }, n);
    }
  };
  return (effects) => {
    for (const [signal, { accepted, duplicates }] of [['logs', effects.logs], ['traces', effects.spans], ['metrics', effects.points]] as const) {
      if (accepted > 0) m.accepted.inc({ signal }, accepted);
      if (duplicates > 0) m.duplicates.inc({ signal }, duplicates);
    }
    effects.runsEnded.forEach(runEnded);
    effects.stagesEnded.forEach(stageEnded);
  };
}

function runCounter(m: Instruments, bounded: LabelBound): (run: RunEnded) => void {
  const counted = new Set<string>();
  return (run) => {
    const pipeline = bounded('runs', run.pipeline);
    // A counter that appears at its first increment hides that increment from increase(): a pipeline's
    // first failure would not count. Its success and failure series start at 0 instead.
    const key = `${run.tenant}\u0000${pipeline}`;
    if (!counted.has(key)) {
      counted.add(key);
      for (const result of ['success', ...FAILED_RESULTS] as const) m.runs.inc({ tenant: run.tenant, pipeline, result }, 0);
    }
    const labels = { tenant: run.tenant, pipeline, result: run.result };
    m.runs.inc(labels);
    if (run.durationSeconds !== null) m.runDuration.observe(labels, run.durationSeconds);
    if (FAILED_RESULTS.includes(run.result)) {
      m.errors.inc({ tenant: run.tenant, pipeline, error_type: bounded('error_types', run.errorType ?? run.result) });
    }
  };
}
