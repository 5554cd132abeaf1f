/**
 * The in-memory design (the SDK's delivery before the write-ahead spool), kept only so that
 * bench/sdk.ts measures both in the same run: records held in memory, exported by the official OTLP
 * exporters, written to disk only when export failed or at exit. Not part of the SDK.
 */
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Config } from '../../sdk/config.js';
import type { Channel, Delivery } from '../../sdk/delivery.js';
import { createDelivery as createInMemory, type Exporter } from './delivery.js';

export function createInMemoryDelivery(config: Config): Delivery {
  const inner = createInMemory(config);
  const options = { headers: config.headers, timeoutMillis: config.exportTimeoutMs };
  const exporters: Record<string, Exporter<unknown>> = {
    logs: new OTLPLogExporter({ ...options, url: `${config.endpoint}/v1/logs` }) as Exporter<ReadableLogRecord> as Exporter<unknown>,
    traces: new OTLPTraceExporter({ ...options, url: `${config.endpoint}/v1/traces` }) as Exporter<ReadableSpan> as Exporter<unknown>,
  };
  inner.replaySoon();
  return {
    queue<T>(channel: Channel<T>) {
      const queue = inner.queue<T>({ ...channel, exporter: exporters[channel.signal] as Exporter<T> });
      return { push: (item: T) => queue.push(item), flush: () => undefined, buffered: 0 };
    },
    flush: (deadlineMs) => inner.flush(deadlineMs),
    shutdown: (deadlineMs) => inner.shutdown(deadlineMs),
    spoolNow: () => inner.spoolNow(),
    // This design counts neither refusals apart from other drops, nor deliveries, nor why an export failed.
    stats: () => ({ ...inner.stats(), refused: 0, delivered: 0, lastFailure: null }),
  };
}
