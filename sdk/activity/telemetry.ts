/**
 * The process-wide SDK instance: OpenTelemetry tracer, logger and runs' meter providers wired to the
 * durable delivery (delivery.ts), or the application's own providers when it registered them (sdk-node), so
 * pipemon adds runs and stages to an existing setup instead of fighting it. Its parts: our own providers
 * (providers.ts), what it says about undelivered records (reporting.ts), the process's exit and signals
 * (exit-hooks.ts).
 */
import { isSpanContextValid, metrics, ProxyTracerProvider, trace, type Tracer } from '@opentelemetry/api';
import { logs, type Logger } from '@opentelemetry/api-logs';
import { resolveConfig, type Config, type StartOptions } from '../delivery/config.js';
import { createDelivery } from '../delivery/delivery.js';
import { NOTHING_HELD, type DeliveryStats } from '../delivery/delivery-stats.js';
import { deliveryReport, type DeliveryReport } from '../delivery/delivery-report.js';
import { NO_JOURNAL, openRunJournal, type RunJournal } from '../spool/open-runs.js';
import { installExitHooks } from './exit-hooks.js';
import { createProviders, SCOPE } from './providers.js';
import { startReporting } from './reporting.js';
import { createRunMeters, sharedRunProvider, type RunMeters } from './run-meters.js';


export interface Pipemon {
  readonly config: Config;
  readonly tracer: Tracer;
  readonly logger: Logger;
  /** True when records go through the application's globally registered OpenTelemetry providers. */
  readonly usingGlobalProviders: boolean;
  /** Markers of the runs in progress, for the next start to end them if this process dies. */
  readonly runs: RunJournal;
  /** The meters of runs, each run's collected at its end and by flush() and shutdown(). */
  readonly meters: RunMeters;
  /** Exports what is queued; resolves by the deadline at the latest. Never rejects. */
  flush(deadlineMs?: number): Promise<void>;
  /**
   * Flushes, spools what is left, stops; says on stderr what was not delivered. Safe to call twice;
   * calls after it resolve with the same report.
   */
  shutdown(deadlineMs?: number): Promise<DeliveryReport>;
  stats(): DeliveryStats;
}

const DROP_REPORT_MS = 10_000;

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

  const delivery = config.export ? createDelivery(config) : null;
  const providers = createProviders(config, delivery);
  const meters = providers.meters;
  const stats = () => withLate(delivery?.stats() ?? NOTHING_HELD, meters);
  const reporting = startReporting({ config, stats, logger: providers.logger, everyMs: DROP_REPORT_MS });
  let stopped: Promise<DeliveryReport> | null = null;
  const instance: Pipemon = {
    config,
    tracer: providers.tracer,
    logger: providers.logger,
    usingGlobalProviders: false,
    runs: delivery ? openRunJournal(config.spoolDir, { fsync: config.spoolFsync }) : NO_JOURNAL,
    meters,
    async flush(deadlineMs = config.shutdownMs) {
      const deadline = Date.now() + deadlineMs;
      await meters.flush(deadline);
      reporting.drops();
      await delivery?.flush(Math.max(0, deadline - Date.now()));
    },
    shutdown(deadlineMs = config.shutdownMs) {
      stopped ??= (async () => {
        const deadline = Date.now() + deadlineMs;
        reporting.stop();
        exitHooks?.removeSignals();
        // Runs still open send their metrics' last values now: nothing collects them later.
        await meters.shutdown(deadline);
        reporting.drops();
        await delivery?.shutdown(Math.max(0, deadline - Date.now()));
        instance.runs.close();
        // Only now: an application's own SIGTERM handler may call process.exit() while the flush above
        // is still waiting, and then the exit hook is what puts memory and in-flight batches on disk.
        exitHooks?.removeExit();
        await providers.shutdown();
        if (current === instance) current = null;
        return reporting.final();
      })();
      return stopped;
    },
    stats,
  };
  const exitHooks = config.handleExit ? installExitHooks(instance, delivery, reporting.final) : null;
  return instance;
}

function createOnGlobal(config: Config): Pipemon {
  // Runs record on the application's meter provider; its readers collect and export them.
  const meters = createRunMeters(sharedRunProvider(() => metrics.getMeter(SCOPE)));
  const flushGlobal = async () => {
    const providers = [trace.getTracerProvider(), logs.getLoggerProvider(), metrics.getMeterProvider()].map(
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
    meters,
    flush: (deadlineMs = config.shutdownMs) => Promise.race([flushGlobal(), sleep(deadlineMs)]),
    // The application owns its providers and their shutdown; we only make sure our records left.
    async shutdown(deadlineMs = config.shutdownMs) {
      if (current === this) current = null;
      await meters.shutdown(Date.now());
      await Promise.race([flushGlobal(), sleep(deadlineMs)]);
      // Their exporters deliver and report: nothing passed through us but late measurements.
      return deliveryReport(withLate(NOTHING_HELD, meters), config);
    },
    stats: () => withLate(NOTHING_HELD, meters),
  };
}

/** Measurements made after their run ended never reach a delivery: they count among its drops. */
function withLate(stats: DeliveryStats, meters: RunMeters): DeliveryStats {
  return meters.late === 0 ? stats : { ...stats, dropped: stats.dropped + meters.late, late: meters.late };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
