import { describe, expect, it } from 'vitest';
import { legacyBatchFrames, parseLegacyBatchName } from '../../../sdk/spool/legacy-batch.js';

describe('batch files of the earlier spool', () => {
  it('reads the signal, kind and record count from the name', () => {
    expect(parseLegacyBatchName('1700000000000-12-3-traces-e-250.otlp')).toEqual({ signal: 'traces', keep: true, records: 250 });
    expect(parseLegacyBatchName('1700000000000-12-3-logs-n-7.otlp')).toEqual({ signal: 'logs', keep: false, records: 7 });
  });

  it('takes no segment, temporary or other file for one', () => {
    for (const name of ['1700000000000-12-0a1b2c3d-3-logs-n.wal', '1700000000000-12-3-logs-n-7.otlp.tmp', '1700000000000-12-3-logs-n.otlp', 'open-runs']) {
      expect(parseLegacyBatchName(name), name).toBeNull();
    }
  });

  it('is one frame: the whole content as the body, unchanged, with the count from the name', () => {
    const content = Buffer.from([0x50, 1, 2, 3]);
    const frames = legacyBatchFrames({ signal: 'logs', keep: false, records: 7 }, content);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.records).toBe(7);
    expect([...frames[0]!.body]).toEqual([0x50, 1, 2, 3]);
  });
});
