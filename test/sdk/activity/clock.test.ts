import { trace, type HrTime } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import { LoggerProvider, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, observedAfter } from '../../../sdk/activity/clock.js';
import { run, TimeoutError } from '../../../sdk/activity/run.js';
import { shutdown, start } from '../../../sdk/activity/telemetry.js';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';

// Records and spans as the SDK hands them to the application's providers, kept in memory.
const records: ReadableLogRecord[] = [];
const spans: ReadableSpan[] = [];
const T0 = Date.UTC(2024, 2, 1, 6, 0, 0);
const ms = (time: HrTime | undefined) => hrTimeToMilliseconds(time!);
const event = (name: string) => records.filter((record) => record.eventName === name);
const spanNamed = (name: string) => spans.find((span) => span.name === name)!;

beforeAll(() => {
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({
      spanProcessors: [{ onStart: () => undefined, onEnd: (span) => void spans.push(span), forceFlush: async () => undefined, shutdown: async () => undefined }],
    }),
  );
  logs.setGlobalLoggerProvider(
    new LoggerProvider({ processors: [{ onEmit: (record) => void records.push(record), forceFlush: async () => undefined, shutdown: async () => undefined }] }),
  );
  expect(start({ useGlobalProviders: true }).usingGlobalProviders).toBe(true);
});

afterAll(async () => {
  await shutdown(1_000);
  trace.disable();
  logs.disable();
});

beforeEach(() => {
  records.length = 0;
  spans.length = 0;
});

describe('a run on an injected clock', () => {
  it('puts the clock\'s times on its records and spans, and its durations on their ends', async () => {
    const clock = new ManualClock(T0);
    await run('orders', { clock, heartbeatSeconds: 0 }, async (r) => {
      clock.advance(5_000);
      await r.stage('load', async (s) => {
        clock.advance(90_000);
        s.check('null_ratio', false);
        s.log.info('loaded');
        clock.advance(1_500);
      });
      clock.advance(500);
    });

    expect(event(EVENT.runStart).map((record) => ms(record.hrTime))).toEqual([T0]);
    expect(event(EVENT.stageStart).map((record) => ms(record.hrTime))).toEqual([T0 + 5_000]);
    expect(event(EVENT.check).map((record) => ms(record.hrTime))).toEqual([T0 + 95_000]);
    expect(records.find((record) => record.body === 'loaded')!.hrTime).toEqual([(T0 + 95_000) / 1000, 0]);
    const [stageEnd] = event(EVENT.stageEnd);
    expect(ms(stageEnd!.hrTime)).toBe(T0 + 96_500);
    expect(stageEnd!.attributes[ATTR.durationSeconds]).toBe(91.5);
    const [runEnd] = event(EVENT.runEnd);
    expect(ms(runEnd!.hrTime)).toBe(T0 + 97_000);
    expect(runEnd!.attributes[ATTR.durationSeconds]).toBe(97);

    const stage = spanNamed('load');
    expect([ms(stage.startTime), ms(stage.endTime)]).toEqual([T0 + 5_000, T0 + 96_500]);
    expect(stage.attributes[ATTR.durationSeconds]).toBe(91.5);
    expect(stage.events.map((e) => [e.name, ms(e.time)])).toEqual([[EVENT.check, T0 + 95_000]]);
    const runSpan = spanNamed('orders');
    expect([ms(runSpan.startTime), ms(runSpan.endTime)]).toEqual([T0, T0 + 97_000]);
    expect(stage.parentSpanContext?.spanId).toBe(runSpan.spanContext().spanId);
  });

  it('gives records made at one instant observed times a nanosecond apart, so none is a copy of another', async () => {
    const clock = new ManualClock(T0);
    await run('orders', { clock, heartbeatSeconds: 0 }, (r) => {
      r.log.info('one');
      r.log.info('two');
    });
    expect(records.map((record) => record.hrTime)).toEqual(Array(4).fill([T0 / 1000, 0]));
    expect(records.map((record) => record.hrTimeObserved)).toEqual([0, 1, 2, 3].map((nanos) => [T0 / 1000, nanos]));
  });

  it('beats as the clock passes each interval, with the time elapsed, and not after the end', async () => {
    const clock = new ManualClock(T0);
    await run('slow', { clock, heartbeatSeconds: 60 }, async () => {
      clock.advance(150_000);
    });
    clock.advance(600_000);
    const beats = event(EVENT.runHeartbeat);
    expect(beats.map((record) => ms(record.hrTime))).toEqual([T0 + 60_000, T0 + 120_000]);
    expect(beats.map((record) => record.attributes[ATTR.durationSeconds])).toEqual([60, 120]);
    expect(beats.map((record) => record.body)).toEqual(['run running for 60s: slow', 'run running for 120s: slow']);
  });

  it('times a stage out when the clock passes its timeout, without waiting for it', async () => {
    const clock = new ManualClock(T0);
    const outcome = run('stuck', { clock, heartbeatSeconds: 0 }, (r) => r.stage('fetch', { timeoutMs: 30_000 }, () => new Promise(() => undefined)));
    clock.advance(29_999);
    expect(event(EVENT.stageEnd)).toEqual([]);
    clock.advance(1);
    await expect(outcome).rejects.toBeInstanceOf(TimeoutError);
    const [stageEnd] = event(EVENT.stageEnd);
    expect(stageEnd!.attributes).toMatchObject({ [ATTR.stageResult]: 'timeout', [ATTR.durationSeconds]: 30 });
    expect(ms(stageEnd!.hrTime)).toBe(T0 + 30_000);
    expect(ms(spanNamed('fetch').endTime)).toBe(T0 + 30_000);
  });

  it('records a failure\'s exception at the clock\'s time', async () => {
    const clock = new ManualClock(T0);
    await expect(
      run('failing', { clock, heartbeatSeconds: 0 }, async () => {
        clock.advance(2_000);
        throw new RangeError('no rows');
      }),
    ).rejects.toThrow('no rows');
    const runSpan = spanNamed('failing');
    expect(runSpan.events.map((e) => [e.name, ms(e.time)])).toEqual([['exception', T0 + 2_000]]);
    expect(event(EVENT.runEnd)[0]!.attributes).toMatchObject({ [ATTR.runResult]: 'failure', [ATTR.durationSeconds]: 2 });
  });
});

