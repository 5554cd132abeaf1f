/**
 * Runs and stages. A run is a SERVER span (the root of the pipeline's trace, or a child of the caller's
 * request), a stage an INTERNAL child; each emits a start record at once and ends with a record that
 * carries the same attributes as the span (result, duration, rows, target, error), which is what the
 * receiver derives `pipeline_runs` / `pipeline_stages` from (receiver/model/derive.ts).
 *
 * The callback's value or error passes through unchanged; nothing the SDK does can throw into it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import {
  context as otelContext,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Meter,
  type Span,
  type TimeInput,
} from '@opentelemetry/api';
import { SeverityNumber, type AnyValueMap } from '@opentelemetry/api-logs';
import { MASK, SEVERITY, type LogLevel } from '../../contract/record-rules.js';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { isSensitiveKey, toAttributeValue, toLogValue } from './serialize.js';
import { runTime, type Clock, type RunTime } from './clock.js';
import type { RunMarker } from '../spool/open-runs.js';
import type { RunMeter } from './run-meters.js';
import { pipemon } from './telemetry.js';
import { datasetName } from '../../contract/dataset-name.js';
import { ATTR, CHECK, EVENT, FAILED_RESULTS, type Result } from '../../contract/vocabulary.js';

export interface Rows {
  read?: number;
  written?: number;
  rejected?: number;
}

export interface Target {
  /** `db.namespace`: the database or schema. */
  namespace?: string;
  /** `db.collection.name`: the table. */
  collection?: string;
}

/**
 * A dataset a run or stage reads or writes, for the lineage graph: its one name as OpenLineage writes it
 * (`postgres://db:5432/shop.public.orders`, `s3://lake/orders`), or a namespace and collection as a target
 * names one (`{ namespace: 'dw', collection: 'orders' }` is `dw://orders`).
 */
export type Dataset = string | Target;

export interface ActivityOptions {
  /** Ends the run or stage as `timeout` after this many milliseconds; its promise then rejects with TimeoutError. */
  timeoutMs?: number;
  /** `pipemon.source.system`: where the data comes from (jira, s3, postgres...). */
  sourceSystem?: string;
  /** What this run or stage has established, e.g. ["authVerified", "bootstrapped"]. */
  capabilities?: string[];
  /** `db.namespace` and `db.collection.name`: where it writes; one of its outputs in the lineage graph. */
  target?: Target;
  /** `pipemon.lineage.inputs`: the datasets it reads. */
  inputs?: Dataset[];
  /** `pipemon.lineage.outputs`: datasets it writes besides its target. */
  outputs?: Dataset[];
  attributes?: Record<string, unknown>;
}

export interface RunOptions extends ActivityOptions {
  /** Defaults to a random UUID; pass the scheduler's run id (Airflow, cron) to line them up. */
  runId?: string;
  /** `pipemon.pipeline.owner`: the team that owns the pipeline; alerts are routed by it. */
  owner?: string;
  /**
   * `pipemon.pipeline.expected_interval_seconds`: how often the pipeline is meant to run (3600 for
   * hourly). Freshness alerts compare against it; without it, the receiver infers it from history.
   */
  expectedIntervalSeconds?: number;
  /** Overrides the start option for this run (0 disables). */
  heartbeatSeconds?: number;
  /**
   * The time the run and its stages read: their records' and spans' times, durations, heartbeats and
   * timeouts (default: the system's). A ManualClock records a run that happened at another time.
   */
  clock?: Clock;
}

export interface StageOptions extends ActivityOptions {
  /**
   * A circuit breaker, as Databricks notebooks skip a job when no input data came: when this input
   * is empty (null, undefined, 0, '', an empty array, Map, Set or object with length/size 0), the
   * stage does not run its callback; it ends as `skip`, with the reason and a failed `empty_dataset`
   * check recorded.
   */
  skipWhenEmpty?: unknown;
  /**
   * The stage may fail without failing its run (an optional enrichment, a best-effort notification):
   * a failed stage still ends with its result and error, marked `pipemon.stage.failure_allowed`, and
   * `stage()` returns undefined instead of rethrowing, so the run goes on.
   */
  allowFailure?: boolean;
}

export interface ActivityLog {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string | Error, attributes?: Record<string, unknown>): void;
  /** Worse than an error: the pipeline cannot go on (OpenTelemetry's FATAL severity). */
  fatal(message: string | Error, attributes?: Record<string, unknown>): void;
}

