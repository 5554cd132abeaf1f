/**
 * Pipeline runs and stages as facts, and the one statement of how facts about the same run combine.
 * ingest/derive.ts turns records into facts; storage/write-batch.ts reads the stored row, merges the new
 * facts into it with merge() below and writes the result back, so these rules live nowhere else (no
 * SQL restates them).
 *
 * merge() does not depend on the order facts arrive in (an end before its start, concurrent requests,
 * a late heartbeat after the end): a run's state, result, times and duration come out the same for every
 * order (test/run-order.test.ts).
 */
import { EVENT, type Result, type RunState } from '../../sdk/vocabulary.js';
import type { Attributes } from './records.js';

export const RUN_EVENTS: ReadonlySet<string> = new Set([EVENT.runStart, EVENT.runHeartbeat, EVENT.runEnd]);
export const STAGE_EVENTS: ReadonlySet<string> = new Set([EVENT.stageStart, EVENT.stageEnd]);
/** The log events that derive runs, stages and checks; storage/write-batch.ts asks the database to return only these. */
export const DERIVING_EVENTS: readonly string[] = [...RUN_EVENTS, ...STAGE_EVENTS, EVENT.check];

export interface CommonFacts {
  runId: string;
  pipeline: string;
  state: RunState;
  result: Result | null;
  /** When it started, as a start record (or a span) said; null while no such record arrived. */
  startedAtMs: number | null;
  endedAtMs: number | null;
  /** As its end record reported it; null when none did (then it is end minus start). */
  durationSeconds: number | null;
  rowsRead: number | null;
  rowsWritten: number | null;
  rowsRejected: number | null;
  errorType: string | null;
  errorMessage: string | null;
  targetNamespace: string | null;
  targetCollection: string | null;
  attributes: Attributes;
}

export interface RunFacts extends CommonFacts {
  serviceName: string | null;
  /** deployment.environment.name of its records' resource (or the older deployment.environment). */
  environment: string | null;
  sourceSystem: string | null;
  traceId: string | null;
  lastSeenMs: number;
}

export interface StageFacts extends CommonFacts {
  stageRunId: string;
  stage: string;
  spanId: string | null;
}

/**
 * A data-quality check's outcome, from a `pipeline.check` record: stored with the record, once, so that
 * the checks of a run or of a pipeline over a day are read without decoding every record's attributes.
 */
export interface CheckFacts {
  atMs: number;
  pipeline: string | null;
  runId: string | null;
  stage: string | null;
  name: string | null;
  /** The record's `pipemon.check.passed`: a boolean, or the text of one; null when neither. */
  passed: boolean | null;
  details: unknown;
  body: string | null;
}

/** The facts one record contributes: a stage record also makes its run visible. */
export interface Derived {
  run: RunFacts | null;
  stage: StageFacts | null;
}

/** A run that ended in a committed batch (and had not ended before it): applied to metrics after COMMIT. */
export interface RunEnded {
  tenant: string;
  pipeline: string;
  result: Result;
  durationSeconds: number | null;
  errorType: string | null;
  endedAtMs: number | null;
}

export interface StageEnded {
  tenant: string;
  pipeline: string;
  stage: string;
  result: Result;
  durationSeconds: number | null;
  rows: { read: number | null; written: number | null; rejected: number | null };
}

/** The fields that come from a run's end record: the latest end decides them. */
const END_FIELDS = ['result', 'durationSeconds', 'errorType', 'errorMessage'] as const;
/** Counts only grow while a run goes on: the largest reported wins, whatever order they came in. */
const COUNT_FIELDS = ['rowsRead', 'rowsWritten', 'rowsRejected'] as const;

/** Which of two facts is later: by end, then by last sign of life, then by start. */
function laterOf<F extends RunFacts | StageFacts>(a: F, b: F): [later: F, earlier: F] {
  const key = (f: F) => [f.endedAtMs ?? -1, 'lastSeenMs' in f ? f.lastSeenMs : -1, f.startedAtMs ?? -1];
  const [ka, kb] = [key(a), key(b)];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! > kb[i]! ? [a, b] : [b, a];
  return [b, a];
}