describe('ManualClock', () => {
  it('fires each timer at its own instant as it passes, in time order, until cancelled', () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    const stopBeat = clock.every(100, () => fired.push(`beat@${clock.now()}`));
    clock.after(250, () => fired.push(`once@${clock.now()}`));
    const cancelled = clock.after(150, () => fired.push('cancelled'));
    cancelled();
    clock.advance(320);
    expect(fired).toEqual(['beat@1100', 'beat@1200', 'once@1250', 'beat@1300']);
    expect(clock.now()).toBe(1_320);
    stopBeat();
    clock.advance(1_000);
    expect(fired).toHaveLength(4);
  });

  it('fires a timer set by another on the same advance, and never goes back', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.after(10, () => clock.after(5, () => fired.push(clock.now())));
    clock.advance(20);
    expect(fired).toEqual([15]);
    clock.advance(-50);
    expect(clock.now()).toBe(20);
    expect(() => clock.every(0, () => undefined)).toThrow(RangeError);
  });
});

describe('observedAfter', () => {
  it('keeps a later time, and moves one that is not a nanosecond past the previous, into the next second if need be', () => {
    expect(observedAfter([10, 5], [10, 6])).toEqual([10, 6]);
    expect(observedAfter([10, 5], [10, 5])).toEqual([10, 6]);
    expect(observedAfter([10, 5], [9, 999])).toEqual([10, 6]);
    expect(observedAfter([10, 999_999_999], [10, 0])).toEqual([11, 0]);
  });
});
