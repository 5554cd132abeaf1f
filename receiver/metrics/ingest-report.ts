/**
 * Each ingest request's metrics, recorded in one place when it is answered. The transport starts an
 * operation at the request's first byte; the ingest line and the JSON routes tell it what became of the
 * records as they learn it; the transport ends it with its answer, and only then are the duration and
 * every count recorded, once.
 */
import type { Signal } from '../../contract/signal.js';
import type { RefusalKind } from '../model/outcome.js';
import type { Instruments } from './instruments.js';

export const FAILURE_REASONS = ['overloaded', 'database_unavailable', 'database_error', 'internal'] as const;

/** How each refused write is counted in pipemon_receiver_failed_records_total; other kinds are not counted. */
const FAILURE_REASON: Partial<Record<RefusalKind, (typeof FAILURE_REASONS)[number]>> = {
  overloaded: 'overloaded',
  unavailable: 'database_unavailable',
  invalid: 'database_error',
  internal: 'internal',
};

export type LineageType = 'run' | 'job' | 'dataset';

/** What became of a request's records: told as it is learnt, counted when the request ends. */
export interface RecordOutcomes {
  /** Records left out as invalid, by reason: the client must not resend them. */
  refused(reasons: ReadonlyMap<string, number>): void;
  /** `records` records not stored because their write was refused with `kind`. */
  failed(kind: RefusalKind, records: number): void;
  /** OpenLineage events stored, by type. */
  lineage(types: ReadonlyMap<LineageType, number>): void;
}

/** One ingest request, from its first byte to its answer. */
export interface IngestOperation extends RecordOutcomes {
  /** The answer went out with `code` (an HTTP status, or a gRPC code name): records the request. */
  end(code: string): void;
}

export interface IngestReport {
  start(signal: Signal): IngestOperation;
}

export function createIngestReport(m: Instruments, now: () => number): IngestReport {
  return {
    start(signal) {
      const started = now();
      /** The counts told so far, applied at end: a request that is never answered counts nothing. */
      const counts: (() => void)[] = [];
      return {
        refused(reasons) {
          for (const [reason, n] of reasons) counts.push(() => m.refused.inc({ signal, reason }, n));
        },
        failed(kind, records) {
          const reason = FAILURE_REASON[kind];
          if (reason && records > 0) counts.push(() => m.failed.inc({ signal, reason }, records));
        },
        lineage(types) {
          for (const [type, n] of types) if (n > 0) counts.push(() => m.lineageEvents.inc({ type }, n));
        },
        end(code) {
          m.requestDuration.observe({ signal, code }, (now() - started) / 1000);
          for (const count of counts.splice(0)) count();
        },
      };
    },
  };
}
