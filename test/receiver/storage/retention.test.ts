/**
 * Retention of what the write path derives (receiver/storage/retention.ts): lineage goes by its last use,
 * a tenant's shorter retention deletes its metric points and their series a day at a time, and only the
 * tenant whose retention it is loses any.
 */
import { describe, expect, it } from 'vitest';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { decodeLogsJson } from '../../../receiver/decode/otlp-json.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import type { Tenant } from '../../../receiver/model/records.js';
import type { Database } from '../../../receiver/storage/database.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { cleanupTenant, deleteRunsBefore, setTenantRetentionDays } from '../../../receiver/storage/retention.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { backends, freshDatabase } from '../../helpers/backends.js';
import { otlpJsonLogs } from '../../helpers/otlp-json.js';
import { nanos, pointRow } from '../../helpers/rows.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2031, 6, 1);

/** A run's end naming what it read and wrote. */
async function runEnd(db: Database, tenant: Tenant, runId: string, atMs: number, inputs: string, outputs: string) {
  const attributes = { [ATTR.pipelineName]: 'report', [ATTR.runId]: runId, [ATTR.runResult]: 'success', [ATTR.lineageInputs]: inputs, [ATTR.lineageOutputs]: outputs };
  const logs = decodeLogsJson(otlpJsonLogs({ 'service.name': 'report' }, [{ eventName: EVENT.runEnd, timeMs: atMs, attributes }]));
  await db.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepare(tenant, logs, [])]));
}

const names = async (db: Database, sql: string) => (await db.query<{ v: string }>(sql)).rows.map((row) => row.v);

describe.each(backends())('retention on $name', (backend) => {
  it('deletes lineage by its last use: old reads and writes, edges unused since the cutoff, datasets no edge leads to', async () => {
    const db = await freshDatabase(backend);
    const tenant = { id: 1, name: 'default' };
    await runEnd(db, tenant, 'old', T0, 'dw://orders', 'dw://revenue_v1');
    await runEnd(db, tenant, 'new', T0 + 10 * DAY, 'dw://orders', 'dw://revenue');
    await runEnd(db, { id: 2, name: 'other' }, 'old', T0, 'dw://orders', 'dw://revenue_v1');

    await deleteRunsBefore(db, new Date(T0 + 5 * DAY).toISOString(), 1);
    expect(await names(db, `SELECT tenant_id || ' ' || run_id || ' ' || direction AS v FROM run_datasets ORDER BY 1`)).toEqual([
      '1 new read',
      '1 new write',
      '2 old read',
      '2 old write',
    ]);
    // The edge to dw://orders was used again since: it stays, with its last run.
    expect(await names(db, `SELECT e.tenant_id || ' ' || d.dataset || ' ' || e.last_run_id AS v FROM lineage_edges e JOIN datasets d USING (tenant_id, dataset_id) ORDER BY 1`)).toEqual([
      '1 dw://orders new',
      '1 dw://revenue new',
      '2 dw://orders old',
      '2 dw://revenue_v1 old',
    ]);
    expect(await names(db, `SELECT tenant_id || ' ' || dataset AS v FROM datasets ORDER BY 1`)).toEqual([
      '1 dw://orders',
      '1 dw://revenue',
      '2 dw://orders',
      '2 dw://revenue_v1',
    ]);
  });

  it("deletes a tenant's metric points older than its retention, and the series no point is left in, and no other tenant's", async () => {
    const db = await freshDatabase(backend);
    const now = T0 + 10 * DAY;
    const points = [9, 8, 0].map((ago) => pointRow({ startTimeUnixNano: '0', timeUnixNano: nanos(now - ago * DAY) }));
    const tenants: Tenant[] = [];
    for (const name of ['short', 'long']) {
      const { rows } = await db.query<{ id: number }>(`INSERT INTO tenants (name) VALUES ($1) RETURNING tenant_id AS id`, [name]);
      tenants.push({ id: rows[0]!.id, name });
      await db.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepare(tenants.at(-1)!, [], [], points)]));
    }
    const [short, long] = tenants as [Tenant, Tenant];
    await setTenantRetentionDays(db, short.id, 5);
    const cleaned = await cleanupTenant(db, short.id, 30, now);
    expect(cleaned.deleted.points).toBe(2);
    const days = (...ago: number[]) => ago.map((a) => new Date(now - a * DAY).toISOString().slice(0, 10));
    const streamDays = (tenant: Tenant) => names(db, `SELECT day::text AS v FROM metric_streams WHERE tenant_id = ${tenant.id} ORDER BY 1`);
    expect([await streamDays(short), await streamDays(long)]).toEqual([days(0), days(9, 8, 0)]);
    const pointsOf = async (tenant: Tenant) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM metric_points WHERE tenant_id = $1', [tenant.id])).rows[0]!.n;
    expect([await pointsOf(short), await pointsOf(long)]).toEqual([1, 3]);
  });
});
