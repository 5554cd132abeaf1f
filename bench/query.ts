/**
 * Query speed at scale: a PostgreSQL server filled with realistic monitoring data through the
 * receiver's write path (bench/query-load.ts: 500 pipelines of skewed sizes over 30 days, three
 * tenants, a run per 10 records), VACUUM ANALYZE, then every question a user can ask the API (cases
 * generated from the route table, bench/query-routes.ts) through a receiver's HTTP API and as SQL, the
 * first, a middle and the last page of the logs and runs lists, the lineage cases, and every SQL query of
 * the Grafana dashboards, each beside the same SQL without the indexes it uses; and bytes per record on
 * disk beside OTLP protobuf. Prints one JSON object.
 *
 * On Debian's PostgreSQL server (the oldest version users run) at each size of BENCH_QUERY_RECORDS
 * (default 1,000,000 and 10,000,000), and on the embedded default (the npm package's server) at
 * BENCH_QUERY_EMBEDDED_RECORDS (default 1,000,000; 0 skips it). BENCH_QUERY_REPS repetitions per
 * query (default 30). Flags:
 *   --records=, --embedded-records=, --reps= override the variables;
 *   --cases=WORD[,WORD...] times only the queries whose name holds one of the words (any case), e.g.
 *     --cases=lineage or --cases="api: /logs,api: /runs", in every section;
 *   --database-url=URL measures a world bench:query-load.ts filled before instead of filling one (it
 *     adds a key per tenant, and --fresh and --load write into it);
 *   --fresh adds a fresh day into new partitions and times the list cases before and after ANALYZE;
 *   --load=half times the queries again under an ingest load of half the receiver's capacity, and the
 *     ingest at full speed while the reads run beside it alone (--ingest-seconds=, default 25).
 */
import { loadavg } from 'node:os';
import { createKey } from '../receiver/auth/keys.js';
import { startReceiver } from '../receiver/serve.js';
import type { Database } from '../receiver/storage/database.js';
import { openDatabase } from '../receiver/storage/open.js';
import { DEBIAN_HINT, debianBinaries, startPostgres, type PostgresServer } from '../harness/postgres.js';
import { otlpBytesPerRecord, storedBytesPerRecord } from './query-bytes.js';
import { GOAL_MS } from './query-cases.js';
import { load, type BenchTenant, type Loaded } from './query-load.js';
import { fresh, quiet, underLoad, type Bench, type World } from './query-sections.js';
import { DAYS, PIPELINES, pipelines, random, TENANTS } from './query-world.js';

function setting(flag: string, variable: string, fallback: string): string {
  const prefix = `--${flag}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length) ?? process.env[variable] ?? fallback;
}

function counts(text: string, what: string): number[] {
  const values = text.split(',').filter((part) => part.trim() !== '').map(Number);
  if (values.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`${what}: "${text}" is not a comma-separated list of record counts (e.g. 1000000,10000000)`);
  return values.filter((n) => n > 0);
}

const LOADS = ['none', 'half'];
const SIZES = counts(setting('records', 'BENCH_QUERY_RECORDS', '1000000,10000000'), 'BENCH_QUERY_RECORDS');
const EMBEDDED_SIZES = counts(setting('embedded-records', 'BENCH_QUERY_EMBEDDED_RECORDS', '1000000'), 'BENCH_QUERY_EMBEDDED_RECORDS');
const REPS = counts(setting('reps', 'BENCH_QUERY_REPS', '30'), 'BENCH_QUERY_REPS')[0] ?? 30;
const CASES = setting('cases', 'BENCH_QUERY_CASES', '').toLowerCase();
const CASE_WORDS = CASES.split(',').filter((word) => word !== '');
const DATABASE_URL = setting('database-url', 'BENCH_QUERY_DATABASE_URL', '');
const FRESH = process.argv.includes('--fresh');
const LOAD = setting('load', 'BENCH_QUERY_LOAD', 'none');
if (!LOADS.includes(LOAD)) throw new Error(`--load=${LOAD}: use one of ${LOADS.join(', ')}`);
const INGEST_SECONDS = counts(setting('ingest-seconds', 'BENCH_QUERY_INGEST_SECONDS', '25'), 'BENCH_QUERY_INGEST_SECONDS')[0] ?? 25;
/** A receiver on a world filled before keeps all of it, however long ago it was filled. */
const REUSED_RETENTION_DAYS = 3650;

const log = (message: string) => console.error(`bench:query: ${message}`);
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
/** The one-minute load average, to read the figures by: others' work on a shared machine slows them. */
const load1 = () => round(loadavg()[0]!, 2);

async function serverSettings(db: Database) {
  const { rows } = await db.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings WHERE name IN ('server_version', 'shared_buffers', 'work_mem', 'effective_cache_size', 'jit', 'max_parallel_workers_per_gather')`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.unit ? `${row.setting} x ${row.unit}` : row.setting]));
}

