import { describe, expect, it } from 'vitest';
import { Appender } from '../../../sdk/spool/appender.js';
import { SegmentNamer } from '../../../sdk/spool/segment-name.js';
import { SegmentTable } from '../../../sdk/spool/segment-table.js';
import type { SegmentWriter } from '../../../sdk/spool/segment-store.js';

/** A store whose files are arrays of record counts; `refuse` makes creating or appending fail. */
function fakeDisk() {
  const disk = {
    files: new Map<string, number[]>(),
    closed: [] as string[],
    refuse: { create: false, append: false },
    create(name: string): SegmentWriter | null {
      if (disk.refuse.create) return null;
      const file: number[] = [];
      disk.files.set(name, file);
      return {
        append: (records) => !disk.refuse.append && file.push(records) > 0,
        close: () => void disk.closed.push(name),
      };
    },
  };
  return disk;
}

function appenderOn(disk: ReturnType<typeof fakeDisk>, segmentBytes = 1000) {
  const table = new SegmentTable({ remove: () => undefined });
  const appender = new Appender(disk, new SegmentNamer({ pid: 1, instance: '0a1b2c3d' }, () => 1_700_000_000_000), table, segmentBytes);
  return { table, appender };
}

const body = new Uint8Array(10);

describe('the appender', () => {
  it('keeps one active segment per signal and kind', () => {
    const disk = fakeDisk();
    const { appender, table } = appenderOn(disk);
    for (const [signal, keep] of [['logs', false], ['logs', true], ['traces', false], ['logs', false]] as const) {
      expect(appender.append(signal, keep, 1, body, 19)).toBe(true);
    }
    expect([...disk.files.values()]).toEqual([[1, 1], [1], [1]]);
    expect([...disk.files.keys()].map((name) => name.split('-').slice(-2).join('-'))).toEqual(['logs-n.wal', 'logs-e.wal', 'traces-n.wal']);
    expect(table.diskBytes).toBe(4 * 19);
  });

  it('closes a segment once it holds segmentBytes, letting go of its frames, and starts a new one', () => {
    const disk = fakeDisk();
    const { appender, table } = appenderOn(disk, 38);
    for (let i = 0; i < 3; i++) appender.append('logs', false, 1, body, 19);
    expect([...disk.files.values()]).toEqual([[1, 1], [1]]);
    const [first, second] = [...table];
    expect([first!.writer, first!.frames, disk.closed]).toEqual([null, null, [first!.name]]);
    expect(second!.writer).not.toBeNull();
  });

  it('answers false when the disk refuses a new file, or an append (then the next append tries a new file)', () => {
    const disk = fakeDisk();
    const { appender } = appenderOn(disk);
    disk.refuse.create = true;
    expect(appender.append('logs', true, 1, body, 19)).toBe(false);
    disk.refuse.create = false;
    disk.refuse.append = true;
    expect(appender.append('logs', true, 1, body, 19)).toBe(false);
    disk.refuse.append = false;
    expect(appender.append('logs', true, 1, body, 19)).toBe(true);
    expect([...disk.files.values()]).toEqual([[], [1]]);
    expect(disk.closed).toHaveLength(1);
  });

  it('starts a new segment when the active one was forgotten (evicted, or delivered in full)', () => {
    const disk = fakeDisk();
    const { appender, table } = appenderOn(disk);
    appender.append('logs', false, 1, body, 19);
    table.forget([...table][0]!);
    appender.append('logs', false, 1, body, 19);
    expect([...disk.files.values()]).toEqual([[1], [1]]);
    expect([...table]).toHaveLength(1);
  });

  it('closes every active segment at close', () => {
    const disk = fakeDisk();
    const { appender, table } = appenderOn(disk);
    appender.append('logs', false, 1, body, 19);
    appender.append('traces', true, 1, body, 19);
    appender.close();
    expect(disk.closed).toHaveLength(2);
    expect([...table].every((segment) => segment.writer === null && segment.frames === null)).toBe(true);
  });
});
