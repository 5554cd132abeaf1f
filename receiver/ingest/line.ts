/**
 * The ingest line every format enters once decoded (decode/: OTLP protobuf and JSON over HTTP and gRPC,
 * notebook and workflow loggers' activity records, OpenLineage events), one step per file:
 *
 *   decode (the transport, decode/*) → validate.ts → prepare.ts → commit.ts (group commit) → effects.ts
 *
 * and then the transport answers: success with what was left out (OTLP partial success), or the
 * Refusal, which outcome.ts maps to an HTTP or gRPC status. A resolved ingest() means COMMIT happened.
 */
import type { Signal } from '../../contract/signal.js';
import type { LogRow, SpanRow, Tenant } from '../model/records.js';
import { refusalOf, type RefusalKind } from '../outcome.js';
import type { Metrics } from '../metrics.js';
import type { Reservation, Writer } from './commit.js';
import { prepare } from './prepare.js';
import { timeWindow, validateLogs, validateSpans } from './validate.js';

/** A request's records as its decoder produced them. */
export interface Decoded {
  logs: LogRow[];
  spans: SpanRow[];
}

/** What was left out of a committed request, for the answer. */
export interface Ingested {
  /** Records left out as invalid: the client must not resend them. */
  rejected: number;
  /** Empty when nothing was rejected; else counts per reason (OTLP partial_success.error_message). */
  message: string;
  /** Why each left-out record was, by its index in Decoded.logs / Decoded.spans. */
  problems: { logs: Map<number, string>; spans: Map<number, string> };
}

export interface IngestLine {
  /** Claims `bytes` of the writer's memory budget before a body is read; throws Refusal('overloaded'). */
  reserve(bytes: number): Reservation;
  /** Validates, prepares, commits and applies the effects of one request; rejects with a Refusal. */
  ingest(signal: Signal, tenant: Tenant, decoded: Decoded): Promise<Ingested>;
}

/** How each failure is counted in pipemon_receiver_failed_records_total. */
const FAILURE_REASON: Partial<Record<RefusalKind, 'overloaded' | 'database_unavailable' | 'database_error' | 'internal'>> = {
  overloaded: 'overloaded',
  unavailable: 'database_unavailable',
  invalid: 'database_error',
  internal: 'internal',
};

/** Refusal counts of logs and spans together: a reason both share is counted for both. */
function sumReasons(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const sum = new Map(a);
  for (const [reason, n] of b) sum.set(reason, (sum.get(reason) ?? 0) + n);
  return sum;
}

export interface LineOptions {
  writer: Writer;
  metrics: Metrics;
  retentionDays: number;
  now?: () => number;
}

export function createIngestLine({ writer, metrics, retentionDays, now = Date.now }: LineOptions): IngestLine {
  return {
    reserve: (bytes) => writer.reserve(bytes),

    async ingest(signal, tenant, decoded) {
      const window = timeWindow(retentionDays, now());
      const logs = validateLogs(decoded.logs, window);
      const spans = validateSpans(decoded.spans, window);
      const records = logs.valid.length + spans.valid.length;
      try {
        await writer.write(prepare(tenant, logs.valid, spans.valid), records);
      } catch (error) {
        const refusal = refusalOf(error);
        const reason = FAILURE_REASON[refusal.kind];
        if (reason) metrics.failed(signal, reason, records);
        throw refusal;
      }
      // Counted once committed: a request answered 503 comes back with the same invalid records.
      metrics.refused(signal, sumReasons(logs.reasons, spans.reasons));
      return {
        rejected: logs.rejected + spans.rejected,
        message: [logs.message, spans.message].filter((m) => m !== '').join('; '),
        problems: { logs: logs.problems, spans: spans.problems },
      };
    },
  };
}
