/**
 * Runs in the past. The SDK stamps every record with the current time, so the backfill makes the same
 * records as sdk/run.ts (a SERVER span per run, INTERNAL spans per stage, `pipeline.run.*`,
 * `pipeline.stage.*` and `pipeline.check` log records with the same attributes, severities and bodies)
 * through the official OpenTelemetry SDK with explicit timestamps from a virtual clock that the
 * pipeline's work advances. The receiver derives runs from them exactly as from the SDK's.
 *
 * Mirrors ActivityImpl in sdk/run.ts: a change to what the SDK emits belongs here too.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type HrTime, type Span, type Tracer } from '@opentelemetry/api';
import { SeverityNumber, type AnyValueMap, type Logger } from '@opentelemetry/api-logs';
import { millisToHrTime } from '@opentelemetry/core';
import {
  exceptionAttributes,
  isEmpty,
  SEVERITY,
  TimeoutError,
  type Activity,
  type ActivityLog,
  type ActivityOptions,
  type Rows,
  type Run,
  type RunOptions,
  type Stage,
  type StageOptions,
  type Target,
} from '../sdk/run.js';
import { isSensitiveKey, MASK, toAttributeValue, toLogValue } from '../sdk/serialize.js';
import { ATTR, CHECK, EVENT, FAILED_RESULTS, type Result } from '../sdk/vocabulary.js';

/** Where past records go: an OpenTelemetry tracer and logger (export.ts). */
export interface PastOutput {
  tracer: Tracer;
  logger: Logger;
}

/** Thrown by a run that hangs: the process froze, so nothing after this point is ever recorded. */
export class Frozen extends Error {
  override name = 'Frozen';
}

/** The virtual time of one run, shared by its stages; the run's heartbeats fire as it passes. */
export class PastClock {
  private heartbeat: { everyMs: number; nextMs: number; beat: () => void } | null = null;
  private observed: HrTime = [0, 0];

  constructor(private nowMs: number) {}

  get ms(): number {
    return this.nowMs;
  }

  advance(ms: number): void {
    const target = this.nowMs + Math.max(0, Math.round(ms));
    while (this.heartbeat && this.heartbeat.nextMs <= target) {
      this.nowMs = this.heartbeat.nextMs;
      this.heartbeat.nextMs += this.heartbeat.everyMs;
      this.heartbeat.beat();
    }
    this.nowMs = target;
  }

  startHeartbeat(everyMs: number, beat: () => void): void {
    this.heartbeat = { everyMs, nextMs: this.nowMs + everyMs, beat };
  }

  stopHeartbeat(): void {
    this.heartbeat = null;
  }

  time(): HrTime {
    return millisToHrTime(this.nowMs);
  }

  /**
   * The record's time, or 1 ns after the previous record of this run: the receiver's fingerprint hashes
   * the observed time, and two records of one run in the same millisecond must not become one (the SDK's
   * lean logger does the same for its process).
   */
  observedTime(): HrTime {
    const time = this.time();
    const [seconds, nanos] = this.observed;
    if (time[0] > seconds || (time[0] === seconds && time[1] > nanos)) this.observed = time;
    else this.observed = nanos + 1 < 1e9 ? [seconds, nanos + 1] : [seconds + 1, 0];
    return this.observed;
  }
}

