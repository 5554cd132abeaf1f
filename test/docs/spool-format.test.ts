/**
 * The spool format both SDKs share (docs/spool-format.md): segments and open-run markers one SDK's
 * process left behind are replayed and closed by the other's next start, the same bytes in the same
 * order. The Python side runs the scripts in python/tests/_scripts with the Python SDK from python/src.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { decodeLogsProtobuf } from '../../receiver/decode/otlp-protobuf.js';
import { renderLog } from '../../receiver/storage/rows-csv.js';
import { frameHeader } from '../../sdk/spool/frames.js';
import { closingRecord, findDeadRuns, openRunJournal } from '../../sdk/spool/open-runs.js';
import { openSpool } from '../../sdk/spool/spool.js';
import type { Signal } from '../../contract/signal.js';
import { ATTR } from '../../contract/vocabulary.js';
import { repoPath } from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';

const PYTHON = repoPath('python');
const MAX_REQUEST = 2_000;
// Writers' clocks advance a millisecond a reading: names of one millisecond order their sequence numbers as
// text ("10" before "9"), which would make the order appended differ from the order sent.
const START_MS = 1_700_000_000_000;

interface Append {
  signal: Signal;
  keep: boolean;
  records: number;
  body: string;
}
interface Batch {
  signal: Signal;
  records: number;
  body: string;
}

function python(script: string, args: string[], input?: unknown): string {
  const result = spawnSync('python3', [path.join(PYTHON, 'tests', '_scripts', script), ...args], {
    env: { ...process.env, PYTHONPATH: path.join(PYTHON, 'src') },
    input: input === undefined ? undefined : JSON.stringify(input),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`python3 ${script} exited with ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** The pid of a process that ran and is gone: files named with it are a dead writer's. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

/** Frames of both signals and kinds, of many sizes: enough to fill several segments and join frames. */
function appends(): Append[] {
  return Array.from({ length: 40 }, (_, i) => ({
    signal: i % 3 === 0 ? 'traces' : 'logs',
    keep: i % 5 === 0,
    records: 1 + (i % 4),
    body: randomBytes(50 + ((i * 37) % 400)).toString('hex'),
  }));
}

/** A copy of `dir`, so that each SDK replays the same files. */
function copyOf(dir: string): string {
  const copy = tempDir('pipemon-spool-format-');
  fs.cpSync(dir, copy, { recursive: true });
  return copy;
}

function replayWithNode(dir: string): Batch[] {
  const spool = openSpool({ dir, maxBytes: 2 ** 30 });
  const batches: Batch[] = [];
  for (let batch = spool.next(MAX_REQUEST); batch; batch = spool.next(MAX_REQUEST)) {
    batches.push({ signal: batch.signal, records: batch.records, body: Buffer.from(batch.body).toString('hex') });
    batch.settle('ok');
  }
  spool.close();
  return batches;
}

const replayWithPython = (dir: string): Batch[] => JSON.parse(python('replay_spool.py', [dir, String(MAX_REQUEST)])) as Batch[];

function sentPerSignal(batches: Batch[]): Record<string, string> {
  const sent: Record<string, string> = {};
  for (const batch of batches) sent[batch.signal] = (sent[batch.signal] ?? '') + batch.body;
  return sent;
}

/** What any replay must send of each signal, however it joins frames: kept frames first, each kind in order. */
function appendedPerSignal(list: Append[]): Record<string, string> {
  const appended: Record<string, string> = {};
  for (const signal of ['logs', 'traces'] as const) {
    const ofSignal = list.filter((a) => a.signal === signal);
    appended[signal] = [...ofSignal.filter((a) => a.keep), ...ofSignal.filter((a) => !a.keep)].map((a) => a.body).join('');
  }
  return appended;
}

/** Adds what a kill mid-append leaves, a frame cut short, to the newest segment. */
function cutShortLastFrame(dir: string): void {
  const newest = fs.readdirSync(dir).filter((name) => name.endsWith('.wal')).sort().at(-1)!;
  fs.appendFileSync(path.join(dir, newest), Buffer.concat([frameHeader(100, 1), Buffer.alloc(10, 7)]));
}