/** What a run and a stage have in common. Every method is safe after the end (a no-op). */
export interface Activity {
  readonly pipeline: string;
  readonly runId: string;
  readonly traceId: string;
  readonly spanId: string;
  /** Aborted on timeout or cancel(): pass it to fetch, streams, queries to stop work early. */
  readonly signal: AbortSignal;
  readonly log: ActivityLog;
  /**
   * An OpenTelemetry Meter whose measurements carry the run's id and pipeline (and, on a stage's, the
   * stage's name) as data point attributes. Collected every OTEL_METRIC_EXPORT_INTERVAL and at the
   * run's end; measurements after the end are dropped and counted in `stats().dropped`.
   */
  readonly meter: Meter;
  /** Adds to the row counts (call it once per batch). */
  rows(counts: Rows): void;
  target(target: Target): void;
  /** Adds datasets it reads (`pipemon.lineage.inputs`). */
  input(...datasets: Dataset[]): void;
  /** Adds datasets it writes (`pipemon.lineage.outputs`). */
  output(...datasets: Dataset[]): void;
  source(system: string): void;
  capability(...names: string[]): void;
  set(attributes: Record<string, unknown>): void;
  /** Records a data-quality check (`pipeline.check` record, WARN when it fails); returns `passed`. */
  check(name: string, passed: boolean, details?: Record<string, unknown>): boolean;
  /**
   * Records an error without throwing it: `failure` (the work failed, the default) or `error` (the
   * system failed: a worker killed, a command not found). Return from the callback afterwards.
   */
  fail(error: unknown, result?: 'failure' | 'error'): void;
  /** Marks the result as `skip` with a reason; return from the callback afterwards. */
  skip(reason: string): void;
  /** Marks the result as `cancellation` and aborts `signal`. */
  cancel(reason?: string): void;
  /** The circuit breaker: when `input` is empty, records why and marks skip; returns true if it did. */
  skipIfEmpty(input: unknown, reason?: string): boolean;
  stage<R>(name: string, fn: (stage: Stage) => R): R;
  stage<R>(name: string, options: StageOptions, fn: (stage: Stage) => R): R | undefined;
}

export interface Run extends Activity {
  readonly kind: 'run';
}

export interface Stage extends Activity {
  readonly kind: 'stage';
  readonly name: string;
  readonly stageRunId: string;
}

/** Thrown (as the run's or stage's rejection) when `timeoutMs` passes. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

interface Scope {
  span: Span;
  activity: ActivityImpl | null;
  /** The context with `span` active, made when a child first asks for it: most monitored calls have none. */
  context: Context | null;
}

const scopes = new AsyncLocalStorage<Scope>();

/** The innermost run or stage around the caller, if any. */
export function currentActivity(): Run | Stage | undefined {
  return (scopes.getStore()?.activity as Run | Stage | null) ?? undefined;
}

/** The context a new span should join: ours first, then the application's active context. */
export function parentContext(): Context {
  const scope = scopes.getStore();
  if (scope === undefined) return otelContext.active();
  return (scope.context ??= trace.setSpan(ROOT_CONTEXT, scope.span));
}

/** Runs `fn(...args)` with `span` as the parent of spans and records made inside it (used by monitored() and the middleware). */
export function withSpan<A extends unknown[], R>(span: Span, fn: (...args: A) => R, ...args: A): R {
  return scopes.run({ span, activity: scopes.getStore()?.activity ?? null, context: null }, fn, ...args);
}


export function isEmpty(input: unknown): boolean {
  if (input === null || input === undefined || input === 0 || input === '') return true;
  if (typeof input !== 'object') return false;
  const sized = input as { length?: unknown; size?: unknown };
  if (typeof sized.length === 'number') return sized.length === 0;
  if (typeof sized.size === 'number') return sized.size === 0;
  return Object.getPrototypeOf(input) === Object.prototype && Object.keys(input).length === 0;
}

/**
 * Low-cardinality `error.type`: the class name (TypeError, ValidationError); for a plain Error with a
 * Node system code (ENOENT, ECONNREFUSED), the code; else the kind of value thrown.
 */
export function errorType(error: unknown): string {
  if (!(error instanceof Error)) return error === null ? 'null' : typeof error;
  const className = error.constructor?.name;
  if (className && className !== 'Error') return className;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : error.name || 'Error';
}

