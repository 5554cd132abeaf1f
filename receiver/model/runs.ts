/**
 * Pipeline runs and stages as facts, and the one statement of how facts about the same run combine.
 * model/derive.ts turns records into facts; storage/merge-runs.ts reads the stored row, merges the new
 * facts into it with merge() below and writes the result back, so these rules live nowhere else (no
 * SQL restates them).
 *
 * merge() does not depend on the order facts arrive in (an end before its start, concurrent requests,
 * a late heartbeat after the end): a run's state, result, times and duration come out the same for every
 * order (test/receiver/run-order.test.ts).
 */
import { ATTR, ERROR_TYPE, EVENT, FAILED_RESULTS, type Result, type RunState } from '../../contract/vocabulary.js';
import type { Attributes } from './records.js';

export const RUN_EVENTS: ReadonlySet<string> = new Set([EVENT.runStart, EVENT.runHeartbeat, EVENT.runEnd]);
export const STAGE_EVENTS: ReadonlySet<string> = new Set([EVENT.stageStart, EVENT.stageEnd]);
/** The log events that derive runs, stages and checks (model/lineage.ts adds those that carry lineage alone). */
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
  /** The earliest start a producer carried on a record that is not the start (ATTR.runStartHint). */
  startHintMs: number | null;
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

/** The fields that come from a run's end record: the deciding end (decidingEnd) gives them. */
const END_FIELDS = ['result', 'durationSeconds', 'errorType', 'errorMessage'] as const;
/** Counts only grow while a run goes on: the largest reported wins, whatever order they came in. */
const COUNT_FIELDS = ['rowsRead', 'rowsWritten', 'rowsRejected'] as const;

/**
 * End results from the weakest to the strongest: of two ends of one run or stage, the stronger decides.
 * A failed result beats every other, so that no later success undoes a failure (Spark's listener ends a
 * failed job with FAIL, then COMPLETE); a `failure` beats an `error` or `timeout` because it is the work's
 * own account, usually with its message. A total order, so the fold stays order-independent.
 */
export const END_ORDER: readonly Result[] = ['skip', 'success', 'cancellation', 'timeout', 'error', 'failure'];
export const isFailedResult = (result: Result | null) => result !== null && FAILED_RESULTS.includes(result);

/** Which of two facts is later: by end, then by last sign of life, then by start. */
function laterOf<F extends RunFacts | StageFacts>(a: F, b: F): [later: F, earlier: F] {
  const key = (f: F) => [f.endedAtMs ?? -1, 'lastSeenMs' in f ? f.lastSeenMs : -1, f.startedAtMs ?? -1];
  const [ka, kb] = [key(a), key(b)];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! > kb[i]! ? [a, b] : [b, a];
  return [b, a];
}

/**
 * An end pipemon inferred rather than one its sender reported: the SDK's next start ends a run whose
 * process died as `error` (sdk/spool/open-runs.ts), also when the run's own end was spooled just before the
 * death. Any reported end decides over it.
 */
const isInferred = (f: RunFacts | StageFacts) => f.errorType === ERROR_TYPE.processDied;

/** The end that decides the result and error: a reported one over an inferred one, the stronger result (END_ORDER), then the later end. */
function decidingEnd<F extends RunFacts | StageFacts>(later: F, earlier: F): [decides: F | null, other: F | null] {
  const endOf = (f: F): F | null => (f.state === 'ended' ? f : null);
  const [a, b] = [endOf(later), endOf(earlier)];
  if (a === null || b === null) return [a ?? b, null];
  const rank = (f: F) => (isInferred(f) ? -2 : f.result === null ? -1 : END_ORDER.indexOf(f.result));
  return rank(b) > rank(a) ? [b, a] : [a, b];
}

const pick = <T>(first: T | null, second: T | null): T | null => (first !== null ? first : second);
/** The larger of two counts or times, a known one beating null: how facts that only grow combine. */
export const most = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
const least = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * Two sets of facts about one run or stage as one. Ended wins over running; the deciding end (the
 * strongest result, then the latest) gives the result, the error and the reported duration; the
 * earliest start and the latest end win; counts take their largest value; the trace is the start's;
 * anything else takes the later record's value, a value beating a null.
 */
