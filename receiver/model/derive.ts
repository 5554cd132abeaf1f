/**
 * Pipeline runs and stages derived from the records that carry the pipeline vocabulary: the
 * `pipeline.run.*` / `pipeline.stage.*` log records of the pipemon SDK, and any span with `cicd.pipeline.*`
 * attributes (a run is the span without a task name; a stage, the span with one), so that other
 * emitters of `cicd.*` spans (the Collector's GitHub and GitLab receivers) show up too.
 *
 * A run's log records and its span describe the same run; facts from either are merged by the rules of
 * model/runs.ts, so records arriving twice or out of order converge to the same row. A `pipeline.check`
 * record also gives its data-quality check (deriveCheck), stored once with the record.
 */
import { ATTR, EVENT, isResult, type Result, type RunState } from '../../contract/vocabulary.js';
import { logTimeNanos, nanosToMs, type Attributes, type LogRow, type SpanRow } from './records.js';
import { RUN_EVENTS, STAGE_EVENTS, type CheckFacts, type CommonFacts, type Derived, type RunFacts, type StageFacts } from './runs.js';

const SPAN_KIND_SERVER = 2;
/** deployment.environment.name before semantic conventions 1.27 renamed it, as older SDKs still send it. */
const LEGACY_ENVIRONMENT = 'deployment.environment';
const STATUS_ERROR = 2;
const SEVERITY_ERROR = 17;

export function lookup(attributes: Attributes, resource: Attributes, key: string): unknown {
  return attributes[key] ?? resource[key];
}

export function text(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null;
  return typeof value === 'string' ? value : String(value);
}

/** A number from an attribute within [0, max], else null: out-of-range values are ignored, not stored. */
function bounded(value: unknown, max: number): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n >= 0 && n <= max ? n : null;
}

export const count = (value: unknown) => {
  const n = bounded(value, Number.MAX_SAFE_INTEGER);
  return n === null ? null : Math.trunc(n);
};
/** A time attribute (ISO 8601 text, as the OpenLineage decoder writes the start hint) in ms, else null. */
function time(value: unknown): number | null {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : null;
}

// No pipeline runs for more than a year; beyond it a duration is a unit mistake (ms or ns for seconds).
const seconds = (value: unknown) => bounded(value, 366 * 86_400);

function common(
  get: (key: string) => unknown,
  runId: string,
  pipeline: string,
  state: RunState,
  result: Result | null,
  attributes: Attributes,
): CommonFacts {
  return {
    runId,
    pipeline,
    state,
    result,
    startedAtMs: null,
    endedAtMs: null,
    durationSeconds: seconds(get(ATTR.durationSeconds)),
    rowsRead: count(get(ATTR.rowsRead)),
    rowsWritten: count(get(ATTR.rowsWritten)),
    rowsRejected: count(get(ATTR.rowsRejected)),
    errorType: text(get(ATTR.errorType)) ?? text(get(ATTR.exceptionType)),
    errorMessage: text(get(ATTR.exceptionMessage)),
    targetNamespace: text(get(ATTR.dbNamespace)),
    targetCollection: text(get(ATTR.dbCollection)),
    attributes,
  };
}

function runFacts(base: CommonFacts, get: (key: string) => unknown, traceId: string, lastSeenMs: number): RunFacts {
  return {
    ...base,
    serviceName: text(get(ATTR.serviceName)),
    environment: text(get(ATTR.environment)) ?? text(get(LEGACY_ENVIRONMENT)),
    sourceSystem: text(get(ATTR.sourceSystem)),
    traceId: traceId || null,
    lastSeenMs,
    startHintMs: time(get(ATTR.runStartHint)),
  };
}

/** A run placeholder for a stage record: the run shows as running until its own end arrives. */
function runOfStage(stage: StageFacts, get: (key: string) => unknown, traceId: string, lastSeenMs: number): RunFacts {
  const base = common(() => undefined, stage.runId, stage.pipeline, 'running', null, {});
  // Its resource describes the run's process too; its attributes are the stage's own.
  const RESOURCE_KEYS: ReadonlySet<string> = new Set([ATTR.serviceName, ATTR.environment, LEGACY_ENVIRONMENT]);
  return runFacts(base, (key) => (RESOURCE_KEYS.has(key) ? get(key) : undefined), traceId, lastSeenMs);
}

const PASSED: Record<string, boolean> = { true: true, false: false };

/** The check a `pipeline.check` record reports, or null for any other record. */
export function deriveCheck(row: LogRow): CheckFacts | null {
  if (row.eventName !== EVENT.check) return null;
  const get = (key: string) => lookup(row.attributes, row.resource.attributes, key);
  const passed = row.attributes[ATTR.checkPassed];
  return {
    atMs: nanosToMs(logTimeNanos(row)),
    pipeline: text(get(ATTR.pipelineName)),
    runId: text(get(ATTR.runId)),
    stage: text(get(ATTR.stageName)),
    name: text(row.attributes[ATTR.checkName]),
    passed: typeof passed === 'boolean' ? passed : typeof passed === 'string' ? (PASSED[passed.toLowerCase()] ?? null) : null,
    details: row.attributes[ATTR.checkDetails] ?? null,
    body: row.body,
  };
}

