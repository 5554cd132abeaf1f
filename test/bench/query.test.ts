/**
 * bench:query at a tiny size, so that it keeps working as the storage and the queries change: its data
 * goes in through the write path and derives runs, its byte counts add up, its OTLP sample decodes to
 * the records it stands for, its queries answer and find their indexes, and the bench itself runs every
 * mode on a world filled before (--database-url, --fresh, --load=half). No timings are asserted.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { otlpRequests, storedBytesPerRecord } from '../../bench/query-bytes.js';
import { grafanaQueries } from '../../bench/query-grafana.js';
import { indexesOf, recording } from '../../bench/query-indexes.js';
import { load, type Loaded } from '../../bench/query-load.js';
import { getApi, measure } from '../../bench/query-measure.js';
import { RARE_WORD } from '../../bench/query-records.js';
import { pickAround, routeQueries } from '../../bench/query-routes.js';
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
    const busiest = loaded.pipelines[0]!;
    const cases = routeQueries(await pickAround(db, loaded.tenants[busiest.tenant]!, busiest, 10));
    const ofRun = cases.find((c) => c.name.startsWith('api: /logs run_id='))!;
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

/** bench/query.ts as npm run bench:query runs it (through vite-node, from its TypeScript), its JSON parsed. */
async function runBench(args: string[]): Promise<BenchOutput> {
  const bench = fileURLToPath(new URL('../../bench/query.ts', import.meta.url));
  const viteNode = createRequire(import.meta.url).resolve('vite-node/vite-node.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [viteNode, bench, '--', ...args], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as BenchOutput;
}

interface Timed {
  name: string;
  api?: { p50_ms: number } | null;
  sql?: { p50_ms: number };
  failed?: string;
}

interface BenchOutput {
  modes: { fresh: boolean; load: string; reused_world?: boolean };
  results: {
    queries: Timed[];
    page_seeks: { list: string; first_at: string; middle_after: string; last_after: string; last_page_rows: number }[];
    fresh: { day: { records: number; partitions: string[] }; partitions_while_measured: { analyzed: boolean; planner_rows: number }[]; before_analyze: Timed[]; after_analyze: Timed[] };
    under_load: {
      ingest_capacity_alone: { records: number; records_per_second: number };
      half_load: { asked_records_per_second: number; achieved: { records: number } };
      queries: Timed[];
      ingest_with_reads: { with_reads: { records: number }; reads: number };
      ingest_with_reads_vs_alone: number;
    };
  }[];
}

describe.each(inject('databaseServers'))('bench:query on a world filled before, on $name', (server) => {
  let databaseUrl: string;
  let db: Database;
  let before: number;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase(server.url);
    db = await openDatabase({ databaseUrl });
    await load(db, RECORDS, Date.now());
    await db.query('VACUUM ANALYZE');
    before = await countLogs(db);
  });

  afterAll(async () => {
    await db?.close();
  });

  it('times the cases, their pages, a fresh day before and after ANALYZE, and the cases under half the ingest capacity', async () => {
    // The runs of the busiest pipeline: a few cases, its deep pages, each mode, in seconds.
    const output = await runBench([`--database-url=${databaseUrl}`, '--reps=1', '--cases=/runs pipeline=the busiest', '--fresh', '--load=half', '--ingest-seconds=1']);
    expect(output.modes).toEqual({ fresh: true, load: 'half', reused_world: true });
    const [result] = output.results;
    const answered = (list: Timed[]) => list.filter((q) => !q.failed && (q.api ?? q.sql)!.p50_ms >= 0).map((q) => q.name);

    // Only the cases asked for, each answered: the lists of the busiest pipeline, and their deep pages.
    const quiet = answered(result!.queries);
    expect(quiet.length).toBe(result!.queries.length);
    expect(quiet.every((name) => name.includes('/runs pipeline=the busiest'))).toBe(true);
    expect(quiet.filter((name) => name.startsWith('pages: /runs pipeline=the busiest'))).toHaveLength(3);
    for (const seek of result!.page_seeks) {
      expect(seek.middle_after < seek.first_at && seek.last_after < seek.middle_after, seek.list).toBe(true);
      expect(seek.last_page_rows).toBeGreaterThan(0);
    }

    const { fresh } = result!;
    expect(fresh.day.records).toBeGreaterThan(0);
    expect(fresh.partitions_while_measured.length).toBeGreaterThan(0);
    expect(fresh.partitions_while_measured.every((p) => !p.analyzed && p.planner_rows === -1)).toBe(true);
    expect(answered(fresh.before_analyze)).toEqual(answered(fresh.after_analyze));
    expect(fresh.before_analyze.length).toBeGreaterThan(0);

    const load = result!.under_load;
    expect(load.ingest_capacity_alone.records).toBeGreaterThan(0);
    expect(load.half_load.asked_records_per_second).toBe(Math.round(load.ingest_capacity_alone.records_per_second / 2));
    expect(load.half_load.achieved.records).toBeGreaterThan(0);
    // Every query again under load but the deep pages, which are timed quiet.
    expect(answered(load.queries)).toEqual(quiet.filter((name) => !name.startsWith('pages: ')));
    expect(load.ingest_with_reads.with_reads.records).toBeGreaterThan(0);
    expect(load.ingest_with_reads.reads).toBeGreaterThan(0);
    expect(load.ingest_with_reads_vs_alone).toBeGreaterThan(0);

    // The fresh day's records and every ingested one are stored: the bench's figures are of real writes.
    const ingested = [load.ingest_capacity_alone, load.half_load.achieved, load.ingest_with_reads.with_reads].reduce((sum, r) => sum + r.records, 0);
    expect(await countLogs(db)).toBeGreaterThanOrEqual(before + fresh.day.records + ingested);
  }, 300_000);
});

async function countLogs(db: Database): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM logs');
  return rows[0]!.n;
}