export function exceptionAttributes(error: unknown): Attributes {
  const attributes: Attributes = { [ATTR.errorType]: errorType(error), [ATTR.exceptionType]: errorType(error) };
  if (error instanceof Error) {
    attributes[ATTR.exceptionMessage] = error.message;
    if (error.stack) attributes[ATTR.exceptionStacktrace] = error.stack;
  } else {
    attributes[ATTR.exceptionMessage] = String(toAttributeValue(error));
  }
  return attributes;
}

/** A dataset's one name; none for an empty name, a target without both parts, or anything else (from untyped callers). */
function nameOf(dataset: Dataset): string[] {
  if (typeof dataset === 'string') return dataset === '' ? [] : [dataset];
  if (typeof dataset !== 'object' || dataset === null) return [];
  const { namespace, collection } = dataset;
  return typeof namespace === 'string' && namespace && typeof collection === 'string' && collection ? [datasetName({ namespace, name: collection })] : [];
}

/** Copies attributes into a new object; spreading `{ ...attrs, key: v }` took V8's slow path (~0.8 µs). */

function copyInto<T extends Record<string, unknown>>(target: T, source: Record<string, unknown>): T {
  for (const key in source) (target as Record<string, unknown>)[key] = source[key];
  return target;
}

/** One object per activity instead of four closures: a stage is created per batch in a tight loop. */
class ActivityLogImpl implements ActivityLog {
  constructor(private readonly activity: ActivityImpl) {}
  debug(message: string, attributes?: Record<string, unknown>): void {
    this.activity.emitLog(...SEVERITY.debug, message, attributes);
  }
  info(message: string, attributes?: Record<string, unknown>): void {
    this.activity.emitLog(...SEVERITY.info, message, attributes);
  }
  warn(message: string, attributes?: Record<string, unknown>): void {
    this.activity.emitLog(...SEVERITY.warn, message, attributes);
  }
  error(message: string | Error, attributes?: Record<string, unknown>): void {
    this.activity.emitLog(...SEVERITY.error, message, attributes);
  }
  fatal(message: string | Error, attributes?: Record<string, unknown>): void {
    this.activity.emitLog(...SEVERITY.fatal, message, attributes);
  }
}

class ActivityImpl implements Activity {
  readonly span: Span;
  readonly traceId: string;
  readonly spanId: string;
  readonly log: ActivityLog = new ActivityLogImpl(this);
  readonly scope: Scope;
  // Made on first use of `signal`: an AbortController was 13% of a stage's cost, and most never abort.
  private controller: AbortController | null = null;
  private aborted = false;
  private abortReason: unknown = undefined;
  private readonly started: number;
  private children: Set<ActivityImpl> | null = null;
  private readonly counts: Required<Rows> = { read: 0, written: 0, rejected: 0 };
  private readonly childCounts: Required<Rows> = { read: 0, written: 0, rejected: 0 };
  private ownRows = false;
  /** Shared by every record of this activity; the loggers copy attributes at emit. */
  private readonly attrs: Attributes;
  /** Attributes changed since the span got them, so the end sets them all again rather than only the outcome. */
  private attrsChanged = false;
  private explicit: Result | null = null;
  private failure: Attributes | null = null;
  private ended = false;
  private stopHeartbeat: (() => void) | null = null;
  /** A run's marker in the spool (open-runs.ts): if this process dies, the next start ends the run. */
  private marker: RunMarker | null = null;
  /** A run's meters, opened on first use: a run that records no metric has none. Its stages use them. */
  private runMeter: RunMeter | null = null;
  private activityMeter: Meter | null = null;
  /** A run's last metric collection, from its end on; null without metrics. */
  private lastCollection: Promise<void> | null = null;
  private readonly failureAllowed: boolean;

