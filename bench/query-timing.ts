/**
 * Latency of a query repeated with varied parameters, after two untimed runs (plans cached, pages in
 * memory: the warm case a dashboard refreshing every few seconds sees).
 */

export interface Latency {
  p50_ms: number;
  p95_ms: number;
  reps: number;
}

const WARM_RUNS = 2;
/** Fewer repetitions than asked when a query is slow, so one slow query does not hold up the bench. */
const MIN_REPS = 5;

/** Nearest rank, as the p95 of 30 repetitions is their second slowest. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** `run(i)` for i = 0, 1, ... up to `reps` times, or fewer once `budgetMs` is spent (at least `minReps`). */
export async function latency(run: (i: number) => Promise<unknown>, reps: number, budgetMs: number, warm = WARM_RUNS, minReps = MIN_REPS): Promise<Latency> {
  for (let i = 0; i < warm; i++) await run(i);
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < reps && (i < minReps || performance.now() - started < budgetMs); i++) {
    const at = performance.now();
    await run(i);
    times.push(performance.now() - at);
  }
  times.sort((a, b) => a - b);
  return { p50_ms: round(percentile(times, 0.5)), p95_ms: round(percentile(times, 0.95)), reps: times.length };
}
