import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { frameHeader, readFrames } from '../../../sdk/spool/frames.js';
import { SegmentStore, spooledBytesIn } from '../../../sdk/spool/segment-store.js';
import { tempDir } from '../../helpers/temp.js';

const SEGMENT = '1700000000000-1-0a1b2c3d-0-logs-e.wal';
const BATCH = '1700000000000-1-0-traces-n-4.otlp';

describe('the segment store', () => {
  it('appends frames that the format reader reads back, and reads them itself', () => {
    const dir = tempDir('pipemon-store-');
    const store = new SegmentStore(dir, false);
    const writer = store.create(SEGMENT)!;
    expect(writer.append(2, Buffer.from([1, 2, 3]))).toBe(true);
    expect(writer.append(5, Buffer.from([4]))).toBe(true);
    writer.close();
    const expected = [
      [2, [1, 2, 3]],
      [5, [4]],
    ];
    expect(readFrames(fs.readFileSync(path.join(dir, SEGMENT))).map((f) => [f.records, [...f.body]])).toEqual(expected);
    expect(store.read(SEGMENT)!.map((f) => [f.records, [...f.body]])).toEqual(expected);
    expect(fs.statSync(path.join(dir, SEGMENT)).mode & 0o777).toBe(0o600);
  });

  it('reads a batch file as one frame and a missing file as null; removes a file, even one already gone', () => {
    const dir = tempDir('pipemon-store-');
    fs.writeFileSync(path.join(dir, BATCH), Buffer.from([9, 9]));
    const store = new SegmentStore(dir, false);
    expect(store.read(BATCH)!.map((f) => [f.records, [...f.body]])).toEqual([[4, [9, 9]]]);
    store.remove(BATCH);
    expect(fs.existsSync(path.join(dir, BATCH))).toBe(false);
    expect(store.read(BATCH)).toBeNull();
    expect(() => store.remove(BATCH)).not.toThrow();
  });

  it('lists the spool files wanted with their sizes, nothing else in the directory', () => {
    const dir = tempDir('pipemon-store-');
    fs.writeFileSync(path.join(dir, SEGMENT), Buffer.concat([frameHeader(1, 1), Buffer.from([7])]));
    fs.writeFileSync(path.join(dir, BATCH), Buffer.from([1, 2, 3]));
    fs.writeFileSync(path.join(dir, `${SEGMENT}.tmp`), 'x');
    fs.mkdirSync(path.join(dir, 'open-runs'));
    const store = new SegmentStore(dir, false);
    const all = store.list(() => true).sort((a, b) => a.name.localeCompare(b.name));
    expect(all).toEqual([
      { name: BATCH, signal: 'traces', keep: false, bytes: 3 },
      { name: SEGMENT, signal: 'logs', keep: true, writer: { pid: 1, instance: '0a1b2c3d' }, bytes: 10 },
    ]);
    expect(store.list((file) => file.writer === undefined).map((f) => f.name)).toEqual([BATCH]);
  });

  it('creates its directory when missing, and answers a refusing disk with nothing rather than throwing', () => {
    const missing = path.join(tempDir('pipemon-store-'), 'a', 'b');
    expect(new SegmentStore(missing, true).list(() => true)).toEqual([]);
    expect(fs.statSync(missing).isDirectory()).toBe(true);
    const notADir = path.join(tempDir('pipemon-store-'), 'file');
    fs.writeFileSync(notADir, '');
    const refusing = new SegmentStore(notADir, false);
    expect(refusing.list(() => true)).toEqual([]);
    expect(refusing.create(SEGMENT)).toBeNull();
    expect(refusing.read(SEGMENT)).toBeNull();
  });

  it('refuses an append once the writer is closed', () => {
    const writer = new SegmentStore(tempDir('pipemon-store-'), false).create(SEGMENT)!;
    writer.close();
    expect(writer.append(1, Buffer.from([1]))).toBe(false);
    expect(() => writer.close()).not.toThrow();
  });
});

describe('spooledBytesIn', () => {
  it('counts the bytes of segments and batch files only, and 0 for no directory', () => {
    const dir = tempDir('pipemon-store-');
    fs.writeFileSync(path.join(dir, SEGMENT), Buffer.alloc(10));
    fs.writeFileSync(path.join(dir, BATCH), Buffer.alloc(5));
    fs.writeFileSync(path.join(dir, 'notes.txt'), Buffer.alloc(100));
    expect(spooledBytesIn(dir)).toBe(15);
    expect(spooledBytesIn(path.join(dir, 'none'))).toBe(0);
  });
});