  constructor(
    readonly kind: 'run' | 'stage',
    readonly pipeline: string,
    readonly runId: string,
    readonly name: string,
    private readonly parent: ActivityImpl | null,
    parentCtx: Context,
    options: ActivityOptions & Pick<StageOptions, 'allowFailure'>,
    /** The run's time, which its stages share. */
    readonly time: RunTime,
  ) {
    this.started = time.clock.now();
    this.failureAllowed = options.allowFailure === true;
    this.attrs = { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId };
    if (kind === 'stage') this.attrs[ATTR.stageName] = name;
    if (options.sourceSystem) this.source(options.sourceSystem);
    if (options.capabilities) this.capability(...options.capabilities);
    if (options.target) this.target(options.target);
    if (options.inputs) this.input(...options.inputs);
    if (options.outputs) this.output(...options.outputs);
    if (options.attributes) this.set(options.attributes);
    this.span = pipemon().tracer.startSpan(
      name,
      { kind: kind === 'run' ? SpanKind.SERVER : SpanKind.INTERNAL, attributes: this.attrs, startTime: time.stamp() },
      parentCtx,
    );
    const spanContext = this.span.spanContext();
    this.traceId = spanContext.traceId;
    this.spanId = spanContext.spanId;
    if (kind === 'stage') {
      this.attrs[ATTR.stageRunId] = this.spanId;
      this.span.setAttribute(ATTR.stageRunId, this.spanId);
    }
    this.attrsChanged = false;
    this.scope = { span: this.span, activity: this, context: trace.setSpan(ROOT_CONTEXT, this.span) };
    if (parent) (parent.children ??= new Set()).add(this);
    this.record(kind === 'run' ? EVENT.runStart : EVENT.stageStart, SeverityNumber.INFO, 'INFO', `${kind} started: ${name}`, this.attrs);
  }

