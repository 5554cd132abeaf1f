import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { frameHeader, readFrames } from '../../../sdk/spool/frames.js';
import type { Liveness } from '../../../sdk/spool/owner.js';
import { openSpool, type Spool } from '../../../sdk/spool/spool.js';
import { tempDir } from '../../helpers/temp.js';

const body = (bytes: number, fill = 1) => new Uint8Array(bytes).fill(fill);
const segments = (dir: string) => fs.readdirSync(dir).filter((name) => name.endsWith('.wal')).sort();
const owner = (instance: string) => ({ pid: process.pid, instance, release: () => undefined });

/** Everything the spool hands out, settled with `answer`; returns the bodies in order. */
/** A spool whose directory is a file: every write to disk fails, as on a full or read-only disk. */
function onRefusingDisk(maxBytes: number): Spool {
  const file = path.join(tempDir('pipemon-spool-'), 'not-a-dir');
  fs.writeFileSync(file, '');
  return openSpool({ dir: file, maxBytes });
}

function sendAll(spool: Spool, answer: 'ok' | 'refused' = 'ok', maxBytes = 1_000_000): Uint8Array[] {
  const sent: Uint8Array[] = [];
  for (let batch = spool.next(maxBytes); batch; batch = spool.next(maxBytes)) {
    sent.push(batch.body);
    batch.settle(answer);
  }
  return sent;
}

describe('segment frames', () => {
  it('reads back every frame appended, with its record count and bytes unchanged', () => {
    const content = Buffer.concat([frameHeader(3, 2), Buffer.from([7, 8, 9]), frameHeader(1, 5), Buffer.from([4])]);
    expect(readFrames(content).map((f) => [f.records, [...f.body]])).toEqual([
      [2, [7, 8, 9]],
      [5, [4]],
    ]);
  });

  it('keeps the frames before one cut short by a kill, or zeros left by a power cut', () => {
    const whole = Buffer.concat([frameHeader(3, 2), Buffer.from([7, 8, 9])]);
    expect(readFrames(Buffer.concat([whole, frameHeader(10, 1), Buffer.from([1, 2])]))).toHaveLength(1);
    expect(readFrames(Buffer.concat([whole, Buffer.alloc(64)]))).toHaveLength(1);
    expect(readFrames(Buffer.concat([whole, frameHeader(3, 1).subarray(0, 4)]))).toHaveLength(1);
  });
});

