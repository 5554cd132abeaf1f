import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Liveness } from '../../../sdk/spool/owner.js';
import { SegmentStore } from '../../../sdk/spool/segment-store.js';
import { SegmentTable } from '../../../sdk/spool/segment-table.js';
import { Takeover } from '../../../sdk/spool/takeover.js';
import { tempDir } from '../../helpers/temp.js';

const alive: Liveness = (writer) => writer.instance === 'aaaaaaaa';

function takeoverIn(dir: string, clock = { now: 0 }) {
  const store = new SegmentStore(dir, false);
  const table = new SegmentTable(store);
  return { table, takeover: new Takeover(store, table, alive, () => clock.now, 30_000) };
}

describe('taking over files no live writer holds', () => {
  it("takes a dead writer's segments and the earlier spool's batch files, never a live writer's", () => {
    const dir = tempDir('pipemon-takeover-');
    fs.writeFileSync(path.join(dir, '1700000000000-1-aaaaaaaa-0-logs-e.wal'), Buffer.alloc(5));
    fs.writeFileSync(path.join(dir, '1700000000000-1-bbbbbbbb-0-logs-n.wal'), Buffer.alloc(7));
    fs.writeFileSync(path.join(dir, '1700000000000-1-0-traces-e-3.otlp'), Buffer.alloc(11));
    const { table, takeover } = takeoverIn(dir);
    takeover.scan();
    expect([...table].map((s) => [s.name, s.keep, s.bytes]).sort()).toEqual([
      ['1700000000000-1-0-traces-e-3.otlp', true, 11],
      ['1700000000000-1-bbbbbbbb-0-logs-n.wal', false, 7],
    ]);
    expect(table.diskBytes).toBe(18);
    // Known files are not taken twice.
    takeover.scan();
    expect(table.diskBytes).toBe(18);
  });

  it('looks again once rescanMs passed since the last look, not before', () => {
    const dir = tempDir('pipemon-takeover-');
    const clock = { now: 1_000 };
    const { table, takeover } = takeoverIn(dir, clock);
    takeover.scan();
    fs.writeFileSync(path.join(dir, '1700000000000-1-bbbbbbbb-0-logs-n.wal'), Buffer.alloc(7));
    clock.now += 29_999;
    takeover.scanIfDue();
    expect([...table]).toHaveLength(0);
    clock.now += 1;
    takeover.scanIfDue();
    expect([...table]).toHaveLength(1);
  });
});
