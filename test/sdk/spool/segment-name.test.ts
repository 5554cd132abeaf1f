import { describe, expect, it } from 'vitest';
import { parseSegmentName, SegmentNamer } from '../../../sdk/spool/segment-name.js';

const writer = { pid: 4242, instance: '0a1b2c3d' };

describe('segment names', () => {
  it('names segments as the format says, with the clock, the writer and a counter, and reads them back', () => {
    const namer = new SegmentNamer(writer, () => 1_700_000_000_123);
    const logs = namer.segment('logs', true);
    const traces = namer.segment('traces', false);
    const metrics = namer.segment('metrics', true);
    expect([logs, traces, metrics]).toEqual([
      '1700000000123-4242-0a1b2c3d-0-logs-e.wal',
      '1700000000123-4242-0a1b2c3d-1-traces-n.wal',
      '1700000000123-4242-0a1b2c3d-2-metrics-e.wal',
    ]);
    expect(parseSegmentName(logs)).toEqual({ writer, signal: 'logs', keep: true });
    expect(parseSegmentName(traces)).toEqual({ writer, signal: 'traces', keep: false });
    expect(parseSegmentName(metrics)).toEqual({ writer, signal: 'metrics', keep: true });
  });

  it('counts memory pieces with the segments, so that both sort by age among each other, and never parses one as a file', () => {
    const namer = new SegmentNamer(writer, () => 1_700_000_000_000);
    expect(namer.segment('logs', false)).toContain('-0-logs-n.wal');
    const piece = namer.memoryPiece('logs');
    expect(piece).toBe('1700000000000-4242-0a1b2c3d-1-logs-e.memory');
    expect(namer.segment('logs', false)).toContain('-2-logs-n.wal');
    expect(parseSegmentName(piece)).toBeNull();
  });

  it('takes no other file for a segment: batch files, temporaries, upper-case instances, other signals or kinds, short clocks', () => {
    for (const name of [
      '1700000000000-1-0-logs-n-7.otlp',
      '1700000000000-1-0a1b2c3d-0-logs-n.wal.tmp',
      '1700000000000-1-0A1B2C3D-0-logs-n.wal',
      '1700000000000-1-0a1b2c3d-0-profiles-n.wal',
      '1700000000000-1-0a1b2c3d-0-logs-x.wal',
      '170000000000-1-0a1b2c3d-0-logs-n.wal',
    ]) {
      expect(parseSegmentName(name), name).toBeNull();
    }
  });
});
