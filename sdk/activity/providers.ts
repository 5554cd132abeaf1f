/**
 * pipemon's own OpenTelemetry providers: ended spans go to the delivery's trace queue, log records to
 * its log queue and to the local output (a file, stdout or stderr), each when configured, and runs'
 * metrics to its metrics queue (run-meters.ts).
 */
import { createNoopMeter, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AlwaysOnSampler, BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Config } from '../delivery/config.js';
import type { Delivery } from '../delivery/delivery.js';
import { closingRecord, findDeadRuns } from '../spool/open-runs.js';
import { createLeanLogger, type LeanLogger } from './lean-logger.js';
import { createLocalOutput } from './local-output.js';
import { metricChannel } from './metric-points.js';
import { createRunMeters, deliveredRunProvider, sharedRunProvider, type RunMeters, type RunProvider } from './run-meters.js';
import { ATTR, EVENT } from '../../contract/vocabulary.js';

/** The instrumentation scope of every span, log record and run meter pipemon makes. */
export const SCOPE = 'pipemon';

/** Log records that are never evicted: errors and the records that make up a run's history. */
const KEPT_EVENTS: ReadonlySet<string> = new Set([
  EVENT.runStart,
  EVENT.runEnd,
  EVENT.stageStart,
  EVENT.stageEnd,
  EVENT.check,
  EVENT.sdkDropped,
]);

export function mustKeepLog(record: ReadableLogRecord): boolean {
  return (record.severityNumber ?? 0) >= SeverityNumber.ERROR || (record.eventName !== undefined && KEPT_EVENTS.has(record.eventName));
}

export function mustKeepSpan(span: ReadableSpan): boolean {
  return span.status.code === SpanStatusCode.ERROR || span.attributes[ATTR.pipelineName] !== undefined;
}

type LogSink = (record: ReadableLogRecord) => void;

export interface Providers {
  readonly tracer: Tracer;
  readonly logger: LeanLogger;
  /** Runs' metrics: to the delivery, or nowhere when export is off. */
  readonly meters: RunMeters;
  /** Stops the logger, then shuts both providers down (closing the local output). Never rejects. */
  shutdown(): Promise<void>;
}

/** Providers over `delivery` (null: export off) and the configured local output. */
export function createProviders(config: Config, delivery: Delivery | null): Providers {
  const resource = resourceFromAttributes(config.resource);
  const sinks: LogSink[] = [];
  const spanProcessors: SpanProcessor[] = [];
  const queues = delivery ? deliveryQueues(config, delivery, resource) : null;
  if (queues) {
    sinks.push(queues.log);
    spanProcessors.push(queues.spans);
  }
  const localOutput = config.localOutput ? createLocalOutput(config.localOutput) : null;
  if (localOutput) sinks.push(localOutput.write);
  const onEmit = fanOut(sinks);

  const loggerProvider = new LoggerProvider({
    resource,
    processors: onEmit
      ? [{ onEmit, forceFlush: async () => delivery?.flush(config.shutdownMs), shutdown: async () => localOutput?.close() }]
      : [],
  });
  // Runs and stages are never sampled out: a pipeline's history must be complete.
  const tracerProvider = new BasicTracerProvider({ resource, sampler: new AlwaysOnSampler(), spanProcessors });
  const logger = createLeanLogger({ resource, scope: SCOPE, onEmit, fallback: loggerProvider.getLogger(SCOPE) });
  return {
    tracer: tracerProvider.getTracer(SCOPE),
    logger,
    meters: createRunMeters(queues?.runs ?? sharedRunProvider(createNoopMeter)),
    async shutdown() {
      logger.close();
      await Promise.allSettled([loggerProvider.shutdown(), tracerProvider.shutdown()]);
    },
  };
}

/**
 * The delivery's log sink, span processor and runs' meter providers, over its log, trace and metrics
 * queues; first, the runs a dead process left open are ended through the log queue.
 */
function deliveryQueues(config: Config, delivery: Delivery, resource: Resource): { log: LogSink; spans: SpanProcessor; runs: () => RunProvider } {
  // The same serializers as the official OTLP/protobuf exporters: the spool holds the bytes they would send.
  const logQueue = delivery.queue<ReadableLogRecord>({
    signal: 'logs',
    serialize: (batch) => ProtobufLogsSerializer.serializeRequest(batch),
    mustKeep: mustKeepLog,
  });
  const spanQueue = delivery.queue<ReadableSpan>({
    signal: 'traces',
    serialize: (batch) => ProtobufTraceSerializer.serializeRequest(batch),
    mustKeep: mustKeepSpan,
    // A failed span is on disk before the failure is rethrown; a successful run's or stage's is buffered.
    writeThrough: (span) => span.status.code === SpanStatusCode.ERROR,
  });
  // Runs a dead process left open end now, as `error` at their last heartbeat; the end record is in
  // the spool before the marker goes, so a crash in between only writes the same record again.
  for (const dead of findDeadRuns(config.spoolDir)) {
    logQueue.push(closingRecord(dead));
    dead.release();
  }
  const metricQueue = delivery.queue(metricChannel(resource));
  return {
    runs: deliveredRunProvider({ queue: metricQueue, resource, scope: SCOPE, intervalMs: config.metricIntervalMs }),
    log: (record) => logQueue.push(record),
    spans: {
      onStart: () => undefined,
      onEnd: (span: ReadableSpan) => spanQueue.push(span),
      forceFlush: () => delivery.flush(config.shutdownMs),
      shutdown: () => Promise.resolve(),
    },
  };
}

/** One function calling every sink; null for none. Decided once: one sink is called directly, as pino picks its write path at construction. */
function fanOut(sinks: LogSink[]): LogSink | null {
  if (sinks.length === 0) return null;
  if (sinks.length === 1) return sinks[0]!;
  return (record) => sinks.forEach((sink) => sink(record));
}
