import fs from 'node:fs';
import path from 'node:path';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { closingRecord, findDeadRuns, openRunJournal } from '../../../sdk/spool/open-runs.js';
import type { Liveness } from '../../../sdk/spool/owner.js';
import { ATTR, ERROR_TYPE, EVENT } from '../../../contract/vocabulary.js';
import { tempDir } from '../../helpers/temp.js';

const run = {
  pipeline: 'orders',
  runId: 'run/1 with any characters',
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  startedAtMs: 1_700_000_000_000,
  resource: { 'service.name': 'orders-etl', 'service.instance.id': 'i-1' },
  attributes: { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'run/1 with any characters' },
};
const claim = (instance: string) => ({ pid: process.pid, instance, release: () => undefined });

describe('runs left open by a dead process', () => {
  it('finds a run whose writer died, with its last heartbeat, and never one whose writer runs', () => {
    const dir = tempDir('pipemon-open-runs-');
    const living = new Set(['aaaaaaaa', 'bbbbbbbb']);
    const alive: Liveness = (o) => living.has(o.instance);
    const marker = openRunJournal(dir, { owner: claim('aaaaaaaa') }).opened(run);
    marker.beat(run.startedAtMs + 60_000);
    openRunJournal(dir, { owner: claim('bbbbbbbb') }).opened({ ...run, runId: 'still running' });
    expect(findDeadRuns(dir, alive)).toEqual([]);
    living.delete('aaaaaaaa');
    const dead = findDeadRuns(dir, alive);
    expect(dead.map((d) => [d.run.runId, d.run.lastBeatMs])).toEqual([[run.runId, run.startedAtMs + 60_000]]);
    dead[0]!.release();
    expect(findDeadRuns(dir, alive)).toEqual([]);
  });

  it('forgets a run once it ended', () => {
    const dir = tempDir('pipemon-open-runs-');
    const marker = openRunJournal(dir, { owner: claim('aaaaaaaa') }).opened(run);
    marker.closed();
    // closed() deletes in the background: the end record is already in the spool, nothing waits on it.
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        expect(fs.readdirSync(path.join(dir, 'open-runs'))).toEqual([]);
        resolve();
      }, 50),
    );
  });

  it('ends it as error at its last heartbeat, with the type saying the process died, the same for every start', () => {
    const record = closingRecord({ run: { ...run, lastBeatMs: run.startedAtMs + 90_000 }, pid: 4242 });
    expect(record.eventName).toBe(EVENT.runEnd);
    expect(record.severityText).toBe('ERROR');
    expect(record.hrTime).toEqual([1_700_000_090, 0]);
    expect(record.spanContext).toMatchObject({ traceId: run.traceId, spanId: run.spanId });
    expect(record.resource.attributes).toEqual(run.resource);
    expect(record.attributes).toMatchObject({
      [ATTR.runId]: run.runId,
      [ATTR.runResult]: 'error',
      [ATTR.errorType]: ERROR_TYPE.processDied,
      [ATTR.durationSeconds]: 90,
    });
    expect(String(record.attributes[ATTR.exceptionMessage])).toContain('pid 4242');
    // Byte for byte what the receiver's idempotency compares: two starts closing the run store it once.
    const again = closingRecord({ run: { ...run, lastBeatMs: run.startedAtMs + 90_000 }, pid: 4242 });
    expect(Buffer.from(ProtobufLogsSerializer.serializeRequest([again])!)).toEqual(Buffer.from(ProtobufLogsSerializer.serializeRequest([record])!));
  });
});