function copyInto<T extends Record<string, unknown>>(target: T, source: Record<string, unknown>): T {
  for (const key in source) (target as Record<string, unknown>)[key] = source[key];
  return target;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

class PastLog implements ActivityLog {
  constructor(private readonly activity: PastActivity) {}
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

const NO_OPTIONS: StageOptions = Object.freeze({});

abstract class PastActivity implements Activity {
  abstract readonly kind: 'run' | 'stage';
  readonly span: Span;
  readonly traceId: string;
  readonly spanId: string;
  readonly log: ActivityLog = new PastLog(this);
  private readonly context: Context;
  protected readonly startedMs: number;
  private controller: AbortController | null = null;
  private readonly children = new Set<PastActivity>();
  private readonly counts: Required<Rows> = { read: 0, written: 0, rejected: 0 };
  private readonly childCounts: Required<Rows> = { read: 0, written: 0, rejected: 0 };
  private ownRows = false;
  protected readonly attrs: Attributes;
  private explicit: Result | null = null;
  private failure: Attributes | null = null;
  private ended = false;
  private frozen = false;

  constructor(
    kind: 'run' | 'stage',
    readonly pipeline: string,
    readonly runId: string,
    readonly name: string,
    private readonly parent: PastActivity | null,
    parentContext: Context,
    protected readonly out: PastOutput,
    protected readonly clock: PastClock,
    options: ActivityOptions,
  ) {
    this.startedMs = clock.ms;
    this.attrs = { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId };
    if (kind === 'stage') this.attrs[ATTR.stageName] = name;
    if (options.sourceSystem) this.source(options.sourceSystem);
    if (options.capabilities) this.capability(...options.capabilities);
    if (options.target) this.target(options.target);
    if (options.attributes) this.set(options.attributes);
    this.span = out.tracer.startSpan(
      name,
      { kind: kind === 'run' ? SpanKind.SERVER : SpanKind.INTERNAL, attributes: this.attrs, startTime: clock.time() },
      parentContext,
    );
    this.traceId = this.span.spanContext().traceId;
    this.spanId = this.span.spanContext().spanId;
    if (kind === 'stage') {
      this.attrs[ATTR.stageRunId] = this.spanId;
      this.span.setAttribute(ATTR.stageRunId, this.spanId);
    }
    this.context = trace.setSpan(ROOT_CONTEXT, this.span);
    parent?.children.add(this);
    this.record(kind === 'run' ? EVENT.runStart : EVENT.stageStart, SeverityNumber.INFO, 'INFO', `${kind} started: ${name}`, this.attrs);
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  /** The result once ended; `running` for a run that froze. */
  get outcome(): { result: Result | 'running'; errorType: string | null } {
    const errorType = this.failure?.[ATTR.errorType];
    return { result: this.frozen ? 'running' : (this.explicit ?? 'success'), errorType: typeof errorType === 'string' ? errorType : null };
  }

  rows(counts: Rows): void {
    if (this.ended) return;
    for (const key of ['read', 'written', 'rejected'] as const) {
      const n = counts[key];
      if (typeof n === 'number' && Number.isFinite(n) && n >= 0) {
        this.counts[key] += n;
        this.ownRows = true;
      }
    }
  }

  target(target: Target): void {
    if (target.namespace) this.attrs[ATTR.dbNamespace] = target.namespace;
    if (target.collection) this.attrs[ATTR.dbCollection] = target.collection;
  }

  source(system: string): void {
    this.attrs[ATTR.sourceSystem] = system;
  }

  capability(...names: string[]): void {
    const have = (this.attrs[ATTR.capabilities] as string[] | undefined) ?? [];
    this.attrs[ATTR.capabilities] = [...new Set([...have, ...names.map(String)])];
  }

  set(attributes: Record<string, unknown>): void {
    for (const key in attributes) {
      if (!Object.hasOwn(attributes, key)) continue;
      const converted = isSensitiveKey(key) ? MASK : toAttributeValue(attributes[key]);
      if (converted !== undefined) this.attrs[key] = converted;
    }
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
    this.span.addEvent(EVENT.check, { [ATTR.checkName]: name, [ATTR.checkPassed]: passed }, this.clock.time());
    return passed;
  }

  fail(error: unknown, result: 'failure' | 'error' = 'failure'): void {
    this.recordFailure(error, result);
  }

  skip(reason: string): void {
    if (this.ended) return;
    this.explicit = 'skip';
    this.attrs[ATTR.skipReason] = reason;
  }

  cancel(reason = 'cancelled'): void {
    if (this.ended) return;
    this.explicit = 'cancellation';
    this.controller ??= new AbortController();
    if (!this.controller.signal.aborted) this.controller.abort(new Error(reason));
  }

  skipIfEmpty(input: unknown, reason = 'input is empty'): boolean {
    const empty = isEmpty(input);
    this.check(CHECK.emptyDataset, !empty, empty ? { reason } : undefined);
    if (empty) this.skip(reason);
    return empty;
  }

  stage<R>(name: string, fn: (stage: Stage) => R): R;
  stage<R>(name: string, options: StageOptions, fn: (stage: Stage) => R): R | undefined;
  stage<R>(name: string, optionsOrFn: StageOptions | ((stage: Stage) => R), maybeFn?: (stage: Stage) => R): R | undefined {
    const options = typeof optionsOrFn === 'function' ? NO_OPTIONS : optionsOrFn;
    const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn!;
    const stage = new PastStage('stage', this.pipeline, this.runId, String(name), this, this.context, this.out, this.clock, options);
    if ('skipWhenEmpty' in options && stage.skipIfEmpty(options.skipWhenEmpty)) {
      stage.end();
      return undefined;
    }
    return execute(stage, fn);
  }

  /** What execute() records for a thrown error, as sdk/run.ts does; a frozen run records nothing more. */
  thrown(error: unknown): void {
    if (error instanceof Frozen) {
      this.freeze();
      return;
    }
    this.recordFailure(error, error instanceof TimeoutError ? 'timeout' : 'failure');
    this.end();
  }

  private freeze(): void {
    this.frozen = true;
    this.clock.stopHeartbeat();
    for (const child of this.children) child.freeze();
  }

  private recordFailure(error: unknown, result: Result): void {
    if (this.ended) return;
    this.failure = exceptionAttributes(error);
    if (this.explicit === null || this.explicit === 'skip') this.explicit = result;
    this.span.recordException(error instanceof Error ? error : String(toAttributeValue(error)), this.clock.time());
  }

  end(): void {
    if (this.ended || this.frozen) return;
    const result: Result = this.explicit ?? 'success';
    for (const child of this.children) {
      if (!child.ended) {
        child.explicit ??= result === 'timeout' || result === 'cancellation' ? result : 'cancellation';
        child.end();
      }
    }
    this.ended = true;
    if (this.kind === 'run') this.clock.stopHeartbeat();
    if (this.parent) {
      this.parent.children.delete(this);
      this.parent.childCounts.read += this.counts.read;
      this.parent.childCounts.written += this.counts.written;
      this.parent.childCounts.rejected += this.counts.rejected;
    }
    const counts = this.ownRows ? this.counts : this.childCounts;
    const failed = (FAILED_RESULTS as readonly string[]).includes(result);
    const outcome: Attributes = this.failure ? copyInto({}, this.failure) : {};
    outcome[this.kind === 'run' ? ATTR.runResult : ATTR.stageResult] = result;
    outcome[ATTR.durationSeconds] = (this.clock.ms - this.startedMs) / 1000;
    outcome[ATTR.rowsRead] = counts.read;
    outcome[ATTR.rowsWritten] = counts.written;
    outcome[ATTR.rowsRejected] = counts.rejected;
    this.span.setAttributes(this.attrs);
    this.span.setAttributes(outcome);
    if (failed) this.span.setStatus({ code: SpanStatusCode.ERROR, message: String(outcome[ATTR.exceptionMessage] ?? result) });
    this.span.end(this.clock.time());
    this.record(
      this.kind === 'run' ? EVENT.runEnd : EVENT.stageEnd,
      failed ? SeverityNumber.ERROR : SeverityNumber.INFO,
      failed ? 'ERROR' : 'INFO',
      `${this.kind} ${result}: ${this.name}`,
      copyInto(copyInto<AnyValueMap>({}, this.attrs), outcome),
    );
  }

  emitLog(severity: SeverityNumber, text: string, message: string | Error, attributes?: Record<string, unknown>): void {
    const all = copyInto<AnyValueMap>({}, this.attrs);
    if (attributes !== undefined) {
      for (const key in attributes) {
        if (Object.hasOwn(attributes, key)) all[key] = isSensitiveKey(key) ? MASK : toLogValue(attributes[key]);
      }
    }
    if (message instanceof Error) copyInto(all, exceptionAttributes(message));
    this.record(undefined, severity, text, message instanceof Error ? message.message : String(message), all);
  }

  protected record(eventName: string | undefined, severityNumber: SeverityNumber, severityText: string, body: string, attributes: AnyValueMap): void {
    if (this.frozen) return;
    this.out.logger.emit({
      eventName,
      severityNumber,
      severityText,
      body,
      attributes,
      context: this.context,
      timestamp: this.clock.time(),
      observedTimestamp: this.clock.observedTime(),
    });
  }
}

class PastStage extends PastActivity implements Stage {
  readonly kind = 'stage' as const;

  get stageRunId(): string {
    return this.spanId;
  }
}

class PastRun extends PastActivity implements Run {
  readonly kind = 'run' as const;

  /** Heartbeats as the SDK sends them while the run is in progress. */
  beatEvery(seconds: number): void {
    if (seconds <= 0) return;
    this.clock.startHeartbeat(seconds * 1000, () => {
      const elapsed = (this.clock.ms - this.startedMs) / 1000;
      const attributes = copyInto<AnyValueMap>({}, this.attrs);
      attributes[ATTR.durationSeconds] = elapsed;
      this.record(EVENT.runHeartbeat, SeverityNumber.INFO, 'INFO', `run running for ${Math.round(elapsed)}s: ${this.name}`, attributes);
    });
  }
}

function execute<A extends PastActivity, R>(activity: A, fn: (activity: A) => R): R {
  let value: R;
  try {
    value = fn(activity);
  } catch (error) {
    activity.thrown(error);
    throw error;
  }
  if (!isPromiseLike(value)) {
    activity.end();
    return value;
  }
  return Promise.resolve(value).then(
    (resolved) => {
      activity.end();
      return resolved;
    },
    (error: unknown) => {
      activity.thrown(error);
      throw error;
    },
  ) as R;
}

/** The owner and expected interval as attributes, as sdk/run.ts's withSchedule puts them on every record. */
function withSchedule(options: RunOptions): RunOptions {
  const schedule: Record<string, unknown> = {};
  if (options.owner) schedule[ATTR.pipelineOwner] = options.owner;
  if (options.expectedIntervalSeconds !== undefined && options.expectedIntervalSeconds > 0) {
    schedule[ATTR.expectedIntervalSeconds] = options.expectedIntervalSeconds;
  }
  return { ...options, attributes: { ...schedule, ...options.attributes } };
}

export interface PastRunOptions extends RunOptions {
  runId: string;
}

/**
 * One run, started at the clock's time, with the SDK's default heartbeat. Resolves with how it ended
 * (`running` when it froze); the pipeline's own error is not rethrown: the run records it.
 */
export async function pastRun(
  out: PastOutput,
  clock: PastClock,
  pipeline: string,
  options: PastRunOptions,
  fn: (run: Run) => Promise<unknown>,
): Promise<{ result: Result | 'running'; errorType: string | null }> {
  const run = new PastRun('run', pipeline, options.runId, pipeline, null, ROOT_CONTEXT, out, clock, withSchedule(options));
  run.beatEvery(options.heartbeatSeconds ?? 60);
  try {
    await execute(run, fn);
  } catch {
    // Recorded on the run as the SDK records it.
  }
  return run.outcome;
}
