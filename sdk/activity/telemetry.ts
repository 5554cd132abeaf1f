/**
 * The process-wide SDK instance: OpenTelemetry tracer and logger providers wired to the durable
 * delivery (delivery.ts), or the application's own providers when it registered them (sdk-node), so
 * pipemon adds runs and stages to an existing setup instead of fighting it.
 */
import { isSpanContextValid, ProxyTracerProvider, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { logs, SeverityNumber, type Logger } from '@opentelemetry/api-logs';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AlwaysOnSampler, BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resolveConfig, type Config, type StartOptions } from '../delivery/config.js';
import { createDelivery, NOTHING_HELD, type Delivery, type DeliveryStats } from '../delivery/delivery.js';
import { deliveryReport, type DeliveryReport } from '../delivery/delivery-report.js';
import { closingRecord, findDeadRuns, NO_JOURNAL, openRunJournal, type RunJournal } from '../spool/open-runs.js';
import { createLeanLogger } from './lean-logger.js';
import { createLocalOutput } from './local-output.js';
import { ATTR, EVENT } from '../../contract/vocabulary.js';

export type { StartOptions } from '../delivery/config.js';

export interface Pipemon {
  readonly config: Config;
  readonly tracer: Tracer;
  readonly logger: Logger;
  /** True when records go through the application's globally registered OpenTelemetry providers. */
  readonly usingGlobalProviders: boolean;
  /** Markers of the runs in progress, for the next start to end them if this process dies. */
  readonly runs: RunJournal;
  /** Exports what is queued; resolves by the deadline at the latest. Never rejects. */
  flush(deadlineMs?: number): Promise<void>;
  /**
   * Flushes, spools what is left, stops; says on stderr what was not delivered. Safe to call twice;
   * calls after it resolve with the same report.
   */
  shutdown(deadlineMs?: number): Promise<DeliveryReport>;
  stats(): DeliveryStats;
}

const SCOPE = 'pipemon';
const DROP_REPORT_MS = 10_000;

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

let current: Pipemon | null = null;

/** Starts the SDK once per process; a second call returns the running instance. Throws only on bad configuration. */
export function start(options: StartOptions = {}): Pipemon {
  current ??= create(resolveConfig(options));
  return current;
}

/** The running instance, started from the environment on first use. */
export function pipemon(): Pipemon {
  return current ?? start();
}

/** Shuts the running instance down (if any; null without one); the next start() or run() creates a fresh one. */
export async function shutdown(deadlineMs?: number): Promise<DeliveryReport | null> {
  const instance = current;
  current = null;
  return (await instance?.shutdown(deadlineMs)) ?? null;
}

function globalProvidersRegistered(): boolean {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  // The no-op provider hands out spans with an invalid context; a real one never does. The probe span
  // is never ended, so a real provider never exports it.
  const tracing = isSpanContextValid(delegate.getTracer(SCOPE).startSpan('pipemon.probe').spanContext());
  return tracing && loggerProviderRegistered();
}

/**
 * `logs.getLoggerProvider()` answers the registered provider itself, or, with none, the API's own
 * ProxyLoggerProvider. api-logs (0.223) exports neither that class nor a "registered?" question, so the
 * proxy is recognised by its internal `_getDelegateLogger` (undefined until a provider is set); the
 * call is guarded in case a later api-logs drops it. Any other provider counts only if it can be
 * flushed: shutdown() needs forceFlush to send a run's last records.
 */
function loggerProviderRegistered(): boolean {
  const provider = logs.getLoggerProvider() as { _getDelegateLogger?: (name: string) => unknown; forceFlush?: unknown };
  if (typeof provider._getDelegateLogger === 'function') {
    try {
      return provider._getDelegateLogger(SCOPE) !== undefined;
    } catch {
      return false;
    }
  }
  return typeof provider.forceFlush === 'function';
}

