/**
 * The logger of our own providers: it builds the `ReadableLogRecord` the official exporter and
 * serializer take, without the logs SDK's LogRecordImpl. LogRecordImpl checks every attribute with a
 * fresh WeakSet, runs each field through a setter and spreads the record; with the run's attributes
 * and a span context that made the SDK's emit alone 1.75x its cost for `{ i }` (bench/sdk.ts compares
 * with that), leaving no room for the run's own work.
 *
 * Only records the SDK would store unchanged take this path: scalar or scalar-array attributes, at most
 * the SDK's default 128, no explicit timestamps or exception. Anything else goes to the SDK's logger,
 * so limits, validation and exception handling stay the SDK's; only the timestamps are ours (below).
 */
import { context as otelContext, isSpanContextValid, trace } from '@opentelemetry/api';
import type { LogAttributes, Logger, LogRecord } from '@opentelemetry/api-logs';
import type { HrTime } from '@opentelemetry/api';
import { addHrTimes, millisToHrTime } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { observedAfter } from './clock.js';

/** LoggerProvider's default `logRecordLimits.attributeCountLimit`; our provider sets no other. */
const ATTRIBUTE_COUNT_LIMIT = 128;

export interface LeanLogger extends Logger {
  /** Stops emitting, as the SDK's logger does once its provider shuts down. */
  close(): void;
}

export interface LeanLoggerOptions {
  resource: Resource;
  scope: string;
  /** Every record, in emit order; null when nothing consumes records. */
  onEmit: ((record: ReadableLogRecord) => void) | null;
  /** The SDK's logger on the same processors, for records the lean path does not take. */
  fallback: Logger;
}

/**
 * The receiver stores identical records once (its fingerprint hashes time, observed time, body,
 * attributes and ids: OTLP gives records no id, and a resent record must not count twice). With
 * Date.now(), the same line logged twice in one millisecond (a loop, `pipemon exec` of a chatty
 * command) was one record. So: time with sub-millisecond resolution, as the SDK's spans take it
 * (timeOrigin + performance.now(), the origin converted once), and an observed time that strictly
 * increases within the process, so that no two records of this process are ever identical.
 */
const TIME_ORIGIN = millisToHrTime(performance.timeOrigin);
let lastObserved: HrTime = [0, 0];

function now(): HrTime {
  return addHrTimes(TIME_ORIGIN, millisToHrTime(performance.now()));
}

/** Strictly increasing within the process (clock.ts). */
function observedAt(time: HrTime): HrTime {
  lastObserved = observedAfter(lastObserved, time);
  return lastObserved;
}

function isScalar(value: unknown): boolean {
  return value === null || value === undefined || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** A copy of `attributes` as the SDK would store them, or null if the SDK has to decide. */
function copyAttributes(attributes: LogAttributes | undefined): LogAttributes | null {
  const out: LogAttributes = {};
  if (attributes === undefined) return out;
  let count = 0;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    if (key === '' || ++count > ATTRIBUTE_COUNT_LIMIT) return null;
    const value = attributes[key];
    if (isScalar(value)) out[key] = value;
    else if (Array.isArray(value) && value.every(isScalar)) out[key] = value.slice();
    else return null;
  }
  return out;
}

export function createLeanLogger({ resource, scope, onEmit, fallback }: LeanLoggerOptions): LeanLogger {
  const instrumentationScope = { name: scope, version: undefined, schemaUrl: undefined };
  let closed = onEmit === null;
  return {
    emit(record: LogRecord): void {
      if (closed) return;
      const time = now();
      const attributes =
        record.timestamp !== undefined || record.observedTimestamp !== undefined || record.exception !== undefined
          ? null
          : copyAttributes(record.attributes);
      if (attributes === null) {
        // The SDK would stamp both times with Date.now(): give it ours, unless the caller chose them.
        fallback.emit({ ...record, timestamp: record.timestamp ?? time, observedTimestamp: record.observedTimestamp ?? observedAt(time) });
        return;
      }
      const spanContext = trace.getSpanContext(record.context ?? otelContext.active());
      onEmit!({
        hrTime: time,
        hrTimeObserved: observedAt(time),
        spanContext: spanContext !== undefined && isSpanContextValid(spanContext) ? spanContext : undefined,
        severityText: record.severityText,
        severityNumber: record.severityNumber,
        body: record.body,
        eventName: record.eventName,
        resource,
        instrumentationScope,
        attributes,
        droppedAttributesCount: 0,
      });
    },
    enabled: () => !closed,
    close() {
      closed = true;
    },
  };
}
