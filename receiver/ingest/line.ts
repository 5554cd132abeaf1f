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
import type { LogRow, MetricPointRow, SpanRow, Tenant } from '../model/records.js';
import { refusalOf } from '../model/outcome.js';
import type { RecordOutcomes } from '../metrics/ingest-report.js';
import type { Admission, Writer } from './commit.js';
import { prepare } from './prepare.js';
import { timeWindow, validateLogs, validatePoints, validateSpans, type Validated } from './validate.js';

/** A request's records as its decoder produced them. */
export interface Decoded {
  logs: LogRow[];
  spans: SpanRow[];
  points: MetricPointRow[];
}

/** What was left out of a committed request, for the answer. */
export interface Ingested {
  /** Records left out as invalid: the client must not resend them. */
  rejected: number;
  /** Empty when nothing was rejected; else counts per reason (OTLP partial_success.error_message). */
  message: string;
  /** Why each left-out record was, by its index in Decoded.logs / Decoded.spans / Decoded.points. */
  problems: { logs: Map<number, string>; spans: Map<number, string>; points: Map<number, string> };
}

/** A body is claimed from the writer's memory budget before it is read (budget.ts). */
export interface IngestLine extends Admission {
  /** Validates, prepares and commits one request, telling `outcomes` what became of its records; rejects with a Refusal. */
  ingest(tenant: Tenant, decoded: Decoded, outcomes: RecordOutcomes): Promise<Ingested>;
}

/** Refusal counts of every kind of record together: a reason two share is counted for both. */
function sumReasons(validated: Validated<unknown>[]): Map<string, number> {
  const sum = new Map<string, number>();
  for (const { reasons } of validated) for (const [reason, n] of reasons) sum.set(reason, (sum.get(reason) ?? 0) + n);
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
      const points = validatePoints(decoded.points, window);
      const validated = [logs, spans, points];
      const records = logs.valid.length + spans.valid.length + points.valid.length;
      try {
        await writer.write(prepare(tenant, logs.valid, spans.valid, points.valid), records);
      } catch (error) {
        const refusal = refusalOf(error);
        outcomes.failed(refusal.kind, records);
        throw refusal;
      }
      // Counted once committed: a request answered 503 comes back with the same invalid records.
      outcomes.refused(sumReasons(validated));
      return {
        rejected: logs.rejected + spans.rejected + points.rejected,
        message: validated.map((v) => v.message).filter((m) => m !== '').join('; '),
        problems: { logs: logs.problems, spans: spans.problems, points: points.problems },
      };
    },
  };
}
