/**
 * The one statement of how facts about a run combine (receiver/model/runs.ts): merge() gives the same
 * run whatever order the facts come in, and settle() / reportedDuration() store and read back a start
 * and a duration without losing whether they were reported, estimated or measured.
 */
import { describe, expect, it } from 'vitest';
import { ATTR, ERROR_TYPE } from '../../../contract/vocabulary.js';
import { END_ORDER, merge, reopened, reportedDuration, reportedOf, rollUp, settle, unrecoveredFailures, type RunFacts } from '../../../receiver/model/runs.js';
import { runFacts as run, stageFacts as stage } from '../../helpers/run-facts.js';

const T0 = Date.UTC(2026, 10, 30, 8, 0, 0);

/** A run's records as derive.ts turns them into facts: start, heartbeats, end (without a duration), late heartbeat. */
const FACTS: Record<string, RunFacts> = {
  start: run({ startedAtMs: T0, traceId: 'a'.repeat(32), serviceName: 'orders-etl', attributes: { phase: 'start' } }),
  heartbeat: run({ lastSeenMs: T0 + 30_000, rowsRead: 40, traceId: 'b'.repeat(32) }),
  end: run({
    state: 'ended',
    result: 'failure',
    endedAtMs: T0 + 90_000,
    rowsRead: 100,
    rowsWritten: 90,
    errorType: 'TimeoutError',
    errorMessage: 'upstream took too long',
    traceId: 'b'.repeat(32),
    attributes: { phase: 'end' },
  }),
  lateHeartbeat: run({ lastSeenMs: T0 + 95_000, rowsRead: 60 }),
};

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

const fold = (facts: RunFacts[]) => facts.reduce((a, b) => merge(a, b));

describe('merge()', () => {
  const orders = permutations(Object.keys(FACTS));
  const expected = fold(Object.values(FACTS));

  it('ends a run that started, beat and ended, with what its end said', () => {
    expect(expected).toMatchObject({
      state: 'ended',
      result: 'failure',
      startedAtMs: T0,
      endedAtMs: T0 + 90_000,
      rowsRead: 100,
      rowsWritten: 90,
      errorType: 'TimeoutError',
      errorMessage: 'upstream took too long',
      serviceName: 'orders-etl',
      lastSeenMs: T0 + 95_000,
      // The start's trace, even though later records came from another.
      traceId: 'a'.repeat(32),
      attributes: { phase: 'end' },
    });
    expect(settle(expected)).toEqual({ startedAtMs: T0, startEstimated: false, durationSeconds: 90 });
  });

  it.each(orders.map((order) => [order.join(' → '), order]))('gives the same run in the order %s', (_name, order) => {
    const merged = fold(order.map((key) => FACTS[key]!));
    expect(merged).toEqual(expected);
    expect(settle(merged)).toEqual(settle(expected));
  });

  it('gives the same run however the facts are grouped (batches merge before the stored row does)', () => {
    const { start, heartbeat, end, lateHeartbeat } = FACTS as Record<string, RunFacts>;
    expect(merge(merge(end!, lateHeartbeat!), merge(heartbeat!, start!))).toEqual(expected);
    expect(merge(start!, merge(end!, merge(lateHeartbeat!, heartbeat!)))).toEqual(expected);
  });

  it('keeps a failure when a success end comes after it (FAIL then COMPLETE), and its error', () => {
    const failed = run({ state: 'ended', result: 'failure', endedAtMs: T0 + 1000, errorType: 'E', errorMessage: 'bad row 3' });
    const completed = run({ state: 'ended', result: 'success', endedAtMs: T0 + 1009 });
    for (const merged of [merge(failed, completed), merge(completed, failed)]) {
      expect(merged).toMatchObject({ result: 'failure', endedAtMs: T0 + 1009, errorType: 'E', errorMessage: 'bad row 3' });
    }
  });

  it('lets the stronger of two ends decide in END_ORDER, then the later one, in every order', () => {
    for (const [i, weaker] of END_ORDER.entries()) {
      for (const stronger of END_ORDER.slice(i)) {
        const early = run({ state: 'ended', result: stronger, endedAtMs: T0 + 1000, errorMessage: 'early' });
        const late = run({ state: 'ended', result: weaker, endedAtMs: T0 + 2000, errorMessage: 'late' });
        const message = stronger === weaker ? 'late' : 'early';
        for (const merged of [merge(early, late), merge(late, early)]) expect([weaker, stronger, merged.result, merged.errorMessage]).toEqual([weaker, stronger, stronger, message]);
      }
    }
  });

  it('lets a reported end decide over the one the SDK inferred for a process that died, in either order', () => {
    const reported = run({ state: 'ended', result: 'success', endedAtMs: T0 + 2000 });
    const inferred = run({ state: 'ended', result: 'error', endedAtMs: T0 + 1000, errorType: ERROR_TYPE.processDied });
    for (const merged of [merge(reported, inferred), merge(inferred, reported)]) expect(merged).toMatchObject({ result: 'success', errorType: null });
    expect(merge(inferred, run({ startedAtMs: T0 }))).toMatchObject({ result: 'error', errorType: ERROR_TYPE.processDied });
  });

  it("completes a failure's error from its other failed end, never a success's from a failure", () => {
    const log = run({ state: 'ended', result: 'failure', endedAtMs: T0 + 1000, errorMessage: 'bad row 3' });
    const span = run({ state: 'ended', result: 'failure', endedAtMs: T0 + 1001, errorType: 'ValueError', durationSeconds: 1 });
    for (const merged of [merge(log, span), merge(span, log)]) expect(merged).toMatchObject({ errorType: 'ValueError', errorMessage: 'bad row 3', durationSeconds: 1 });
    const skipped = run({ state: 'ended', result: 'skip', endedAtMs: T0 + 2000 });
    const cancelled = run({ state: 'ended', result: 'cancellation', endedAtMs: T0 + 1000, errorMessage: 'stopped by a user' });
    for (const merged of [merge(skipped, cancelled), merge(cancelled, skipped)]) expect(merged).toMatchObject({ result: 'cancellation', errorMessage: 'stopped by a user' });
  });

  it('keeps the earliest start hint a producer carried', () => {
    const a = run({ startHintMs: T0 + 5000 });
    const b = run({ startHintMs: T0 });
    for (const merged of [merge(a, b), merge(b, a)]) expect(merged.startHintMs).toBe(T0);
  });

  it('merges stages by the same rules', () => {
    const start = stage({ startedAtMs: T0 });
    const end = stage({ state: 'ended', result: 'success', endedAtMs: T0 + 5000, durationSeconds: 4.5, rowsWritten: 7 });
    for (const merged of [merge(start, end), merge(end, start)]) {
      expect(merged).toMatchObject({ state: 'ended', result: 'success', startedAtMs: T0, endedAtMs: T0 + 5000, durationSeconds: 4.5, rowsWritten: 7 });
    }
  });
});

