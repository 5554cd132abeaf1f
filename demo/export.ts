/**
 * The backfill's OpenTelemetry pipeline: the official LoggerProvider and BasicTracerProvider, and the
 * official OTLP/HTTP protobuf exporters, registered as the process's global providers while the
 * backfill runs: the pipemon SDK started with `useGlobalProviders` records its runs through them, as
 * it does in any application that set OpenTelemetry up itself. The SDK's batch processors only log a
 * failed export, and the demo must know that everything arrived, so records are collected here and
 * exported in batches whose results are checked: the first batch the receiver does not take stops the
 * backfill with its reason.
 *
 * Ids come from the run id, not from Math.random(), so that a resent run has the same trace and span ids
 * and the receiver stores it once.
 */
import { logs as logsApi } from '@opentelemetry/api-logs';
import { trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AlwaysOnSampler, BasicTracerProvider, type IdGenerator, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { DemoConfigError } from './connection.js';
import { hexId } from './random.js';

/** Records per export request, as the SDK's batch processors send them. */
const BATCH = 512;

/** The receiver did not take what the demo sent. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
}

/** Trace and span ids numbered within the current run. */
class RunIds implements IdGenerator {
  private runId = '';
  private spans = 0;

  begin(runId: string): void {
    this.runId = runId;
    this.spans = 0;
  }

  generateTraceId(): string {
    return hexId(32, 'trace', this.runId);
  }

  generateSpanId(): string {
    return hexId(16, 'span', this.runId, this.spans++);
  }
}

export interface PastTelemetryOptions {
  endpoint: string;
  headers: Record<string, string>;
  resource: Record<string, string>;
  exportTimeoutMs?: number;
}

export interface PastTelemetry {
  /** Makes these the process's global providers until shutdown(); throws if another tracer or logger provider is. */
  register(): void;
  /** Call before each run: its ids derive from its run id. */
  beginRun(runId: string): void;
  /** Exports full batches now (all of them with `all`); throws DeliveryError when one is not taken. */
  send(all?: boolean): Promise<void>;
  readonly sent: { logRecords: number; spans: number };
  shutdown(): Promise<void>;
}

function exportBatch<T>(exporter: { export(items: T[], done: (result: ExportResult) => void): void }, batch: T[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(batch, resolve));
}

/** The exporter's error as a sentence: its HTTP status when it has one (OTLPExporterError.code), else its cause. */
function describe(error: Error | undefined): string {
  if (!error) return 'no reason given';
  const status = (error as { code?: unknown }).code;
  if (status === 401 || status === 403) return `HTTP ${status}: the receiver refused the API key`;
  if (typeof status === 'number') return `HTTP ${status} ${error.message}`.trim();
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
  return cause ? `${error.message} (${cause})` : error.message;
}

export function createPastTelemetry(options: PastTelemetryOptions): PastTelemetry {
  const resource = resourceFromAttributes(options.resource);
  const exporterOptions = { headers: options.headers, timeoutMillis: options.exportTimeoutMs ?? 10_000 };
  const logExporter = new OTLPLogExporter({ ...exporterOptions, url: `${options.endpoint}/v1/logs` });
  const traceExporter = new OTLPTraceExporter({ ...exporterOptions, url: `${options.endpoint}/v1/traces` });
  const logs: ReadableLogRecord[] = [];
  const spans: ReadableSpan[] = [];
  const ids = new RunIds();
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [{ onEmit: (record) => void logs.push(record), forceFlush: async () => undefined, shutdown: async () => undefined }],
  });
  const tracerProvider = new BasicTracerProvider({
    resource,
    idGenerator: ids,
    sampler: new AlwaysOnSampler(),
    spanProcessors: [
      {
        onStart: () => undefined,
        onEnd: (span) => void spans.push(span),
        forceFlush: async () => undefined,
        shutdown: async () => undefined,
      },
    ],
  });
  const sent = { logRecords: 0, spans: 0 };
  const registered = { traces: false, logs: false };

  const drain = async <T>(
    queue: T[],
    exporter: { export(items: T[], done: (result: ExportResult) => void): void },
    what: 'log records' | 'spans',
    all: boolean,
  ): Promise<number> => {
    let count = 0;
    while (queue.length >= BATCH || (all && queue.length > 0)) {
      const batch = queue.splice(0, BATCH);
      const result = await exportBatch(exporter, batch);
      if (result.code !== ExportResultCode.SUCCESS) {
        throw new DeliveryError(`the receiver at ${options.endpoint} did not take a batch of ${batch.length} ${what}: ${describe(result.error)}`);
      }
      count += batch.length;
    }
    return count;
  };

  return {
    register() {
      registered.traces = trace.setGlobalTracerProvider(tracerProvider);
      registered.logs = registered.traces && logsApi.setGlobalLoggerProvider(loggerProvider) === loggerProvider;
      if (!registered.logs) {
        throw new DemoConfigError('another OpenTelemetry provider is registered in this process, and the backfill records through its own: run the demo in a process of its own');
      }
    },
    beginRun: (runId) => ids.begin(runId),
    async send(all = false) {
      sent.spans += await drain(spans, traceExporter, 'spans', all);
      sent.logRecords += await drain(logs, logExporter, 'log records', all);
    },
    sent,
    async shutdown() {
      // Only what this registered: an application's own providers stay.
      if (registered.traces) trace.disable();
      if (registered.logs) logsApi.disable();
      await Promise.allSettled([loggerProvider.shutdown(), tracerProvider.shutdown(), logExporter.shutdown(), traceExporter.shutdown()]);
    },
  };
}