describe('the write-ahead spool', () => {
  it('has each record on disk when append returns, and sends the bytes it wrote', () => {
    const dir = tempDir('pipemon-spool-');
    const spool = openSpool({ dir, maxBytes: 1_000_000 });
    spool.append('logs', true, 1, body(10, 3));
    const [name] = segments(dir);
    expect(readFrames(fs.readFileSync(path.join(dir, name!))).map((f) => [...f.body])).toEqual([[...body(10, 3)]]);
    expect(sendAll(spool).map((b) => [...b])).toEqual([[...body(10, 3)]]);
    // Acknowledged in full: the segment is gone.
    expect(segments(dir)).toEqual([]);
  });

  it('sends kept records before ordinary ones, and several frames of a segment as one request', () => {
    const spool = openSpool({ dir: tempDir('pipemon-spool-'), maxBytes: 1_000_000 });
    spool.append('logs', false, 1, body(4, 1));
    spool.append('logs', false, 1, body(4, 2));
    spool.append('logs', true, 1, body(4, 9));
    const sent = sendAll(spool);
    expect(sent.map((b) => [...b])).toEqual([[...body(4, 9)], [...body(4, 1), ...body(4, 2)]]);
  });

  it('keeps a batch the receiver could not take, and sends it again the same', () => {
    const spool = openSpool({ dir: tempDir('pipemon-spool-'), maxBytes: 1_000_000 });
    spool.append('traces', false, 3, body(8, 5));
    const first = spool.next(1_000_000)!;
    first.settle('retry');
    const again = spool.next(1_000_000)!;
    expect([...again.body]).toEqual([...first.body]);
    expect(again.records).toBe(3);
    again.settle('ok');
    expect(spool.next(1_000_000)).toBeUndefined();
    expect(spool.stats().dropped).toBe(0);
  });

  it('sends frames one by one after a refusal of several, so one bad frame drops only its own records', () => {
    const spool = openSpool({ dir: tempDir('pipemon-spool-'), maxBytes: 1_000_000 });
    spool.append('logs', false, 2, body(4, 1));
    spool.append('logs', false, 3, body(4, 66));
    spool.append('logs', false, 4, body(4, 3));
    const refused: number[] = [];
    for (let batch = spool.next(1_000_000); batch; batch = spool.next(1_000_000)) {
      const bad = batch.body.includes(66);
      if (bad) refused.push(batch.records);
      batch.settle(bad ? 'refused' : 'ok');
    }
    expect(refused).toEqual([9, 3]);
    expect(spool.stats().dropped).toBe(3);
  });

  it('evicts the oldest ordinary segments past its bound, counts them, and writes kept records past it', () => {
    const dir = tempDir('pipemon-spool-');
    const spool = openSpool({ dir, maxBytes: 400, segmentBytes: 100 });
    for (let i = 0; i < 10; i++) spool.append('logs', false, 1, body(91, i + 1));
    spool.append('logs', true, 1, body(500, 99));
    const stats = spool.stats();
    expect(stats.dropped).toBe(6);
    const sent = sendAll(spool);
    expect(sent[0]![0]).toBe(99);
    // The newest ordinary records survive: 7, 8, 9, 10.
    expect(sent.slice(1).map((b) => b[0])).toEqual([7, 8, 9, 10]);
  });

  it('never evicts a segment on the wire', () => {
    const dir = tempDir('pipemon-spool-');
    const spool = openSpool({ dir, maxBytes: 250, segmentBytes: 100 });
    spool.append('logs', false, 1, body(91, 1));
    const onWire = spool.next(1_000_000)!;
    spool.append('logs', false, 1, body(91, 2));
    spool.append('logs', false, 1, body(91, 3));
    expect(spool.stats().dropped).toBe(1);
    onWire.settle('ok');
    expect(sendAll(spool).map((b) => b[0])).toEqual([3]);
  });

  it("takes over the segments of a writer that is gone, never a live one's", () => {
    const dir = tempDir('pipemon-spool-');
    const liveOnes = new Set(['aaaaaaaa', 'bbbbbbbb']);
    const alive: Liveness = (o) => liveOnes.has(o.instance);
    const dead = openSpool({ dir, maxBytes: 1_000_000, alive, owner: owner('aaaaaaaa') });
    const live = openSpool({ dir, maxBytes: 1_000_000, alive, owner: owner('bbbbbbbb') });
    dead.append('logs', true, 1, body(4, 1));
    live.append('logs', true, 1, body(4, 2));
    liveOnes.delete('aaaaaaaa');
    const next = openSpool({ dir, maxBytes: 1_000_000, alive, owner: owner('cccccccc') });
    expect(sendAll(next).map((b) => b[0])).toEqual([1]);
    expect(segments(dir)).toHaveLength(1);
  });

  it('replays a segment cut short by a kill up to its last whole frame', () => {
    const dir = tempDir('pipemon-spool-');
    const whole = Buffer.concat([frameHeader(4, 2), Buffer.from(body(4, 8))]);
    fs.writeFileSync(path.join(dir, `${Date.now()}-0-00000000-0-logs-e.wal`), Buffer.concat([whole, frameHeader(40, 1), Buffer.from([1])]));
    const spool = openSpool({ dir, maxBytes: 1_000_000 });
    const batch = spool.next(1_000_000)!;
    expect([...batch.body]).toEqual([...body(4, 8)]);
    batch.settle('ok');
    expect(spool.next(1_000_000)).toBeUndefined();
    expect(segments(dir)).toEqual([]);
  });

  it('replays batch files of the spool before the write-ahead design', () => {
    const dir = tempDir('pipemon-spool-');
    fs.writeFileSync(path.join(dir, `${Date.now()}-1-0-logs-n-7.otlp`), body(5, 4));
    const spool = openSpool({ dir, maxBytes: 1_000_000 });
    const batch = spool.next(1_000_000)!;
    expect([batch.records, [...batch.body]]).toEqual([7, [...body(5, 4)]]);
    batch.settle('refused');
    expect(spool.stats().dropped).toBe(7);
  });

  it('holds kept records in memory when the disk refuses them, and counts ordinary ones as dropped', () => {
    const spool = onRefusingDisk(1_000_000);
    spool.append('logs', true, 2, body(4, 1));
    spool.append('logs', false, 5, body(4, 2));
    expect(spool.stats()).toMatchObject({ inMemory: 2, dropped: 5, segments: 0 });
    expect(sendAll(spool).map((b) => b[0])).toEqual([1]);
    expect(spool.stats().inMemory).toBe(0);
  });

  it('holds at most an eighth of its bound of kept records in memory while the disk refuses them, dropping and counting the oldest', () => {
    // A memory bound of 1000 bytes.
    const spool = onRefusingDisk(8_000);
    spool.append('logs', true, 1, body(50, 255));
    const onWire = spool.next(1_000_000)!;
    for (let i = 1; i <= 200; i++) spool.append('logs', true, 1, body(50, i));
    const { inMemory, dropped } = spool.stats();
    // 50 bytes a record: the one on the wire, and at most 1000 bytes besides.
    expect(inMemory).toBeLessThanOrEqual(1 + 1000 / 50);
    expect(dropped).toBe(201 - inMemory);
    onWire.settle('ok');
    // Each body is one record of 50 bytes, filled with its number: the first byte of each names it.
    const delivered = sendAll(spool)
      .flatMap((b) => Array.from({ length: b.byteLength / 50 }, (_, k) => b[k * 50]!))
      .sort((x, y) => x - y);
    expect(delivered.length * 50).toBeLessThanOrEqual(1000);
    // The newest survive; the one on the wire was delivered; every other record is counted as dropped.
    expect(delivered).toEqual(Array.from({ length: delivered.length }, (_, k) => 201 - delivered.length + k));
    expect(spool.stats()).toMatchObject({ inMemory: 0, dropped: 200 - delivered.length });
  });

  it('leaves what was not delivered on disk at close, for the next start', () => {
    const dir = tempDir('pipemon-spool-');
    const spool = openSpool({ dir, maxBytes: 1_000_000 });
    spool.append('logs', false, 1, body(4, 1));
    spool.close();
    expect(sendAll(openSpool({ dir, maxBytes: 1_000_000 })).map((b) => b[0])).toEqual([1]);
  });
});
