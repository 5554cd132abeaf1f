import { describe, expect, it } from 'vitest';
import { createBudget } from '../../../receiver/ingest/budget.js';
import { Refusal } from '../../../receiver/model/outcome.js';

/** The bytes held at each report, and the limits reported. */
function reported() {
  const held: number[] = [];
  const limits = new Set<number>();
  const budget = (heldBytes: number, limitBytes: number) => {
    held.push(heldBytes);
    limits.add(limitBytes);
  };
  return { held, limits, report: { budget } };
}

describe('the writer memory budget', () => {
  it('reports 0 held at the start, then every reservation, growth and release', () => {
    const { held, limits, report } = reported();
    const budget = createBudget(100, report);
    const first = budget.reserve(30);
    const second = budget.reserve(20);
    first.grow(10);
    first.release();
    second.release();
    expect(held).toEqual([0, 30, 50, 60, 20, 0]);
    expect([...limits]).toEqual([100]);
  });

  it('refuses as overloaded a reservation or growth past the limit, holding nothing more, with the bytes held', () => {
    const { held, report } = reported();
    const budget = createBudget(100, report);
    const reservation = budget.reserve(60);
    const refused = (() => {
      try {
        budget.reserve(41);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(Refusal);
    expect(refused).toMatchObject({ kind: 'overloaded', message: 'writer memory budget full (60 of 100 bytes held): retry later' });
    expect(() => reservation.grow(41)).toThrow(/budget full \(60 of 100/);
    // Exactly up to the limit fits.
    budget.reserve(40);
    expect(held.at(-1)).toBe(100);
  });

  it('releases what one reservation held once: a second release frees nothing of the others', () => {
    const { held, report } = reported();
    const budget = createBudget(100, report);
    const kept = budget.reserve(70);
    const done = budget.reserve(30);
    done.release();
    done.release();
    expect(held.at(-1)).toBe(70);
    expect(() => budget.reserve(31)).toThrow(Refusal);
    kept.release();
    expect(held.at(-1)).toBe(0);
  });
});
