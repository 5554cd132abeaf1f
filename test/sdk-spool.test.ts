import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openSpool } from '../sdk/spool.js';
import { tempDir } from './helpers/sdk.js';

const body = (bytes: number) => new Uint8Array(bytes).fill(1);

describe('the disk spool', () => {
  it('keeps its byte total right when an entry from before a rescan is removed', () => {
    const spool = openSpool(tempDir('pipemon-sdk-spool-'), 1_000_000);
    spool.write('logs', false, 1, body(100));
    spool.write('logs', false, 1, body(200));
    const [first] = spool.entries();
    // stats() and replay rescan the directory, which replaces the entry objects.
    spool.entries();
    spool.remove(first!);
    expect(spool.bytes).toBe(200);
    expect(spool.dropped).toBe(0);
  });

  it('never evicts the batch replay is sending, and counts the new batch that does not fit instead', () => {
    const dir = tempDir('pipemon-sdk-spool-');
    const spool = openSpool(dir, 150);
    spool.write('logs', false, 3, body(100));
    const [sending] = spool.entries();
    spool.sending(sending!);
    expect(spool.write('logs', false, 2, body(100))).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([sending!.name]);
    expect(spool.dropped).toBe(2);
    // Once sent, it is an ordinary batch again.
    spool.sending(null);
    expect(spool.write('logs', false, 2, body(100))).toBe(true);
    expect(spool.dropped).toBe(5);
  });
});
