/**
 * The writer's memory budget: bytes of request bodies held (read, decoded, not yet acknowledged). A
 * request that would pass it is refused at once (503) instead of queued, so memory stays bounded
 * whatever the load, with one exception: deposits. A gRPC call claims the largest message it may hold
 * before reading it (grpc/admission.ts) and shrinks to the message's length once it is in, so deposits
 * make the budget look full while little is held. A claim that does not fit while deposits are out waits
 * for them (in arrival order, OTLP/HTTP and gRPC alike) instead of being refused: otherwise a few gRPC
 * uploads starting at once would have every OTLP/HTTP request beside them answered 503.
 */
import { Refusal } from '../model/outcome.js';
import type { WriterReport } from '../metrics/writer-report.js';

/** Budget held by one request: it grows as the body turns out larger, and is released once. */
export interface Reservation {
  /** Holds `bytes` more, or throws Refusal('overloaded') and holds nothing more. */
  grow(bytes: number): void;
  release(): void;
}

/** Budget claimed for a message not yet read: the largest it may be, until it is in. */
export interface Deposit extends Reservation {
  /** The message is in: holds its `bytes` instead, as a plain reservation, and lets waiting claims in. */
  settle(bytes: number): void;
}

export interface Budget {
  /** Reserves `bytes` now, or throws Refusal('overloaded'). */
  reserve(bytes: number): Reservation;
  /**
   * Reserves `bytes` once they fit, in arrival order: while deposits are out, a claim that does not fit
   * waits for them to settle; with none out, the budget is full of data being decoded or written, and
   * the claim is refused with Refusal('overloaded').
   */
  claim(bytes: number): Promise<Reservation>;
  /** As claim(), for a message not yet read: it counts as a deposit until settled or released. */
  deposit(bytes: number): Promise<Deposit>;
}

interface Waiting {
  bytes: number;
  deposit: boolean;
  grant(held: Deposit): void;
  refuse(refusal: Refusal): void;
}

/** A budget of `limitBytes`; `report` is told the bytes held on every change, and once at the start. */
export function createBudget(limitBytes: number, report: Pick<WriterReport, 'budget'>): Budget {
  let heldBytes = 0;
  let depositsOut = 0;
  const waiting: Waiting[] = [];
  report.budget(heldBytes, limitBytes);

  const change = (bytes: number) => {
    heldBytes += bytes;
    report.budget(heldBytes, limitBytes);
  };

  function hold(bytes: number, deposit: boolean): Deposit {
    let held = 0;
    let isDeposit = false;
    const settled = () => {
      if (isDeposit) depositsOut -= 1;
      isDeposit = false;
      admitWaiting();
    };
    const reservation: Deposit = {
      grow(more) {
        if (heldBytes + more > limitBytes) {
          throw new Refusal('overloaded', `writer memory budget full (${heldBytes} of ${limitBytes} bytes held): retry later`);
        }
        held += more;
        change(more);
      },
      release() {
        change(-held);
        held = 0;
        settled();
      },
      settle(bytes) {
        if (bytes > held) reservation.grow(bytes - held);
        change(bytes - held);
        held = bytes;
        settled();
      },
    };
    reservation.grow(bytes);
    if (deposit) {
      isDeposit = true;
      depositsOut += 1;
    }
    return reservation;
  }

  /** The reservation, the refusal, or null when the claim should wait for a deposit to settle. */
  function tryHold(bytes: number, deposit: boolean): Deposit | Refusal | null {
    try {
      return hold(bytes, deposit);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return depositsOut > 0 ? null : error;
    }
  }

  function admitWaiting(): void {
    while (waiting.length > 0) {
      const next = waiting[0]!;
      const held = tryHold(next.bytes, next.deposit);
      if (held === null) return;
      waiting.shift();
      if (held instanceof Refusal) next.refuse(held);
      else next.grant(held);
    }
  }

  function enter(bytes: number, deposit: boolean): Promise<Deposit> {
    const held = waiting.length > 0 ? null : tryHold(bytes, deposit);
    if (held instanceof Refusal) return Promise.reject(held);
    if (held !== null) return Promise.resolve(held);
    return new Promise((grant, refuse) => waiting.push({ bytes, deposit, grant, refuse }));
  }

  return {
    reserve: (bytes) => hold(bytes, false),
    claim: (bytes) => enter(bytes, false),
    deposit: (bytes) => enter(bytes, true),
  };
}
