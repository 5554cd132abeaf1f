/**
 * The streams a writer has seen committed (receiver/storage/committed-streams.ts): their lines are not sent
 * again, nothing is remembered before its COMMIT, and the memory starts afresh past its bound.
 */
import { describe, expect, it } from 'vitest';
import { createCommittedStreams, NO_COMMITTED_STREAMS } from '../../../receiver/storage/committed-streams.js';

const batch = (log: [string, string][], metric: [string, string][]) => ({ streamLines: new Map(log), metricStreamLines: new Map(metric) });

describe('committed streams', () => {
  it('sends the lines of streams not committed yet, once each, and then none of them', () => {
    const streams = createCommittedStreams();
    const lines: [string, string][] = [['1:a', 'line a\n'], ['1:b', 'line b\n'], ['1:a', 'line a\n']];
    expect(streams.unknown(lines)).toEqual(['line a\n', 'line b\n']);
    // Sent but not committed (a transaction that failed): sent again.
    expect(streams.unknown(lines)).toEqual(['line a\n', 'line b\n']);
    streams.committed([batch([['1:a', 'line a\n']], [['1:b', 'line b\n']])]);
    expect(streams.unknown([...lines, ['1:c', 'line c\n']])).toEqual(['line c\n']);
  });

  it('forgets everything past its bound, which only costs lines sent again', () => {
    const streams = createCommittedStreams(2);
    streams.committed([batch([['1:a', 'a'], ['1:b', 'b']], [])]);
    expect(streams.unknown([['1:a', 'a']])).toEqual([]);
    streams.committed([batch([], [['1:c', 'c']])]);
    expect(streams.unknown([['1:a', 'a'], ['1:c', 'c']])).toEqual(['a', 'c']);
  });

  it('remembers nothing when a caller keeps no memory', () => {
    NO_COMMITTED_STREAMS.committed([batch([['1:a', 'a']], [])]);
    expect(NO_COMMITTED_STREAMS.unknown([['1:a', 'a']])).toEqual(['a']);
  });
});
