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

  it('has a claim that does not fit wait while deposits are out, and grants it, in arrival order, once they settle', async () => {
    const { held, report } = reported();
    const budget = createBudget(100, report);
    const first = await budget.deposit(60);
    const second = await budget.deposit(40);
    const order: string[] = [];
    const large = budget.claim(50).then((r) => (order.push('large'), r));
    // Fits now, but waits its turn behind the claim before it.
    const small = budget.claim(1).then((r) => (order.push('small'), r));
    await Promise.resolve();
    expect(order).toEqual([]);

    first.settle(10);
    await large;
    expect(order).toEqual(['large']);
    second.settle(20);
    await small;
    expect(order).toEqual(['large', 'small']);
    expect(held.at(-1)).toBe(10 + 20 + 50 + 1);
  });

  it('refuses a claim at once when no deposit is out: the budget is full of data', async () => {
    const budget = createBudget(100, reported().report);
    budget.reserve(60);
    await expect(budget.claim(41)).rejects.toMatchObject({ kind: 'overloaded', message: 'writer memory budget full (60 of 100 bytes held): retry later' });
  });

  it('refuses a waiting claim once the deposits it waited for are settled and it still does not fit', async () => {
    const budget = createBudget(100, reported().report);
    const data = budget.reserve(50);
    const deposit = await budget.deposit(50);
    const waiting = budget.claim(60);
    deposit.settle(45);
    await expect(waiting).rejects.toMatchObject({ kind: 'overloaded' });
    data.release();
    // A deposit settled counts as data: releasing it twice frees nothing more, and lets no claim wait.
    deposit.release();
    deposit.release();
    await expect(budget.claim(100)).resolves.toBeDefined();
  });
});
