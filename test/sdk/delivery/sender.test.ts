import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../sdk/delivery/backoff.js';
import { createSender } from '../../../sdk/delivery/sender.js';
import { openSpool } from '../../../sdk/spool/spool.js';
import { sortAnswer, type Outcome, type Transport } from '../../../sdk/delivery/transport.js';
import { tempDir } from '../../helpers/temp.js';

/** An HTTP status answered with each kind, so that the script's outcomes are the transport's own. */
const STATUS_OF: Record<Outcome['kind'], number> = { ok: 200, refused: 400, retry: 503 };

/** A real spool, a transport answering from a script, and timers run by hand. */
function setup(answers: Outcome['kind'][]) {
  const spool = openSpool({ dir: tempDir('pipemon-sender-'), maxBytes: 1_000_000 });
  const sent: number[][] = [];
  const transport: Transport = {
    async send(_signal, body) {
      sent.push([...body]);
      return sortAnswer(STATUS_OF[answers.shift() ?? 'ok'], null);
    },
    close: () => undefined,
  };
  const timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  const sender = createSender({
    spool,
    transport,
    flushMs: 1_000,
    maxRequestBytes: 1_000_000,
    pause: new Backoff({ minMs: 100, maxMs: 1_000, random: () => 0.5 }),
    setTimer: (fn, ms) => {
      const timer = { fn, ms, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
  });
  const pending = () => timers.filter((t) => !t.cancelled).map((t) => t.ms);
  const fire = async () => {
    for (const t of timers.filter((t) => !t.cancelled)) {
      t.cancelled = true;
      t.fn();
    }
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { spool, sender, sent, pending, fire };
}

describe('the sender', () => {
  it('sends kept records at once and ordinary ones within flushMs', async () => {
    const { spool, sender, sent, pending, fire } = setup([]);
    spool.append('logs', false, 1, new Uint8Array([1]));
    sender.wake(false);
    expect(pending()).toEqual([1_000]);
    spool.append('logs', true, 1, new Uint8Array([2]));
    sender.wake(true);
    expect(pending()).toEqual([0]);
    await fire();
    expect(sent).toEqual([[2], [1]]);
    expect(spool.stats().segments).toBe(0);
  });

  it('marks the receiver down after a retry answer, keeps the batch, and tries again after a growing pause', async () => {
    const { spool, sender, sent, pending, fire } = setup(['retry', 'retry', 'ok']);
    spool.append('logs', true, 1, new Uint8Array([7]));
    sender.wake(true);
    await fire();
    expect(sender.down).toBe(true);
    expect(pending()).toEqual([100]);
    // While down, new records wait for the backoff rather than hammering the receiver.
    spool.append('logs', true, 1, new Uint8Array([8]));
    sender.wake(true);
    expect(pending()).toEqual([100]);
    await fire();
    expect(pending()).toEqual([150]);
    await fire();
    expect(sender.down).toBe(false);
    // The second record joined the first's segment: one request for both, the first's bytes unchanged.
    expect(sent).toEqual([[7], [7, 8], [7, 8]]);
    expect(spool.stats()).toMatchObject({ segments: 0, dropped: 0 });
  });

  it('drops what the receiver refuses, counted, and goes on with the rest', async () => {
    const { spool, sender, sent } = setup(['refused']);
    spool.append('logs', true, 4, new Uint8Array([1]));
    spool.append('logs', false, 1, new Uint8Array([2]));
    await sender.drain(Date.now() + 5_000);
    expect(sent).toEqual([[1], [2]]);
    expect(spool.stats().dropped).toBe(4);
    expect(sender.down).toBe(false);
  });

  it('drains until the spool is empty, and stops passes once stopped', async () => {
    const { spool, sender, sent, pending } = setup([]);
    for (let i = 0; i < 5; i++) spool.append('traces', i % 2 === 0, 1, new Uint8Array([i]));
    await sender.drain(Date.now() + 5_000);
    expect(sent.flat().sort()).toEqual([0, 1, 2, 3, 4]);
    sender.stop();
    sender.wake(true);
    expect(pending()).toEqual([]);
  });
});