export function deriveFromLog(row: LogRow): Derived {
  if (!RUN_EVENTS.has(row.eventName) && !STAGE_EVENTS.has(row.eventName)) return { run: null, stage: null };
  const get = (key: string) => lookup(row.attributes, row.resource.attributes, key);
  const pipeline = text(get(ATTR.pipelineName));
  const runId = text(get(ATTR.runId));
  if (pipeline === null || runId === null) return { run: null, stage: null };
  const atMs = nanosToMs(logTimeNanos(row));
  const ended = row.eventName === EVENT.runEnd || row.eventName === EVENT.stageEnd;
  const started = row.eventName === EVENT.runStart || row.eventName === EVENT.stageStart;

  if (RUN_EVENTS.has(row.eventName)) {
    const result = ended ? endResult(get(ATTR.runResult), row.severityNumber >= SEVERITY_ERROR) : null;
    const base = common(get, runId, pipeline, ended ? 'ended' : 'running', result, row.attributes);
    const run = runFacts(base, get, row.traceId, atMs);
    if (started) run.startedAtMs = atMs;
    if (ended) run.endedAtMs = atMs;
    return { run, stage: null };
  }
  const stageName = text(get(ATTR.stageName));
  if (stageName === null) return { run: null, stage: null };
  const result = ended ? endResult(get(ATTR.stageResult) ?? get(ATTR.runResult), row.severityNumber >= SEVERITY_ERROR) : null;
  const stage: StageFacts = {
    ...common(get, runId, pipeline, ended ? 'ended' : 'running', result, row.attributes),
    stageRunId: text(get(ATTR.stageRunId)) ?? (row.spanId || stageName),
    stage: stageName,
    spanId: row.spanId || null,
  };
  if (started) stage.startedAtMs = atMs;
  if (ended) stage.endedAtMs = atMs;
  return { run: runOfStage(stage, get, row.traceId, atMs), stage };
}

export function deriveFromSpan(row: SpanRow): Derived {
  const get = (key: string) => lookup(row.attributes, row.resource.attributes, key);
  const pipeline = text(get(ATTR.pipelineName));
  if (pipeline === null) return { run: null, stage: null };
  const stageName = text(get(ATTR.stageName));
  const runId = text(get(ATTR.runId)) ?? row.traceId;
  const failed = row.statusCode === STATUS_ERROR;
  const exception = row.events.find((event) => event.name === 'exception')?.attributes ?? {};
  const startedAtMs = nanosToMs(row.startTimeUnixNano);
  const endedAtMs = row.endTimeUnixNano === '0' ? null : nanosToMs(row.endTimeUnixNano);
  const durationSeconds =
    endedAtMs === null ? null : Number(BigInt(row.endTimeUnixNano) - BigInt(row.startTimeUnixNano)) / 1e9;
  const state: RunState = endedAtMs === null ? 'running' : 'ended';

  const fill = (facts: CommonFacts, resultKey: string) => {
    facts.result = state === 'ended' ? endResult(get(resultKey), failed) : null;
    facts.startedAtMs = startedAtMs;
    facts.endedAtMs = endedAtMs;
    facts.durationSeconds = durationSeconds;
    if (failed || facts.result !== 'success') {
      facts.errorType ??= text(exception[ATTR.exceptionType]);
      facts.errorMessage ??= text(exception[ATTR.exceptionMessage]) ?? text(row.statusMessage);
    }
  };

  if (stageName === null) {
    // Only the run's root (a SERVER span, or one without a parent) is the run itself.
    if (row.kind !== SPAN_KIND_SERVER && row.parentSpanId !== '') return { run: null, stage: null };
    const run = runFacts(common(get, runId, pipeline, state, null, row.attributes), get, row.traceId, endedAtMs ?? startedAtMs);
    fill(run, ATTR.runResult);
    return { run, stage: null };
  }
  const stage: StageFacts = {
    ...common(get, runId, pipeline, state, null, row.attributes),
    stageRunId: text(get(ATTR.stageRunId)) ?? row.spanId,
    stage: stageName,
    spanId: row.spanId,
  };
  fill(stage, ATTR.stageResult);
  return { run: runOfStage(stage, get, row.traceId, endedAtMs ?? startedAtMs), stage };
}

/** An explicit result wins; otherwise an error status or severity means failure. */
function endResult(explicit: unknown, failed: boolean): Result {
  if (isResult(explicit)) return explicit;
  return failed ? 'failure' : 'success';
}
