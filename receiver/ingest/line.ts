/**
 * The ingest line every format enters once decoded (decode/: OTLP protobuf and JSON over HTTP and gRPC,
 * notebook and workflow loggers' activity records, OpenLineage events), one step per file:
 *
 *   decode (the transport, decode/*) → validate.ts → prepare.ts → commit.ts (group commit)
 *
 * and then the transport answers: success with what was left out (OTLP partial success), or the
 * Refusal, which outcome.ts maps to an HTTP or gRPC status. A resolved ingest() means COMMIT happened.
 * What became of the records is told to the request's operation (ingest-report.ts), which the
 * transport ends with its answer; what COMMIT changed is counted by the writer's report.
 */
import type { LogRow, SpanRow, Tenant } from '../model/records.js';
import { refusalOf } from '../model/outcome.js';
import type { RecordOutcomes } from '../metrics/ingest-report.js';
import type { Admission, Writer } from './commit.js';
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

/** A body is claimed from the writer's memory budget before it is read (budget.ts). */
export interface IngestLine extends Admission {
  /** Validates, prepares and commits one request, telling `outcomes` what became of its records; rejects with a Refusal. */
  ingest(tenant: Tenant, decoded: Decoded, outcomes: RecordOutcomes): Promise<Ingested>;
}

/** Refusal counts of logs and spans together: a reason both share is counted for both. */
function sumReasons(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const sum = new Map(a);
  for (const [reason, n] of b) sum.set(reason, (sum.get(reason) ?? 0) + n);
  return sum;
}

export interface LineOptions {
  writer: Writer;
  retentionDays: number;
  now?: () => number;
}

export function createIngestLine({ writer, retentionDays, now = Date.now }: LineOptions): IngestLine {
  return {
    claim: (bytes) => writer.claim(bytes),
    deposit: (bytes) => writer.deposit(bytes),

    async ingest(tenant, decoded, outcomes) {
      const window = timeWindow(retentionDays, now());
      const logs = validateLogs(decoded.logs, window);
      const spans = validateSpans(decoded.spans, window);
      const records = logs.valid.length + spans.valid.length;
      try {
        await writer.write(prepare(tenant, logs.valid, spans.valid), records);
      } catch (error) {
        const refusal = refusalOf(error);
        outcomes.failed(refusal.kind, records);
        throw refusal;
      }
      // Counted once committed: a request answered 503 comes back with the same invalid records.
      outcomes.refused(sumReasons(logs.reasons, spans.reasons));
      return {
        rejected: logs.rejected + spans.rejected,
        message: [logs.message, spans.message].filter((m) => m !== '').join('; '),
        problems: { logs: logs.problems, spans: spans.problems },
      };
    },
  };
}
