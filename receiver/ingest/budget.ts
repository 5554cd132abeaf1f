/**
 * The writer's memory budget: bytes of request bodies held (read, decoded, not yet acknowledged). A
 * request that would pass it is refused at once (503) instead of queued, so memory stays bounded
 * whatever the load.
 */
import { Refusal } from '../model/outcome.js';
import type { WriterReport } from '../metrics/writer-report.js';

/** Budget held by one request: it grows as the body turns out larger, and is released once. */
export interface Reservation {
  /** Holds `bytes` more, or throws Refusal('overloaded') and holds nothing more. */
  grow(bytes: number): void;
  release(): void;
}

export interface Budget {
  /** Reserves `bytes` of the budget or throws Refusal('overloaded'). */
  reserve(bytes: number): Reservation;
}

/** A budget of `limitBytes`; `report` is told the bytes held on every change, and once at the start. */
export function createBudget(limitBytes: number, report: Pick<WriterReport, 'budget'>): Budget {
  let heldBytes = 0;
  report.budget(heldBytes, limitBytes);
  return {
    reserve(bytes) {
      let held = 0;
      const reservation: Reservation = {
        grow(more) {
          if (heldBytes + more > limitBytes) {
            throw new Refusal('overloaded', `writer memory budget full (${heldBytes} of ${limitBytes} bytes held): retry later`);
          }
          held += more;
          heldBytes += more;
          report.budget(heldBytes, limitBytes);
        },
        release() {
          heldBytes -= held;
          held = 0;
          report.budget(heldBytes, limitBytes);
        },
      };
      reservation.grow(bytes);
      return reservation;
    },
  };
}