describe('rollUp()', () => {
  const ended = run({ state: 'ended', result: 'success', startedAtMs: T0, endedAtMs: T0 + 60_000 });
  const failedLoad = stage({ state: 'ended', result: 'failure', startedAtMs: T0 + 10_000, endedAtMs: T0 + 20_000, errorType: 'ValueError', errorMessage: 'ValueError: warehouse refused 2 rows' });

  it("fails an ended run whose stage failed, with that stage's error, and keeps what the run reported", () => {
    const shown = rollUp(ended, [failedLoad]);
    expect(shown.facts).toMatchObject({ result: 'failure', errorType: 'ValueError', errorMessage: 'ValueError: warehouse refused 2 rows' });
    expect(reportedOf(ended, shown)).toEqual({ result: 'success', errorType: null, errorMessage: null });
  });

  it('leaves a running run running, whatever its stages did', () => {
    const running = run({ startedAtMs: T0 });
    expect(rollUp(running, [failedLoad]).facts).toEqual(running);
  });

  it('does not fail a run for a stage whose failure was tolerated, or that a later attempt recovered', () => {
    const tolerated = { ...failedLoad, attributes: { [ATTR.failureAllowed]: true } };
    const retried = stage({ stageRunId: 's-2', state: 'ended', result: 'success', startedAtMs: T0 + 30_000, endedAtMs: T0 + 40_000 });
    expect(rollUp(ended, [tolerated]).facts.result).toBe('success');
    expect(rollUp(ended, [failedLoad, retried]).facts.result).toBe('success');
    expect(rollUp(ended, [retried, failedLoad]).facts.result).toBe('success');
    expect(unrecoveredFailures([{ ...retried, result: 'error' }, failedLoad])).toEqual([{ ...retried, result: 'error' }]);
  });

  it("says its first failed stage's error when the run's own is generic, and keeps its own when it says more", () => {
    const generic = { ...ended, result: 'failure' as const, errorType: 'task_failure', errorMessage: 'task_failure' };
    expect(rollUp(generic, [failedLoad]).facts).toMatchObject({ result: 'failure', errorType: 'ValueError', errorMessage: 'ValueError: warehouse refused 2 rows' });
    const own = { ...generic, errorMessage: 'the DAG timed out waiting for load' };
    expect(rollUp(own, [failedLoad]).facts).toMatchObject({ errorType: 'task_failure', errorMessage: 'the DAG timed out waiting for load' });
  });

  it('sums the rows of its stages when it reported none, and keeps its own when it did', () => {
    const stages = [stage({ rowsWritten: 5, rowsRead: 7 }), stage({ stageRunId: 's-2', rowsWritten: 3 })];
    expect(rollUp(ended, stages).facts).toMatchObject({ rowsRead: 7, rowsWritten: 8, rowsRejected: null });
    expect(rollUp({ ...ended, rowsWritten: 2 }, stages).facts.rowsWritten).toBe(2);
  });

  it('starts a run with no start record at its earliest stage or start hint, estimated, and measures its duration', () => {
    const noStart = run({ state: 'ended', result: 'failure', endedAtMs: T0 + 60_000, startHintMs: T0 + 5000 });
    expect(rollUp(noStart, [failedLoad]).settled).toEqual({ startedAtMs: T0 + 5000, startEstimated: true, durationSeconds: 55 });
    expect(rollUp({ ...noStart, startHintMs: null }, [failedLoad]).settled).toEqual({ startedAtMs: T0 + 10_000, startEstimated: true, durationSeconds: 50 });
    expect(rollUp(noStart, []).settled.startedAtMs).toBe(T0 + 5000);
    expect(rollUp(ended, [failedLoad]).settled).toEqual(settle(ended));
  });

  it("closes the stages still open when the run ended, with no result, and reads them back as open", () => {
    const open = stage({ stageRunId: 's-open', startedAtMs: T0 + 1000 });
    const [closed] = rollUp(ended, [open, failedLoad]).closed;
    expect(closed).toMatchObject({ state: 'ended', result: null, endedAtMs: T0 + 60_000, errorType: ERROR_TYPE.noEndReported });
    expect(reopened(closed!)).toEqual(open);
    expect(settle(closed!)).toEqual({ startedAtMs: T0 + 1000, startEstimated: false, durationSeconds: null });
    expect(rollUp(run({ startedAtMs: T0 }), [open]).closed).toEqual([]);
    // A closed stage fails nothing: it reported no result.
    expect(rollUp(ended, [open]).facts.result).toBe('success');
  });
});