export function merge<F extends RunFacts | StageFacts>(a: F, b: F): F {
  const [later, earlier] = laterOf(a, b);
  const merged = { ...earlier } as F;
  const fields = merged as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(later)) if (value !== null) fields[key] = value;
  const [decides, other] = decidingEnd(later, earlier);
  // The other end completes the deciding one's error only when both tell of a failure: a success does not carry a failure's error.
  const completes = other !== null && isFailedResult(decides!.result) && isFailedResult(other.result);
  for (const key of END_FIELDS) {
    const fallback = key === 'result' || key === 'durationSeconds' || completes ? (other?.[key] ?? null) : null;
    fields[key] = decides ? pick(decides[key], fallback) : pick(later[key], earlier[key]);
  }
  for (const key of COUNT_FIELDS) fields[key] = most(a[key], b[key]);
  merged.state = a.state === 'ended' || b.state === 'ended' ? 'ended' : 'running';
  merged.startedAtMs = least(a.startedAtMs, b.startedAtMs);
  merged.endedAtMs = most(a.endedAtMs, b.endedAtMs);
  merged.attributes = { ...earlier.attributes, ...later.attributes };
  if ('lastSeenMs' in merged) {
    const [ra, rb] = [a as RunFacts, b as RunFacts];
    const run = merged as RunFacts;
    run.lastSeenMs = Math.max(ra.lastSeenMs, rb.lastSeenMs);
    run.startHintMs = least(ra.startHintMs, rb.startHintMs);
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
    // A stage its run closed never reported an end: how long it ran is not known.
    const measured = f.endedAtMs !== null && !isClosedByRun(f) ? (f.endedAtMs - f.startedAtMs) / 1000 : null;
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

/** A run as it shows: its own facts completed by its stages' (rollUp). */
export interface ShownRun {
  facts: RunFacts;
  settled: Settled;
  /** Its stages still open although it ended, closed by its end (closedByRun). */
  closed: StageFacts[];
}

/** Where a stage's start stands in its attempts: by start, else by end. */
const attemptTime = (stage: StageFacts) => stage.startedAtMs ?? stage.endedAtMs ?? -Infinity;

/**
 * The stages whose failure fails their run: a stage's last attempt (by start; the same stage name run
 * again is a retry) that ended in a failed result, unless it was declared tolerated. The first to end first.
 */
export function unrecoveredFailures(stages: readonly StageFacts[]): StageFacts[] {
  const last = new Map<string, StageFacts>();
  for (const stage of stages) {
    const before = last.get(stage.stage);
    if (!before || attemptTime(stage) > attemptTime(before) || (attemptTime(stage) === attemptTime(before) && stage.stageRunId > before.stageRunId)) {
      last.set(stage.stage, stage);
    }
  }
  return [...last.values()]
    .filter((stage) => stage.state === 'ended' && isFailedResult(stage.result) && !isTolerated(stage.attributes))
    .sort((a, b) => (a.endedAtMs ?? Infinity) - (b.endedAtMs ?? Infinity) || a.stageRunId.localeCompare(b.stageRunId));
}

/** Declared tolerated by its sender (the SDK's `allowFailure`): as a boolean, or the text of one. */
export const isTolerated = (attributes: Attributes) => String(attributes[ATTR.failureAllowed]).toLowerCase() === 'true';

/** A stage's end as its run's failure: its error, else words naming it. */
function errorOfStage(stage: StageFacts): { errorType: string | null; errorMessage: string } {
  return { errorType: stage.errorType, errorMessage: stage.errorMessage ?? `stage ${stage.stage} ended in ${stage.result}` };
}

/** A message that names no cause: none, or one word (Airflow's `task_failure`, a bare `FAILED`). */
const isGeneric = (message: string | null) => message === null || !/\s/.test(message.trim());

/**
 * A stage open when its run ended: ended with its run, with no result (it never reported one) and the
 * error type that says so. Its own end, should it arrive later, replaces this (reopened() reads it back).
 */
export function closedByRun(stage: StageFacts, run: RunFacts): StageFacts {
  return {
    ...stage,
    state: 'ended',
    result: null,
    endedAtMs: most(run.endedAtMs, stage.startedAtMs),
    errorType: ERROR_TYPE.noEndReported,
    errorMessage: 'no end was reported before its run ended',
  };
}

/** Whether closedByRun() made these facts: ended, with no result, for that reason. */
const isClosedByRun = (f: RunFacts | StageFacts) => f.state === 'ended' && f.result === null && f.errorType === ERROR_TYPE.noEndReported;

/** Stored stage facts as the stage itself reported them: a stage closed by its run is open again. */
export function reopened(stage: StageFacts): StageFacts {
  if (!isClosedByRun(stage)) return stage;
  return { ...stage, state: 'running', endedAtMs: null, errorType: null, errorMessage: null };
}

/**
 * What a run shows, from its own merged facts and all its stages', the same in every arrival order since
 * both are:
 * - an ended run whose own result is not failed fails with its first unrecovered stage failure;
 * - a failed run whose own error is generic or missing says its first failed stage's error;
 * - row counts it did not report are its stages' sums;
 * - with no start record, it starts at the earliest of its stages' starts and the producer's start hint
 *   (else as settle() estimates), its duration measured from there;
 * - its stages still open when it ended are closed by its end.
 */
export function rollUp(run: RunFacts, stages: readonly StageFacts[]): ShownRun {
  const shown: RunFacts = { ...run };
  const ended = run.state === 'ended';
  const failure = ended ? unrecoveredFailures(stages)[0] : undefined;
  if (failure && !isFailedResult(run.result)) Object.assign(shown, { result: failure.result }, errorOfStage(failure));
  else if (failure && isGeneric(run.errorMessage)) Object.assign(shown, { errorType: failure.errorType ?? run.errorType, errorMessage: errorOfStage(failure).errorMessage });
  for (const key of COUNT_FIELDS) {
    const counted = stages.map((stage) => stage[key]).filter((n): n is number => n !== null);
    if (shown[key] === null && counted.length > 0) shown[key] = counted.reduce((sum, n) => sum + n, 0);
  }
  const closed = ended ? stages.filter((stage) => stage.state === 'running').map((stage) => closedByRun(stage, run)) : [];
  return { facts: shown, settled: settleRun(run, stages), closed };
}

/** settle() for a run, with its stages' starts and its start hint as better estimates of a missing start. */
function settleRun(run: RunFacts, stages: readonly StageFacts[]): Settled {
  const settled = settle(run);
  if (!settled.startEstimated) return settled;
  const known = stages.reduce<number | null>((earliest, stage) => least(earliest, stage.startedAtMs), run.startHintMs);
  if (known === null) return settled;
  const startedAtMs = least(known, settled.startedAtMs)!;
  const measured = run.endedAtMs !== null ? (run.endedAtMs - startedAtMs) / 1000 : null;
  return { startedAtMs, startEstimated: true, durationSeconds: run.durationSeconds ?? measured };
}

/** The run's own figures that its shown row replaced (rollUp), and its start hint: what a stored row lacks to be merged again. */
export type Reported = Partial<Pick<RunFacts, 'result' | 'errorType' | 'errorMessage' | 'rowsRead' | 'rowsWritten' | 'rowsRejected' | 'durationSeconds' | 'startHintMs'>>;
const REPLACEABLE = ['result', 'errorType', 'errorMessage', ...COUNT_FIELDS] as const;

/** What `own` reported where `shown` shows otherwise; null when it shows its own facts. */
export function reportedOf(own: RunFacts, shown: ShownRun): Reported | null {
  const reported: Record<string, unknown> = {};
  for (const key of REPLACEABLE) if (own[key] !== shown.facts[key]) reported[key] = own[key];
  // A duration measured from an estimated start is not told apart from a reported one by reportedDuration().
  if (shown.settled.startEstimated && shown.settled.durationSeconds !== own.durationSeconds) reported.durationSeconds = own.durationSeconds;
  if (own.startHintMs !== null) reported.startHintMs = own.startHintMs;
  return Object.keys(reported).length > 0 ? (reported as Reported) : null;
}
