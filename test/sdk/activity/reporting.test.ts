import type { LogRecord } from '@opentelemetry/api-logs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startReporting } from '../../../sdk/activity/reporting.js';
import { NOTHING_HELD, type DeliveryStats } from '../../../sdk/delivery/delivery-stats.js';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';

const CONFIG = { endpoint: 'http://127.0.0.1:4318', spoolDir: '/var/spool/pipemon' };

function setup(everyMs = 10_000) {
  let stats: DeliveryStats = NOTHING_HELD;
  const emitted: LogRecord[] = [];
  const said: string[] = [];
  const reporting = startReporting({
    config: CONFIG,
    stats: () => stats,
    logger: { emit: (record) => void emitted.push(record) },
    everyMs,
    say: (text) => void said.push(text),
  });
  const set = (more: Partial<DeliveryStats>) => (stats = { ...stats, ...more });
  return { reporting, emitted, said, set };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('reporting drops', () => {
  it('emits one WARN record with the records dropped since the last report, and none without new drops', () => {
    const { reporting, emitted, set } = setup();
    reporting.drops();
    expect(emitted).toEqual([]);
    set({ dropped: 5 });
    reporting.drops();
    set({ dropped: 7 });
    reporting.drops();
    reporting.drops();
    reporting.stop();
    expect(emitted.map((r) => [r.eventName, r.severityText, r.attributes?.[ATTR.droppedRecords]])).toEqual([
      [EVENT.sdkDropped, 'WARN', 5],
      [EVENT.sdkDropped, 'WARN', 2],
    ]);
    expect(emitted[1]!.body).toBe('pipemon SDK dropped 2 records (memory or spool full, or refused as malformed)');
  });

  it('reports every `everyMs` until stopped', () => {
    vi.useFakeTimers();
    const { reporting, emitted, set } = setup(1_000);
    set({ dropped: 3 });
    vi.advanceTimersByTime(999);
    expect(emitted).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(emitted).toHaveLength(1);
    reporting.stop();
    set({ dropped: 4 });
    vi.advanceTimersByTime(5_000);
    expect(emitted).toHaveLength(1);
  });
});

describe('the final report', () => {
  it('says what was left behind once, and returns the report every time', () => {
    const { reporting, said, set } = setup();
    set({ undelivered: 12, spooledBytes: 2048 });
    const first = reporting.final();
    const second = reporting.final();
    reporting.stop();
    expect(first).toMatchObject({ undelivered: 12, spoolDir: CONFIG.spoolDir, message: expect.stringContaining('12') });
    expect(second).toEqual(first);
    expect(said).toEqual([`${first.message}\n`]);
  });

  it('says nothing when everything was delivered', () => {
    const { reporting, said, set } = setup();
    set({ delivered: 40 });
    expect(reporting.final()).toMatchObject({ delivered: 40, message: null });
    reporting.stop();
    expect(said).toEqual([]);
  });
});