async function stored(db: Database) {
  const { rows } = await db.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM logs) AS records, count(*)::int AS runs, count(*) FILTER (WHERE state = 'running')::int AS running,
            count(*) FILTER (WHERE result = 'failure')::int AS failed,
            (SELECT count(*)::int FROM pipeline_stages) AS stages,
            (SELECT count(*)::int FROM pipeline_checks) AS checks,
            (SELECT count(*)::int FROM pipeline_days) AS pipeline_days,
            (SELECT count(*)::int FROM datasets) AS datasets, (SELECT count(*)::int FROM lineage_edges) AS edges,
            (SELECT count(*)::int FROM run_datasets) AS run_datasets
       FROM pipeline_runs`,
  );
  return rows[0]!;
}

/** A fresh database on `server` filled with `records` records. */
async function filledWorld(server: PostgresServer, label: string, records: number): Promise<{ world: World; loaded: Loaded; vacuumSeconds: number }> {
  const db = await openDatabase({ databaseUrl: server.url });
  const nowMs = Date.now();
  log(`${label}: generating ${records} records`);
  const loaded = await load(db, records, nowMs, (n) => log(`${label}: ${n} records stored`)).catch(async (error: unknown) => {
    await db.close();
    throw error;
  });
  const vacuumStarted = performance.now();
  // As autovacuum would in time: statistics for the planner, visibility maps for index-only scans.
  await db.query('VACUUM ANALYZE');
  const world = { db, url: server.url, tenants: loaded.tenants, pipelines: loaded.pipelines, nowMs, records: loaded.records, retentionDays: 30 };
  return { world, loaded, vacuumSeconds: (performance.now() - vacuumStarted) / 1000 };
}

/**
 * A world filled before (by query-load.ts, as the other sizes are): its pipelines are the seeded ones,
 * its now the newest record's time; a key per tenant is added to read and ingest with.
 */
async function reusedWorld(url: string): Promise<World> {
  const db = await openDatabase({ databaseUrl: url });
  const tenants: BenchTenant[] = [];
  for (const { name } of TENANTS) {
    const { key, tenantId, tenantCreated } = await createKey(db, name, ['ingest', 'read']);
    if (tenantCreated) throw new Error(`--database-url: tenant ${name} was not there: give the URL of a database bench:query filled (bench/query-load.ts)`);
    tenants.push({ id: tenantId, name, key });
  }
  const { rows } = await db.query<{ newest: Date; records: number }>(`SELECT max(ts) AS newest, (SELECT count(*)::int FROM logs) AS records FROM logs`);
  return { db, url, tenants, pipelines: pipelines(random(10)), nowMs: rows[0]!.newest.getTime(), records: rows[0]!.records, retentionDays: REUSED_RETENTION_DAYS };
}

/** A section that fails is reported with its error, so that the sections before it still print. */
async function orFailure<T>(section: () => Promise<T>): Promise<T | { failed: string }> {
  try {
    return await section();
  } catch (error) {
    log(`a section failed: ${(error as Error).stack}`);
    return { failed: (error as Error).message };
  }
}

const listOf = (section: object | undefined, key: string) => (section && key in section ? ((section as Record<string, unknown>)[key] as Outcome[]) : []);

/** Each section asked for, on `world`, with a receiver on it for the API. */
async function sections(world: World, label: string) {
  const receiver = await startReceiver({ port: 0, databaseUrl: world.url, retentionDays: world.retentionDays });
  const bench: Bench = { world, receiverUrl: receiver.url, reps: REPS, chosen: (name) => CASE_WORDS.length === 0 || CASE_WORDS.some((word) => name.toLowerCase().includes(word)), ingestSeconds: INGEST_SECONDS, log: (m) => log(`${label}: ${m}`) };
  try {
    const loadBefore = load1();
    const measured = await quiet(bench);
    const loadAfterQuiet = load1();
    const freshDay = FRESH ? await orFailure(() => fresh(bench)) : undefined;
    const loaded = LOAD === 'half' ? await orFailure(() => underLoad(bench)) : undefined;
    return {
      load_average_1m: { before_queries: loadBefore, after_quiet: loadAfterQuiet, after: load1() },
      ...measured,
      ...(freshDay ? { fresh: freshDay } : {}),
      ...(loaded ? { under_load: loaded } : {}),
    };
  } finally {
    await receiver.close();
  }
}

type Outcome = { name: string; meets_goal: boolean; goal_ms?: number; failed?: string; api?: { p95_ms: number } | null; sql?: { p95_ms: number } };

function missed(list: Outcome[] = [], where = ''): string[] {
  return list
    .filter((m) => !m.meets_goal)
    .map((m) => `${where}${m.name}: ${m.failed ? `failed: ${m.failed}` : `p95 ${(m.api ?? m.sql)!.p95_ms} ms, goal ${m.goal_ms} ms`}`);
}

async function report(world: World, label: string, setup: Record<string, unknown>) {
  const measured = await sections(world, label);
  const bytes = await storedBytesPerRecord(world.db);
  return {
    server: label,
    postgres: await serverSettings(world.db),
    ...setup,
    stored: await stored(world.db),
    stored_bytes_per_record: bytes.per_record,
    stored_bytes_by_table: bytes.by_table,
    stored_total_mb: bytes.total_mb,
    ...measured,
    goals_missed: [
      ...missed(measured.queries as Outcome[]),
      ...missed(listOf(measured.fresh, 'before_analyze'), 'fresh, before ANALYZE: '),
      ...missed(listOf(measured.fresh, 'after_analyze'), 'fresh, after ANALYZE: '),
      ...missed(listOf(measured.under_load, 'queries'), 'under half load: '),
    ],
  };
}

/** Fills a fresh database on `server` with `records` records and measures every query on it. */
async function benchOn(server: PostgresServer, label: string, records: number) {
  const { world, loaded, vacuumSeconds } = await filledWorld(server, label, records);
  try {
    const otlp = otlpBytesPerRecord(loaded.sample);
    const data = {
      records: loaded.records,
      runs_scheduled: loaded.runs,
      tenants: loaded.tenants.map((tenant) => tenant.name),
      pipelines: PIPELINES,
      days: DAYS,
      generation_seconds: round(loaded.seconds, 1),
      generation_records_per_second: round(loaded.records / loaded.seconds),
      vacuum_analyze_seconds: round(vacuumSeconds, 1),
      otlp_protobuf_bytes_per_record: otlp,
    };
    return await report(world, label, { records_asked: records, data });
  } finally {
    await world.db.close();
  }
}

async function benchReused(url: string) {
  const world = await reusedWorld(url);
  try {
    return await report(world, 'a world filled before', { data: { records: world.records, generated_up_to: new Date(world.nowMs).toISOString() } });
  } finally {
    await world.db.close();
  }
}

async function onFreshServer<T>(start: () => Promise<PostgresServer>, fn: (server: PostgresServer) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await fn(server);
  } finally {
    await server.destroy();
  }
}

async function allResults() {
  if (DATABASE_URL) return [await benchReused(DATABASE_URL)];
  const results = [];
  const debian = debianBinaries();
  if (!debian && SIZES.length > 0) log(`Debian's server not found, its sizes are skipped: ${DEBIAN_HINT}`);
  for (const records of debian ? SIZES : []) {
    results.push(await onFreshServer(() => startPostgres(debian!), (server) => benchOn(server, 'Debian server', records)));
  }
  for (const records of EMBEDDED_SIZES) {
    results.push(await onFreshServer(() => startPostgres(), (server) => benchOn(server, 'embedded default', records)));
  }
  return results;
}

const started = performance.now();
const results = await allResults();
console.log(
  JSON.stringify({
    benchmark: 'query latency at scale',
    node: process.version,
    goals_ms: { list_detail_overview_p95: GOAL_MS.query, search_p95: GOAL_MS.search, at_records: 10_000_000 },
    repetitions: REPS,
    ...(CASES === '' ? {} : { cases: CASES }),
    modes: { fresh: FRESH, load: LOAD, ...(DATABASE_URL ? { reused_world: true } : {}) },
    results,
    seconds: round((performance.now() - started) / 1000, 1),
  }),
);
