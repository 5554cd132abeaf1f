import { afterEach, describe, expect, it } from 'vitest';
import { installExitHooks, type ExitHooks } from '../../../sdk/activity/exit-hooks.js';
import { NOTHING_HELD, type DeliveryStats } from '../../../sdk/delivery/delivery-stats.js';

const EVENTS = ['beforeExit', 'exit', 'SIGTERM', 'SIGINT'] as const;
type HookEvent = (typeof EVENTS)[number];

type Listener = (...args: unknown[]) => void;
const listenersOf = (event: HookEvent) => (process.listeners as (event: string) => Listener[])(event);

/** The listeners added to `process` by `install`, by event. */
function added(install: () => ExitHooks) {
  const before = new Map(EVENTS.map((event) => [event, new Set(listenersOf(event))]));
  const hooks = install();
  const listener = (event: HookEvent) => listenersOf(event).filter((l) => !before.get(event)!.has(l));
  return { hooks, listener };
}

function setup(stats: Partial<DeliveryStats> = {}) {
  const calls: string[] = [];
  const instance = {
    stats: () => ({ ...NOTHING_HELD, ...stats }),
    flush: async () => void calls.push('flush'),
    shutdown: async () => void calls.push('shutdown'),
  };
  const { hooks, listener } = added(() => installExitHooks(instance, { spoolNow: () => void calls.push('spoolNow') }, () => calls.push('report')));
  return { hooks, listener, calls };
}

let installed: ExitHooks[] = [];
afterEach(() => {
  for (const hooks of installed) {
    hooks.removeSignals();
    hooks.removeExit();
  }
  installed = [];
});

describe('exit hooks', () => {
  it('listen to beforeExit, exit, SIGTERM and SIGINT; removeSignals takes all but exit away, removeExit the last', () => {
    const { hooks, listener } = setup();
    installed.push(hooks);
    expect(EVENTS.map((event) => listener(event).length)).toEqual([1, 1, 1, 1]);
    hooks.removeSignals();
    expect(EVENTS.map((event) => listener(event).length)).toEqual([0, 1, 0, 0]);
    hooks.removeExit();
    expect(EVENTS.map((event) => listener(event).length)).toEqual([0, 0, 0, 0]);
  });

  it('at exit, spool what is in memory, then report', () => {
    const { hooks, listener, calls } = setup();
    installed.push(hooks);
    listener('exit')[0]!();
    expect(calls).toEqual(['spoolNow', 'report']);
  });

  it('before exit, flush records still to send, unless the receiver is down', () => {
    const cases: [Partial<DeliveryStats>, string[]][] = [
      [{}, []],
      [{ queued: 2 }, ['flush']],
      [{ spooledBatches: 1 }, ['flush']],
      [{ spooledBatches: 1, receiverDown: true }, []],
    ];
    for (const [stats, expected] of cases) {
      const { hooks, listener, calls } = setup(stats);
      installed.push(hooks);
      listener('beforeExit')[0]!();
      expect(calls, JSON.stringify(stats)).toEqual(expected);
    }
  });

  it('on a signal another listener also handles, shut the instance down and leave the process to that listener', async () => {
    // With another listener the hook must not re-raise the signal (which would end this test process).
    const other = () => undefined;
    process.on('SIGTERM', other);
    try {
      const { hooks, listener, calls } = setup();
      installed.push(hooks);
      listener('SIGTERM')[0]!('SIGTERM');
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls).toEqual(['shutdown']);
    } finally {
      process.off('SIGTERM', other);
    }
  });
});