  get stageRunId(): string {
    return this.spanId;
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get meter(): Meter {
    if (this.activityMeter === null) {
      const identity: Attributes = { [ATTR.pipelineName]: this.pipeline, [ATTR.runId]: this.runId };
      if (this.kind === 'stage') identity[ATTR.stageName] = this.name;
      this.activityMeter = this.metersOfRun().meter(identity, () => !this.ended);
    }
    return this.activityMeter;
  }

  private metersOfRun(): RunMeter {
    if (this.parent) return this.parent.metersOfRun();
    if (this.runMeter === null) {
      this.runMeter = pipemon().meters.open();
      // Opened after the end, which already collected: it must take no measurement.
      if (this.ended) this.runMeter.close();
    }
    return this.runMeter;
  }

  /**
   * `then()` once the run's last metric collection is on the spool (a turn of the event loop at most),
   * at once without one: a process that exits or is killed as its run's promise settles keeps them.
   */
  collected<T>(then: () => T): T | Promise<T> {
    return this.lastCollection === null ? then() : this.lastCollection.then(then);
  }

  /** The first reason wins, as with AbortController itself. */
  private abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  /** Marks the run open in the spool and starts its heartbeat, which also refreshes the marker. */
  startRun(heartbeatSeconds: number): void {
    try {
      this.marker = pipemon().runs.opened({
        pipeline: this.pipeline,
        runId: this.runId,
        traceId: this.traceId,
        spanId: this.spanId,
        startedAtMs: this.time.clock.now(),
        resource: pipemon().config.resource,
        attributes: this.attrs,
      });
    } catch {
      // Without a marker a crash leaves the run running; the run itself goes on.
    }
    if (heartbeatSeconds <= 0) return;
    this.stopHeartbeat = this.time.clock.every(heartbeatSeconds * 1000, () => {
      const elapsed = this.elapsedSeconds();
      const attributes = copyInto<AnyValueMap>({}, this.attrs);
      attributes[ATTR.durationSeconds] = elapsed;
      this.record(EVENT.runHeartbeat, SeverityNumber.INFO, 'INFO', `run running for ${Math.round(elapsed)}s: ${this.name}`, attributes);
      this.marker?.beat(this.time.clock.now());
    });
  }

  private elapsedSeconds(): number {
    return (this.time.clock.now() - this.started) / 1000;
  }

  rows(counts: Rows): void {
    if (this.ended) return;
    this.addRows('read', counts.read);
    this.addRows('written', counts.written);
    this.addRows('rejected', counts.rejected);
  }

  private addRows(key: keyof Rows, n: number | undefined): void {
    if (typeof n === 'number' && Number.isFinite(n) && n >= 0) {
      this.counts[key] += n;
      this.ownRows = true;
    }
  }

  target(target: Target): void {
    if (target.namespace) this.attrs[ATTR.dbNamespace] = target.namespace;
    if (target.collection) this.attrs[ATTR.dbCollection] = target.collection;
    this.attrsChanged = true;
  }

  input(...datasets: Dataset[]): void {
    this.addDatasets(ATTR.lineageInputs, datasets);
  }

  output(...datasets: Dataset[]): void {
    this.addDatasets(ATTR.lineageOutputs, datasets);
  }

  private addDatasets(key: string, datasets: Dataset[]): void {
    if (this.ended) return;
    const named = datasets.flatMap(nameOf);
    if (named.length === 0) return;
    const known = (this.attrs[key] as string[] | undefined) ?? [];
    this.attrs[key] = [...new Set([...known, ...named])];
    this.attrsChanged = true;
  }

  source(system: string): void {
    this.attrs[ATTR.sourceSystem] = system;
    this.attrsChanged = true;
  }

  capability(...names: string[]): void {
    const have = (this.attrs[ATTR.capabilities] as string[] | undefined) ?? [];
    this.attrs[ATTR.capabilities] = [...new Set([...have, ...names.map(String)])];
    this.attrsChanged = true;
  }

  set(attributes: Record<string, unknown>): void {
    for (const key in attributes) {
      if (!Object.hasOwn(attributes, key)) continue;
      const converted = isSensitiveKey(key) ? MASK : toAttributeValue(attributes[key]);
      if (converted !== undefined) this.attrs[key] = converted;
    }
    this.attrsChanged = true;
  }

  check(name: string, passed: boolean, details?: Record<string, unknown>): boolean {
    const attributes = copyInto<AnyValueMap>({}, this.attrs);
    attributes[ATTR.checkName] = name;
    attributes[ATTR.checkPassed] = passed;
    if (details) attributes[ATTR.checkDetails] = toLogValue(details);
    this.record(
      EVENT.check,
      passed ? SeverityNumber.INFO : SeverityNumber.WARN,
      passed ? 'INFO' : 'WARN',
      `check ${name} ${passed ? 'passed' : 'failed'}`,
      attributes,
    );
    this.span.addEvent(EVENT.check, { [ATTR.checkName]: name, [ATTR.checkPassed]: passed }, this.time.stamp());
    return passed;
  }

  skip(reason: string): void {
    if (this.ended) return;
    this.explicit = 'skip';
    this.attrs[ATTR.skipReason] = reason;
    this.attrsChanged = true;
  }

  cancel(reason = 'cancelled'): void {
    if (this.ended) return;
    this.explicit = 'cancellation';
    this.abort(new Error(reason));
  }

  skipIfEmpty(input: unknown, reason = 'input is empty'): boolean {
    const empty = isEmpty(input);
    this.check(CHECK.emptyDataset, !empty, empty ? { reason } : undefined);
    if (empty) this.skip(reason);
    return empty;
  }

  stage<R>(name: string, optionsOrFn: StageOptions | ((stage: Stage) => R), maybeFn?: (stage: Stage) => R): R {
    const options = typeof optionsOrFn === 'function' ? NO_OPTIONS : optionsOrFn;
    const fn = (typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn!) as unknown as (activity: ActivityImpl) => R;
    const stage = new ActivityImpl('stage', this.pipeline, this.runId, String(name), this, this.scope.context!, options, this.time);
    if ('skipWhenEmpty' in options && stage.skipIfEmpty(options.skipWhenEmpty)) {
      stage.end();
      return undefined as R;
    }
    return options.allowFailure ? (tolerate(() => execute(stage, fn, options.timeoutMs)) as R) : execute(stage, fn, options.timeoutMs);
  }

  fail(error: unknown, result: 'failure' | 'error' = 'failure'): void {
    this.recordFailure(error, result);
  }

  /**
   * What execute() records for a thrown error: a failure, or a timeout when it is a TimeoutError (a
   * stage's, passing through its run unchanged). A result already decided (the timeout or cancel that
   * caused the error) stays.
   */
  thrown(error: unknown): void {
    this.recordFailure(error, error instanceof TimeoutError ? 'timeout' : 'failure');
  }

  private recordFailure(error: unknown, result: Result): void {
    if (this.ended) return;
    this.failure = exceptionAttributes(error);
    if (this.explicit === null || this.explicit === 'skip') this.explicit = result;
    try {
      this.span.recordException(error instanceof Error ? error : String(toAttributeValue(error)), this.time.stamp());
    } catch {
      // Recording is best effort; the error itself is rethrown by execute().
    }
  }

  /** Ends as `timeout` and aborts `signal`; returns the reason to reject with. */
  timeout(ms: number): unknown {
    if (!this.ended) {
      this.explicit = 'timeout';
      this.failure = { [ATTR.errorType]: 'TimeoutError', [ATTR.exceptionType]: 'TimeoutError', [ATTR.exceptionMessage]: `timed out after ${ms} ms` };
      this.abort(new TimeoutError(`${this.kind} ${this.name} timed out after ${ms} ms`));
      this.end();
    }
    return this.abortReason;
  }

  end(): void {
    if (this.ended) return;
    const result: Result = this.explicit ?? 'success';
    // Children still open when their parent ends share its fate if it was stopped, else were abandoned.
    if (this.children) {
      for (const child of this.children) {
        if (!child.ended) {
          child.explicit ??= result === 'timeout' || result === 'cancellation' ? result : 'cancellation';
          child.end();
        }
      }
    }
    this.ended = true;
    this.stopHeartbeat?.();
    this.lastCollection = this.runMeter?.close() ?? null;
    if (this.parent) {
      this.parent.children?.delete(this);
      this.parent.childCounts.read += this.counts.read;
      this.parent.childCounts.written += this.counts.written;
      this.parent.childCounts.rejected += this.counts.rejected;
    }
    const counts = this.ownRows ? this.counts : this.childCounts;
    const failed = (FAILED_RESULTS as readonly string[]).includes(result);
    const outcome: Attributes = this.failure ? copyInto({}, this.failure) : {};
    outcome[this.kind === 'run' ? ATTR.runResult : ATTR.stageResult] = result;
    outcome[ATTR.durationSeconds] = this.elapsedSeconds();
    outcome[ATTR.rowsRead] = counts.read;
    outcome[ATTR.rowsWritten] = counts.written;
    outcome[ATTR.rowsRejected] = counts.rejected;
    if (failed && this.failureAllowed) outcome[ATTR.failureAllowed] = true;
    try {
      // The span has had the attributes since its start; each one set again is validated again.
      if (this.attrsChanged) this.span.setAttributes(this.attrs);
      this.span.setAttributes(outcome);
      if (failed) this.span.setStatus({ code: SpanStatusCode.ERROR, message: String(outcome[ATTR.exceptionMessage] ?? result) });
      this.span.end(this.time.stamp());
    } catch {
      // A span that cannot end must not stop the end record below.
    }
    const severity = failed ? SeverityNumber.ERROR : SeverityNumber.INFO;
    this.record(
      this.kind === 'run' ? EVENT.runEnd : EVENT.stageEnd,
      severity,
      failed ? 'ERROR' : 'INFO',
      `${this.kind} ${result}: ${this.name}`,
      copyInto(copyInto<AnyValueMap>({}, this.attrs), outcome),
    );
    // Only now: the end record is in the spool, so nothing is left for a next start to close.
    this.marker?.closed();
  }

  emitLog(severity: SeverityNumber, text: string, message: string | Error, attributes?: Record<string, unknown>, time?: TimeInput): void {
    let all: AnyValueMap = this.attrs;
    if (attributes !== undefined || message instanceof Error) {
      all = copyInto<AnyValueMap>({}, this.attrs);
      if (attributes !== undefined) {
        for (const key in attributes) {
          if (Object.hasOwn(attributes, key)) all[key] = isSensitiveKey(key) ? MASK : toLogValue(attributes[key]);
        }
      }
      if (message instanceof Error) copyInto(all, exceptionAttributes(message));
    }
    this.record(undefined, severity, text, message instanceof Error ? message.message : String(message), all, time);
  }

  private record(
    eventName: string | undefined,
    severityNumber: SeverityNumber,
    severityText: string,
    body: string,
    attributes: AnyValueMap,
    timestamp?: TimeInput,
  ): void {
    try {
      pipemon().logger.emit({
        eventName,
        severityNumber,
        severityText,
        body,
        attributes,
        timestamp: timestamp ?? this.time.stamp(),
        observedTimestamp: this.time.observed(),
        context: this.scope.context!,
      });
    } catch {
      // Telemetry never throws into the pipeline.
    }
  }
}

const NO_OPTIONS: StageOptions = Object.freeze({});

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function execute<R>(activity: ActivityImpl, fn: (activity: ActivityImpl) => R, timeoutMs: number | undefined): R {
  let value: R;
  try {
    value = scopes.run(activity.scope, fn, activity);
  } catch (error) {
    activity.thrown(error);
    activity.end();
    throw error;
  }
  if (!isPromiseLike(value)) {
    activity.end();
    return value;
  }
  const settled = Promise.resolve(value).then(
    (resolved) => {
      activity.end();
      return activity.collected(() => resolved);
    },
    (error: unknown) => {
      activity.thrown(error);
      activity.end();
      return activity.collected(() => {
        throw error;
      });
    },
  );
  if (timeoutMs === undefined || !(timeoutMs > 0)) return settled as R;
  let cancel: () => void = () => undefined;
  const expired = new Promise<never>((_, reject) => {
    cancel = activity.time.clock.after(timeoutMs, () => reject(activity.timeout(timeoutMs)));
  });
  return Promise.race([settled, expired]).finally(() => cancel()) as R;
}

/** A tolerated stage's value, or undefined where it threw or rejected: its records keep the failure. */
function tolerate<R>(execution: () => R): R | undefined {
  let value: R;
  try {
    value = execution();
  } catch {
    return undefined;
  }
  return isPromiseLike(value) ? (Promise.resolve(value).catch(() => undefined) as R) : value;
}

/**
 * A record at any level and at the time the caller says, for output that carries its own (the lines of
 * a command `pipemon exec` runs); code that logs as it goes uses `activity.log`. `activity` is a run or
 * stage that run() made. Not exported by index.ts.
 */
export function logAt(activity: Activity, level: LogLevel, message: string, attributes: Record<string, unknown>, time: TimeInput): void {
  const [severity, text] = SEVERITY[level];
  (activity as ActivityImpl).emitLog(severity, text, message, attributes, time);
}

/** The owner and expected interval as attributes, so that the run's start record carries them too. */
function withSchedule(options: RunOptions): RunOptions {
  const schedule: Record<string, unknown> = {};
  if (options.owner) schedule[ATTR.pipelineOwner] = options.owner;
  if (options.expectedIntervalSeconds !== undefined && options.expectedIntervalSeconds > 0) {
    schedule[ATTR.expectedIntervalSeconds] = options.expectedIntervalSeconds;
  }
  return Object.keys(schedule).length === 0 ? options : { ...options, attributes: { ...schedule, ...options.attributes } };
}

/**
 * Runs `fn` as one pipeline run and returns its value (a promise if `fn` is async). A thrown error or
 * rejection ends the run as `failure` (`timeout` for a stage's TimeoutError) and is rethrown unchanged.
 * In a command that `pipemon exec` runs (and outside any span of this process, without its own runId),
 * it is a stage of the exec's run instead: one run across both processes.
 */
export function run<R>(pipeline: string, fn: (run: Run) => R): R;
export function run<R>(pipeline: string, options: RunOptions, fn: (run: Run) => R): R;
export function run<R>(pipeline: string, optionsOrFn: RunOptions | ((run: Run) => R), maybeFn?: (run: Run) => R): R {
  const options: RunOptions = typeof optionsOrFn === 'function' ? NO_OPTIONS : optionsOrFn;
  const fn = (typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn!) as unknown as (activity: ActivityImpl) => R;
  const parent = parentContext();
  const outer = trace.getSpan(parent) === undefined && options.runId === undefined ? runOfParentProcess() : null;
  if (outer) {
    // Inside `pipemon exec` (or a scheduler that sets the same variables): this run is a stage of that one.
    const stage = new ActivityImpl('stage', outer.pipeline, outer.runId, String(pipeline), null, outer.context, withSchedule(options), runTime(options.clock));
    return execute(stage, fn, options.timeoutMs);
  }
  const runId = options.runId ?? randomUUID();
  const activity = new ActivityImpl('run', String(pipeline), runId, String(pipeline), null, parent, withSchedule(options), runTime(options.clock));
  activity.startRun(options.heartbeatSeconds ?? pipemon().config.heartbeatSeconds);
  return execute(activity, fn, options.timeoutMs);
}

/**
 * The run of the process that started this one, as `pipemon exec` hands it to its command: the run in
 * PIPEMON_RUN_ID and PIPEMON_PIPELINE, its span in TRACEPARENT (W3C trace context, as the OpenTelemetry
 * specification for context in environment variables names it). Null when any is missing or malformed.
 */
function runOfParentProcess(): { pipeline: string; runId: string; context: Context } | null {
  const { PIPEMON_RUN_ID: runId, PIPEMON_PIPELINE: pipeline, TRACEPARENT: traceparent, TRACESTATE: tracestate } = process.env;
  if (!runId || !pipeline || !traceparent) return null;
  const context = new W3CTraceContextPropagator().extract(ROOT_CONTEXT, { traceparent, tracestate }, defaultTextMapGetter);
  return trace.getSpanContext(context) ? { pipeline, runId, context } : null;
}
