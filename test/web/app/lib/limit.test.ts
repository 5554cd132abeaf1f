/** The web view's request queue (web/app/lib/limit.ts): at most so many at once, the rest in order, none lost to a failure. */
import { describe, expect, it } from 'vitest';
import { limiter } from '../../../../web/app/lib/limit.js';

/** A task that resolves (or rejects) when told, counting how many such tasks run at once. */
function gated(running: { now: number; most: number }, order: number[], n: number) {
  let open!: (fail: boolean) => void;
  const task = () =>
    new Promise<number>((resolve, reject) => {
      running.now += 1;
      running.most = Math.max(running.most, running.now);
      order.push(n);
      open = (fail) => {
        running.now -= 1;
        if (fail) reject(new Error(`task ${n} failed`));
        else resolve(n);
      };
    });
  return { task, end: (fail = false) => open(fail) };
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the request queue', () => {
  it('runs at most two at once, the others in the order given as those end, a failed one ending too', async () => {
    const limit = limiter(2);
    const running = { now: 0, most: 0 };
    const order: number[] = [];
    const tasks = [0, 1, 2, 3, 4].map((n) => gated(running, order, n));
    const results = tasks.map((t) => limit(t.task).catch((error: Error) => error.message));
    await turn();
    expect(order).toEqual([0, 1]);
    tasks[1]!.end(true);
    await turn();
    // A task queued now waits behind those queued before it.
    const late = gated(running, order, 5);
    const lateResult = limit(late.task);
    await turn();
    expect(order).toEqual([0, 1, 2]);
    for (const n of [0, 2, 3, 4]) {
      tasks[n]!.end();
      await turn();
    }
    late.end();
    expect(await Promise.all(results)).toEqual([0, 'task 1 failed', 2, 3, 4]);
    expect(await lateResult).toBe(5);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(running.most).toBe(2);
  });
});
