/**
 * bench:query at a tiny size, so that it keeps working as the storage and the queries change: its data
 * goes in through the write path and derives runs, its byte counts add up, its OTLP sample decodes to
 * the records it stands for, and its queries answer and find their indexes. No timings are asserted.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { otlpRequests, storedBytesPerRecord } from '../../bench/query-bytes.js';
import { apiCases, pickRuns } from '../../bench/query-cases.js';
import { grafanaQueries } from '../../bench/query-grafana.js';
import { indexesOf, recording } from '../../bench/query-indexes.js';
import { load, type Loaded } from '../../bench/query-load.js';
import { getApi, measure } from '../../bench/query-measure.js';
import { RARE_WORD } from '../../bench/query-records.js';
import { decodeLogsProtobuf } from '../../receiver/decode/otlp-protobuf.js';
import { startReceiver, type Receiver } from '../../receiver/serve.js';
import type { Database } from '../../receiver/storage/database.js';
import { openDatabase } from '../../receiver/storage/open.js';
import { renderLog } from '../../receiver/storage/rows-csv.js';
import { createTestDatabase } from '../helpers/backends.js';

const RECORDS = 5000;

describe.each(inject('databaseServers'))('bench:query on $name', (server) => {
  let db: Database;
  let receiver: Receiver;
  let loaded: Loaded;
  const nowMs = Date.now();

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase(server.url);
    db = await openDatabase({ databaseUrl });
    loaded = await load(db, RECORDS, nowMs);
    await db.query('VACUUM ANALYZE');
    receiver = await startReceiver({ port: 0, databaseUrl });
  });

  afterAll(async () => {
    await receiver?.close();
    await db?.close();
  });

  it('stores every generated record and derives every scheduled run, some failed, with stages and checks', async () => {
    const { rows } = await db.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM logs) AS records, (SELECT count(*)::int FROM pipeline_runs) AS runs,
              (SELECT count(*)::int FROM pipeline_runs WHERE result = 'failure') AS failed,
              (SELECT count(*)::int FROM pipeline_stages) AS stages,
              (SELECT count(*)::int FROM logs WHERE event_name = 'pipeline.check') AS checks,
              (SELECT count(DISTINCT tenant_id)::int FROM logs) AS tenants`,
    );
    expect(rows[0]).toMatchObject({ records: loaded.records, runs: loaded.runs, tenants: 3 });
    expect(loaded.records).toBeGreaterThan(RECORDS * 0.9);
    expect(rows[0]!.failed).toBeGreaterThan(0);
    expect(rows[0]!.stages).toBeGreaterThan(loaded.runs);
    expect(rows[0]!.checks).toBeGreaterThan(0);
  });

  it('counts bytes over the stored logs relations, and its OTLP sample decodes to the records it stands for', async () => {
    const stored = await storedBytesPerRecord(db);
    expect(stored.records).toBe(loaded.records);
    const { heap, indexes, toast, total } = stored.per_record;
    expect(heap).toBeGreaterThan(0);
    expect(indexes).toBeGreaterThan(0);
    expect(heap + indexes + toast).toBeCloseTo(total, 0);

    const fingerprints = (rows: typeof loaded.sample) => rows.map((row) => renderLog(1, row).fingerprint).sort();
    const decoded = otlpRequests(loaded.sample).flatMap((request) => decodeLogsProtobuf(request));
    expect(fingerprints(decoded)).toEqual(fingerprints(loaded.sample));
  });

  it('answers its API queries through HTTP with items, as SQL, and finds the indexes they use', async () => {
    const cases = apiCases({ tenants: loaded.tenants, runs: await pickRuns(db, loaded.tenants[0]!.id, 10) });
    const ofRun = cases.find((c) => c.name === 'logs of one run')!;
    const { tenant, path } = ofRun.api!(0);
    expect(((await getApi(receiver.url, tenant, path)) as { items: unknown[] }).items.length).toBeGreaterThan(0);

    const measured = await measure(db, receiver.url, 3, ofRun);
    if ('failed' in measured) throw new Error(`logs of one run failed: ${measured.failed}`);
    expect(measured.indexes.length).toBeGreaterThan(0);
    expect(measured.without_indexes).toHaveProperty('plan_indexes');
    for (const index of measured.indexes) expect((measured.without_indexes as { plan_indexes: string[] }).plan_indexes).not.toContain(index);
    // Dropped in a transaction rolled back: the plan uses them again.
    const recorded = recording(db);
    await ofRun.sql(recorded.db, 0);
    expect(await indexesOf(db, recorded.statements)).toEqual(measured.indexes);
  });

  it('expands every Grafana query, and each runs', async () => {
    const { rows } = await db.query<{ pipeline: string; run_id: string }>(
      `SELECT pipeline, run_id FROM pipeline_runs WHERE tenant_id = $1 ORDER BY started_at DESC LIMIT 1`,
      [loaded.tenants[0]!.id],
    );
    const queries = await grafanaQueries(db, [{ tenant: loaded.tenants[0]!.name, ...rows[0]! }], RARE_WORD, nowMs);
    expect(queries.some((query) => query.search)).toBe(true);
    for (const query of queries) {
      expect(query.sqls[0], query.name).not.toMatch(/\$\{?\w+|\[\[\w+/);
      await db.query(query.sqls[0]!);
    }
  });
});
