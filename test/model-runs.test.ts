/**
 * The one statement of how facts about a run combine (receiver/model/runs.ts): merge() gives the same
 * run whatever order the facts come in, and settle() / reportedDuration() store and read back a start
 * and a duration without losing whether they were reported, estimated or measured.
 */
import { describe, expect, it } from 'vitest';
import { merge, reportedDuration, settle, type RunFacts, type StageFacts } from '../receiver/model/runs.js';

const T0 = Date.UTC(2026, 10, 30, 8, 0, 0);

function run(facts: Partial<RunFacts>): RunFacts {
  return {
    runId: 'r-1',
    pipeline: 'orders',
    state: 'running',
    result: null,
    startedAtMs: null,
    endedAtMs: null,
    durationSeconds: null,
    rowsRead: null,
    rowsWritten: null,
    rowsRejected: null,
    errorType: null,
    errorMessage: null,
    targetNamespace: null,
    targetCollection: null,
    attributes: {},
    serviceName: null,
    environment: null,
    sourceSystem: null,
    traceId: null,
    lastSeenMs: facts.endedAtMs ?? facts.startedAtMs ?? T0,
    ...facts,
  };
}

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

  it('lets the latest end decide the result when a run reports two ends', () => {
    const first = run({ state: 'ended', result: 'failure', endedAtMs: T0 + 1000, errorType: 'E' });
    const second = run({ state: 'ended', result: 'success', endedAtMs: T0 + 2000 });
    for (const merged of [merge(first, second), merge(second, first)]) {
      expect(merged).toMatchObject({ result: 'success', endedAtMs: T0 + 2000, errorType: 'E' });
    }
  });

  it('merges stages by the same rules', () => {
    const stage = (facts: Partial<StageFacts>): StageFacts => {
      const { serviceName: _s, environment: _e, sourceSystem: _o, traceId: _t, lastSeenMs: _l, ...common } = run({});
      return { ...common, stageRunId: 's-1', stage: 'load', spanId: null, ...facts };
    };
    const start = stage({ startedAtMs: T0 });
    const end = stage({ state: 'ended', result: 'success', endedAtMs: T0 + 5000, durationSeconds: 4.5, rowsWritten: 7 });
    for (const merged of [merge(start, end), merge(end, start)]) {
      expect(merged).toMatchObject({ state: 'ended', result: 'success', startedAtMs: T0, endedAtMs: T0 + 5000, durationSeconds: 4.5, rowsWritten: 7 });
    }
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