describe('a spool one SDK left behind, replayed by the other', () => {
  it('Node writes, Python replays: the same batches, byte for byte, in the same order', () => {
    const dir = tempDir('pipemon-spool-format-');
    const list = appends();
    let clock = START_MS;
    const owner = { pid: deadPid(), instance: 'a1b2c3d4', release: () => undefined };
    const spool = openSpool({ dir, maxBytes: 2 ** 30, segmentBytes: 1_500, owner, now: () => clock++ });
    for (const a of list) spool.append(a.signal, a.keep, a.records, Buffer.from(a.body, 'hex'));
    spool.close();
    cutShortLastFrame(dir);
    fs.writeFileSync(path.join(dir, `${Date.now()}-1-0-logs-n-7.otlp`), Buffer.from('legacy batch'));

    const byNode = replayWithNode(copyOf(dir));
    const byPython = replayWithPython(dir);
    expect(byPython).toEqual(byNode);
    expect(byPython.length).toBeGreaterThan(5);
    expect(byPython.reduce((sum, b) => sum + b.records, 0)).toBe(list.reduce((sum, a) => sum + a.records, 7));
    expect(sentPerSignal(byPython.filter((b) => b.body !== Buffer.from('legacy batch').toString('hex')))).toEqual(appendedPerSignal(list));
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('Python writes, Node replays: the same batches, byte for byte, in the same order', () => {
    const dir = tempDir('pipemon-spool-format-');
    const list = appends();
    python('write_spool.py', [], { dir, maxBytes: 2 ** 30, segmentBytes: 1_500, startMs: START_MS, appends: list });
    expect(fs.readdirSync(dir).length).toBeGreaterThan(4);
    cutShortLastFrame(dir);

    const byPython = replayWithPython(copyOf(dir));
    const byNode = replayWithNode(dir);
    expect(byNode).toEqual(byPython);
    expect(sentPerSignal(byNode)).toEqual(appendedPerSignal(list));
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

const run = {
  pipeline: 'orders',
  runId: 'run/1 with any characters: é',
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  startedAtMs: 1_700_000_000_000,
  resource: { 'service.name': 'orders-etl', 'service.instance.id': 'i-1' },
  attributes: { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'run/1 with any characters: é', 'pipemon.rows.read': 12, flag: true },
};

/**
 * What the receiver stores of a request body: its one record as decoded, and the fingerprint a resend is
 * recognised by. The encoders may differ in bytes (Node's writes zero counts the Python one leaves out).
 */
function stored(otlp: string) {
  const [row, ...others] = decodeLogsProtobuf(Buffer.from(otlp, 'hex'));
  expect(others).toEqual([]);
  return { row, fingerprint: renderLog(1, row!).fingerprint };
}

/** The closing records Python writes for the dead runs of `dir`. */
const closeWithPython = (dir: string) =>
  (JSON.parse(python('close_dead_runs.py', [dir])) as Record<string, unknown>[]).map(
    ({ otlp, ...record }): Record<string, unknown> => ({ ...record, stored: stored(otlp as string) }),
  );

function closeWithNode(dir: string) {
  return findDeadRuns(dir).map((dead) => {
    const record = closingRecord(dead);
    const ns = (time: [number, number]) => (BigInt(time[0]) * 1_000_000_000n + BigInt(time[1])).toString();
    return {
      timeUnixNano: ns(record.hrTime),
      observedTimeUnixNano: ns(record.hrTimeObserved),
      severityNumber: record.severityNumber,
      severityText: record.severityText,
      body: record.body,
      eventName: record.eventName,
      traceId: record.spanContext!.traceId,
      spanId: record.spanContext!.spanId,
      flags: record.spanContext!.traceFlags,
      resource: record.resource.attributes,
      attributes: record.attributes,
      stored: stored(Buffer.from(ProtobufLogsSerializer.serializeRequest([record])!).toString('hex')),
    };
  });
}

describe('open-run markers one SDK left behind, closed by the other', () => {
  it('a run a Python process left open is found by Node and closed with the record Python would write', () => {
    const dir = tempDir('pipemon-spool-format-');
    python('open_run_marker.py', [], { dir, run, beatMs: run.startedAtMs + 90_500 });
    // Named as the Node SDK names it: <pid>-<instance>-<first 16 hex digits of sha256(run id, UTF-8)>.json.
    const [name] = fs.readdirSync(path.join(dir, 'open-runs'));
    expect(name).toMatch(new RegExp(`^\\d+-[0-9a-f]{8}-${createHash('sha256').update(run.runId).digest('hex').slice(0, 16)}\\.json$`));
    const byNode = closeWithNode(dir);
    expect(byNode.map((r) => r.timeUnixNano)).toEqual(['1700000090500000000']);
    expect(closeWithPython(dir)).toEqual(byNode);
  });

  it('a run a Node process left open is found by Python and closed with the record Node would write', () => {
    const dir = tempDir('pipemon-spool-format-');
    const marker = openRunJournal(dir, { owner: { pid: deadPid(), instance: 'a1b2c3d4', release: () => undefined } }).opened(run);
    marker.beat(run.startedAtMs + 90_000);
    const byPython = closeWithPython(dir);
    expect(byPython.map((r) => r.timeUnixNano)).toEqual(['1700000090000000000']);
    expect(byPython).toEqual(closeWithNode(dir));
  });
});