const pick = <T>(first: T | null, second: T | null): T | null => (first !== null ? first : second);
const most = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
const least = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * Two sets of facts about one run or stage as one. Ended wins over running; the latest end decides the
 * result, the error and the reported duration; the earliest start and the latest end win; counts take
 * their largest value; the trace is the start's; anything else takes the later record's value, a value
 * beating a null.
 */
export function merge<F extends RunFacts | StageFacts>(a: F, b: F): F {
  const [later, earlier] = laterOf(a, b);
  const merged = { ...earlier } as F;
  const fields = merged as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(later)) if (value !== null) fields[key] = value;
  const endsOf = (f: F) => (f.state === 'ended' ? f : null);
  const [endLater, endEarlier] = [endsOf(later), endsOf(earlier)];
  for (const key of END_FIELDS) fields[key] = pick(endLater?.[key] ?? null, endEarlier?.[key] ?? null) ?? pick(later[key], earlier[key]);
  for (const key of COUNT_FIELDS) fields[key] = most(a[key], b[key]);
  merged.state = a.state === 'ended' || b.state === 'ended' ? 'ended' : 'running';
  merged.startedAtMs = least(a.startedAtMs, b.startedAtMs);
  merged.endedAtMs = most(a.endedAtMs, b.endedAtMs);
  merged.attributes = { ...earlier.attributes, ...later.attributes };
  if ('lastSeenMs' in merged) {
    const [ra, rb] = [a as RunFacts, b as RunFacts];
    const run = merged as RunFacts;
    run.lastSeenMs = Math.max(ra.lastSeenMs, rb.lastSeenMs);
    // The start's trace: a run joined from elsewhere (pipemon exec) keeps the trace it began in.
    const [first, second] = (ra.startedAtMs ?? Infinity) <= (rb.startedAtMs ?? Infinity) ? [ra, rb] : [rb, ra];
    run.traceId = pick(first.traceId, second.traceId);
  }
  return merged;
}

/** What is stored for a run or stage beyond its facts: a start to list it by, and its duration. */
export interface Settled {
  /** The start, or an estimate while its start record has not arrived (runs are listed by start). */
  startedAtMs: number | null;
  startEstimated: boolean;
  durationSeconds: number | null;
}

/**
 * The stored start and duration of merged facts. A run first seen from a later record gets an estimated
 * start (end minus duration, or when it was seen), replaced when the real one arrives; a duration not
 * reported is end minus start, once both are known.
 */
export function settle(f: RunFacts | StageFacts): Settled {
  if (f.startedAtMs !== null) {
    const measured = f.endedAtMs !== null ? (f.endedAtMs - f.startedAtMs) / 1000 : null;
    return { startedAtMs: f.startedAtMs, startEstimated: false, durationSeconds: f.durationSeconds ?? measured };
  }
  const estimate = f.endedAtMs !== null ? f.endedAtMs - (f.durationSeconds ?? 0) * 1000 : 'lastSeenMs' in f ? f.lastSeenMs : null;
  return { startedAtMs: estimate, startEstimated: true, durationSeconds: f.durationSeconds };
}

/**
 * The reported duration of stored facts: a stored duration equal to end minus start (within a
 * millisecond) was measured by settle(), not reported, and is measured again after the next merge.
 */
export function reportedDuration(stored: { startedAtMs: number | null; startEstimated: boolean; endedAtMs: number | null; durationSeconds: number | null }): number | null {
  const { startedAtMs, startEstimated, endedAtMs, durationSeconds } = stored;
  if (durationSeconds === null || startEstimated || startedAtMs === null || endedAtMs === null) return durationSeconds;
  return Math.abs((endedAtMs - startedAtMs) / 1000 - durationSeconds) < 0.001 ? null : durationSeconds;
}
