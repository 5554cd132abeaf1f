/**
 * Runs left open by a process that died. Each run this process starts has a small marker file in the
 * spool (`open-runs/`), rewritten at every heartbeat and deleted right after the run's end record went
 * into the spool. A marker whose writer is dead (owner.ts) is a run nobody will end: the next start
 * with the same spool ends it as `error`, at its last heartbeat, with an `error.type` saying why.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { Attributes } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { syncDir } from '../../contract/durable-file.js';
import { claimOwner, isAlive, type Claim, type Liveness } from './owner.js';
import { ATTR, ERROR_TYPE, EVENT } from '../../contract/vocabulary.js';

export interface OpenRun {
  pipeline: string;
  runId: string;
  traceId: string;
  spanId: string;
  startedAtMs: number;
  /** The last sign of life: the start, then each heartbeat. */
  lastBeatMs: number;
  /** The writer's resource, so that the end record comes from the same service instance as the run. */
  resource: Record<string, string>;
  /** The run's attributes at its start. */
  attributes: Attributes;
}

export interface RunMarker {
  beat(atMs: number): void;
  /** The run's end record is in the spool: nobody needs to end it for us. */
  closed(): void;
}

export interface RunJournal {
  opened(run: Omit<OpenRun, 'lastBeatMs'>): RunMarker;
  /** This SDK instance stops: runs it leaves open are the next start's to end. */
  close(): void;
}

export interface JournalOptions {
  fsync?: boolean;
  owner?: Claim;
}

const SUBDIR = 'open-runs';
// <pid>-<instance>-<hash of the run id>.json: run ids come from schedulers and may hold any character.
const MARKER = /^(\d+)-([0-9a-f]{8})-[0-9a-f]{16}\.json$/;

export const NO_JOURNAL: RunJournal = { opened: () => ({ beat: () => undefined, closed: () => undefined }), close: () => undefined };

export function openRunJournal(spoolDir: string, options: JournalOptions = {}): RunJournal {
  const dir = path.join(spoolDir, SUBDIR);
  const owner = options.owner ?? claimOwner();
  return {
    opened(run) {
      const file = path.join(dir, `${owner.pid}-${owner.instance}-${createHash('sha256').update(run.runId).digest('hex').slice(0, 16)}.json`);
      const state: OpenRun = { ...run, lastBeatMs: run.startedAtMs };
      let open = write(dir, file, state, options.fsync ?? false);
      return {
        beat(atMs) {
          if (!open) return;
          state.lastBeatMs = atMs;
          open = write(dir, file, state, options.fsync ?? false);
        },
        closed() {
          if (!open) return;
          open = false;
          fs.rm(file, { force: true }, () => undefined);
        },
      };
    },
    close: () => owner.release(),
  };
}

/** Written whole under a temporary name and renamed: a kill mid-write leaves the previous marker. */
function write(dir: string, file: string, run: OpenRun, fsync: boolean): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temporary = `${file}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(run), { mode: 0o600 });
    if (fsync) {
      const fd = fs.openSync(temporary, 'r+');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.renameSync(temporary, file);
    if (fsync) syncDir(dir);
    return true;
  } catch {
    // Without a marker a crash leaves the run running, as before this journal; the run itself goes on.
    return false;
  }
}

export interface DeadRun {
  run: OpenRun;
  pid: number;
  /** Deletes the marker, once the run's closing record is in the spool. */
  release(): void;
}

/** Runs whose writer died without ending them. */
export function findDeadRuns(spoolDir: string, alive: Liveness = isAlive): DeadRun[] {
  const dir = path.join(spoolDir, SUBDIR);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const dead: DeadRun[] = [];
  for (const name of names) {
    const m = MARKER.exec(name);
    if (!m || alive({ pid: Number(m[1]), instance: m[2]! })) continue;
    const file = path.join(dir, name);
    const release = () => {
      try {
        fs.rmSync(file, { force: true });
      } catch {
        // Left behind, the same closing record is written again at the next start and stored once.
      }
    };
    try {
      dead.push({ run: JSON.parse(fs.readFileSync(file, 'utf8')) as OpenRun, pid: Number(m[1]), release });
    } catch {
      // Unreadable: nothing to close it with, and it would be found again at every start.
      release();
    }
  }
  return dead;
}

/**
 * The end record the dead process would have written: the same for every start that writes it (time,
 * resource and ids come from the marker), so two starts racing to close a run are stored once.
 */
export function closingRecord({ run, pid }: Pick<DeadRun, 'run' | 'pid'>): ReadableLogRecord {
  const at = millisToHrTime(run.lastBeatMs);
  const message = `the process (pid ${pid}) running it ended without ending the run (killed, or crashed); last sign of life at ${new Date(run.lastBeatMs).toISOString()}`;
  return {
    hrTime: at,
    hrTimeObserved: at,
    spanContext: { traceId: run.traceId, spanId: run.spanId, traceFlags: 1 },
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: `run error: ${run.pipeline}: ${message}`,
    eventName: EVENT.runEnd,
    resource: resourceFromAttributes(run.resource),
    instrumentationScope: { name: 'pipemon' },
    attributes: {
      ...run.attributes,
      [ATTR.runResult]: 'error',
      [ATTR.errorType]: ERROR_TYPE.processDied,
      [ATTR.exceptionMessage]: message,
      [ATTR.durationSeconds]: Math.max(0, (run.lastBeatMs - run.startedAtMs) / 1000),
    },
    droppedAttributesCount: 0,
  };
}