function create(config: Config): Pipemon {
  const useGlobal =
    config.useGlobalProviders === true || (config.useGlobalProviders === 'auto' && !config.explicitEndpoint && globalProvidersRegistered());
  if (useGlobal) return createOnGlobal(config);

  const resource = resourceFromAttributes(config.resource);
  const delivery = config.export ? createDelivery(config) : null;
  const sinks: Array<(record: ReadableLogRecord) => void> = [];
  const spanProcessors: SpanProcessor[] = [];
  if (delivery) {
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
    sinks.push((record) => logQueue.push(record));
    spanProcessors.push({
      onStart: () => undefined,
      onEnd: (span: ReadableSpan) => spanQueue.push(span),
      forceFlush: () => delivery.flush(config.shutdownMs),
      shutdown: () => Promise.resolve(),
    });
  }
  const localOutput = config.localOutput ? createLocalOutput(config.localOutput) : null;
  if (localOutput) sinks.push(localOutput.write);
  // Decided once: one consumer is called directly, as pino picks its write path at construction.
  const onEmit = sinks.length === 0 ? null : sinks.length === 1 ? sinks[0]! : (record: ReadableLogRecord) => sinks.forEach((sink) => sink(record));

  const loggerProvider = new LoggerProvider({
    resource,
    processors: onEmit
      ? [{ onEmit, forceFlush: async () => delivery?.flush(config.shutdownMs), shutdown: async () => localOutput?.close() }]
      : [],
  });
  // Runs and stages are never sampled out: a pipeline's history must be complete.
  const tracerProvider = new BasicTracerProvider({ resource, sampler: new AlwaysOnSampler(), spanProcessors });
  const logger = createLeanLogger({ resource, scope: SCOPE, onEmit, fallback: loggerProvider.getLogger(SCOPE) });

  let reported = 0;
  const reportDrops = () => {
    const dropped = delivery?.stats().dropped ?? 0;
    if (dropped <= reported) return;
    logger.emit({
      eventName: EVENT.sdkDropped,
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: `pipemon SDK dropped ${dropped - reported} records (memory or spool full, or refused as malformed)`,
      attributes: { [ATTR.droppedRecords]: dropped - reported },
    });
    reported = dropped;
  };
  const dropTimer = setInterval(reportDrops, DROP_REPORT_MS).unref();

  let told = false;
  /** The report on what this instance could not deliver, said on stderr the first time only. */
  const report = (): DeliveryReport => {
    const result = deliveryReport(instance.stats(), config);
    if (result.message !== null && !told) process.stderr.write(`${result.message}\n`);
    told = true;
    return result;
  };

  let stopped: Promise<DeliveryReport> | null = null;
  const instance: Pipemon = {
    config,
    tracer: tracerProvider.getTracer(SCOPE),
    logger,
    usingGlobalProviders: false,
    runs: delivery ? openRunJournal(config.spoolDir, { fsync: config.spoolFsync }) : NO_JOURNAL,
    async flush(deadlineMs = config.shutdownMs) {
      reportDrops();
      await delivery?.flush(deadlineMs);
    },
    shutdown(deadlineMs = config.shutdownMs) {
      stopped ??= (async () => {
        clearInterval(dropTimer);
        exitHooks?.removeSignals();
        reportDrops();
        await delivery?.shutdown(deadlineMs);
        instance.runs.close();
        // Only now: an application's own SIGTERM handler may call process.exit() while the flush above
        // is still waiting, and then the exit hook is what puts memory and in-flight batches on disk.
        exitHooks?.removeExit();
        logger.close();
        await Promise.allSettled([loggerProvider.shutdown(), tracerProvider.shutdown()]);
        if (current === instance) current = null;
        return report();
      })();
      return stopped;
    },
    stats: () => delivery?.stats() ?? NOTHING_HELD,
  };
  const exitHooks = config.handleExit ? installExitHooks(instance, delivery, report) : null;
  return instance;
}

function createOnGlobal(config: Config): Pipemon {
  const flushGlobal = async () => {
    const providers = [trace.getTracerProvider(), logs.getLoggerProvider()].map(
      (p) => (p instanceof ProxyTracerProvider ? p.getDelegate() : p) as { forceFlush?: () => Promise<void> },
    );
    await Promise.allSettled(providers.map((p) => p.forceFlush?.()));
  };
  return {
    config,
    tracer: trace.getTracer(SCOPE),
    logger: logs.getLogger(SCOPE),
    usingGlobalProviders: true,
    // The application's providers deliver (or lose) the records: there is no spool of ours to close runs from.
    runs: NO_JOURNAL,
    flush: (deadlineMs = config.shutdownMs) => Promise.race([flushGlobal(), sleep(deadlineMs)]),
    // The application owns its providers and their shutdown; we only make sure our records left.
    async shutdown(deadlineMs = config.shutdownMs) {
      if (current === this) current = null;
      await Promise.race([flushGlobal(), sleep(deadlineMs)]);
      // Their exporters deliver and report: nothing passed through us.
      return deliveryReport(NOTHING_HELD, config);
    },
    stats: () => NOTHING_HELD,
  };
}

/**
 * beforeExit: the loop is empty but records may be buffered or unsent: send them. exit: only synchronous work
 * runs, so whatever is still in memory goes to the spool, and `report` says what was not delivered.
 * SIGTERM/SIGINT: flush within the deadline, then, if nobody else handles the signal, die of it as the
 * process would have without us.
 */
function installExitHooks(instance: Pipemon, delivery: Delivery | null, report: () => unknown): { removeSignals(): void; removeExit(): void } {
  const onBeforeExit = () => {
    // Records in the spool but not sent yet are safe (the next start sends them) but late: send them now.
    // Not while the receiver is down, or an undeliverable spool would keep the process from ever exiting.
    const stats = instance.stats();
    if ((stats.queued > 0 || stats.spooledBatches > 0) && !stats.receiverDown) void instance.flush();
  };
  const onExit = () => {
    delivery?.spoolNow();
    report();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    const alone = process.listenerCount(signal) === 1;
    void instance.shutdown().finally(() => {
      if (alone) process.kill(process.pid, signal);
    });
  };
  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    removeSignals() {
      process.off('beforeExit', onBeforeExit);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
    removeExit() {
      process.off('exit', onExit);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