describe('settle() and reportedDuration()', () => {
  it('estimates the start of a run seen only by its end, from its reported duration, and says so', () => {
    expect(settle(run({ state: 'ended', endedAtMs: T0 + 60_000, durationSeconds: 45 }))).toEqual({
      startedAtMs: T0 + 15_000,
      startEstimated: true,
      durationSeconds: 45,
    });
    expect(settle(run({ state: 'ended', endedAtMs: T0 + 60_000 }))).toEqual({ startedAtMs: T0 + 60_000, startEstimated: true, durationSeconds: null });
    expect(settle(run({ lastSeenMs: T0 + 5000 }))).toEqual({ startedAtMs: T0 + 5000, startEstimated: true, durationSeconds: null });
  });

  it('measures a duration nobody reported once start and end are known, and keeps a reported one', () => {
    expect(settle(run({ startedAtMs: T0, endedAtMs: T0 + 2500 })).durationSeconds).toBe(2.5);
    expect(settle(run({ startedAtMs: T0, endedAtMs: T0 + 2500, durationSeconds: 2.4 })).durationSeconds).toBe(2.4);
  });

  it('reads a stored duration back as reported only when it is not end minus start', () => {
    const stored = { startedAtMs: T0, startEstimated: false, endedAtMs: T0 + 2500 };
    expect(reportedDuration({ ...stored, durationSeconds: 2.5 })).toBeNull();
    expect(reportedDuration({ ...stored, durationSeconds: 2.4 })).toBe(2.4);
    expect(reportedDuration({ ...stored, startEstimated: true, durationSeconds: 2.5 })).toBe(2.5);
  });
});
