/**
 * Query speed at scale: a PostgreSQL server filled with realistic monitoring data through the
 * receiver's write path (bench/query-load.ts: 500 pipelines of skewed sizes over 30 days, three
 * tenants, a run per 10 records), VACUUM ANALYZE, then every API list, detail and overview through a
 * receiver's HTTP API and as SQL, and every SQL query of the Grafana dashboards, each beside the same
 * SQL without the indexes it uses, and bytes per record on disk beside OTLP protobuf. The lineage
 * read API and the Lineage dashboard likewise, on the datasets the pipelines read and write
 * (bench/query-lineage.ts). Prints one JSON object.
 *
 * On Debian's PostgreSQL server (the oldest version users run) at each size of BENCH_QUERY_RECORDS
 * (default 1,000,000 and 10,000,000), and on the embedded default (the npm package's server) at
 * BENCH_QUERY_EMBEDDED_RECORDS (default 1,000,000; 0 skips it). BENCH_QUERY_REPS repetitions per
 * query (default 30). Flags --records=, --embedded-records=, --reps= override the variables;
 * --cases=WORD times only the queries whose name holds WORD (any case), e.g. --cases=lineage.
 */
import { loadavg } from 'node:os';
import { UID } from '../dashboards/grafana/links.js';
import { startReceiver } from '../receiver/serve.js';
import type { Database } from '../receiver/storage/database.js';
import { openDatabase } from '../receiver/storage/open.js';
import { DEBIAN_HINT, debianBinaries, startPostgres, type PostgresServer } from '../harness/postgres.js';
import { otlpBytesPerRecord, storedBytesPerRecord } from './query-bytes.js';
import { apiCases, GOAL_MS, pickRuns } from './query-cases.js';
import { grafanaQueries, type Selection } from './query-grafana.js';
import { lineageCases, pickLineage } from './query-lineage-cases.js';
import { load, type BenchTenant, type Loaded } from './query-load.js';
import { measure, type Query } from './query-measure.js';
import { RARE_WORD } from './query-records.js';
import { DAYS, PIPELINES } from './query-world.js';

const SAMPLED_RUNS = 200;
/** Datasets and failed runs the lineage queries cycle through. */
const SAMPLED_LINEAGE = 20;
/** Selections the Grafana queries cycle through: runs of the last day, so that the run dashboard has one. */
const GRAFANA_SELECTIONS = 5;

function setting(flag: string, variable: string, fallback: string): string {
  const prefix = `--${flag}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length) ?? process.env[variable] ?? fallback;
}

function counts(text: string, what: string): number[] {
  const values = text.split(',').filter((part) => part.trim() !== '').map(Number);
  if (values.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`${what}: "${text}" is not a comma-separated list of record counts (e.g. 1000000,10000000)`);
  return values.filter((n) => n > 0);
}

const SIZES = counts(setting('records', 'BENCH_QUERY_RECORDS', '1000000,10000000'), 'BENCH_QUERY_RECORDS');
const EMBEDDED_SIZES = counts(setting('embedded-records', 'BENCH_QUERY_EMBEDDED_RECORDS', '1000000'), 'BENCH_QUERY_EMBEDDED_RECORDS');
const REPS = counts(setting('reps', 'BENCH_QUERY_REPS', '30'), 'BENCH_QUERY_REPS')[0] ?? 30;
const CASES = setting('cases', 'BENCH_QUERY_CASES', '').toLowerCase();
const chosen = (name: string) => name.toLowerCase().includes(CASES);

const log = (message: string) => console.error(`bench:query: ${message}`);
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

async function serverSettings(db: Database) {
  const { rows } = await db.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings WHERE name IN ('server_version', 'shared_buffers', 'work_mem', 'effective_cache_size', 'jit', 'max_parallel_workers_per_gather')`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.unit ? `${row.setting} x ${row.unit}` : row.setting]));
}

async function storedRuns(db: Database) {
  const { rows } = await db.query<Record<string, number>>(
    `SELECT count(*)::int AS runs, count(*) FILTER (WHERE state = 'running')::int AS running,
            count(*) FILTER (WHERE result = 'failure')::int AS failed,
            (SELECT count(*)::int FROM pipeline_stages) AS stages,
            (SELECT count(*)::int FROM pipeline_checks) AS checks,
            (SELECT count(*)::int FROM pipeline_days) AS pipeline_days
       FROM pipeline_runs`,
  );
  return rows[0]!;
}

/** The one-minute load average, to read the figures by: others' work on a shared machine slows them. */
const load1 = () => round(loadavg()[0]!, 2);

async function grafanaSelections(db: Database, tenant: BenchTenant): Promise<Selection[]> {
  const { rows } = await db.query<{ run_id: string; pipeline: string }>(
    `SELECT run_id, pipeline FROM pipeline_runs WHERE tenant_id = $1 AND started_at >= now() - interval '23 hours' ORDER BY random() LIMIT $2`,
    [tenant.id, GRAFANA_SELECTIONS],
  );
  return rows.map((row) => ({ tenant: tenant.name, pipeline: row.pipeline, run_id: row.run_id }));
}

async function storedLineage(db: Database) {
  const { rows } = await db.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM datasets) AS datasets, (SELECT count(*)::int FROM lineage_edges) AS edges,
            (SELECT count(*)::int FROM run_datasets) AS run_datasets`,
  );
  return rows[0]!;
}

/** The busiest pipeline (the first: query-world.ts sizes them by Zipf) and its tenant. */
function busiestOf(loaded: Loaded) {
  const busiest = loaded.pipelines[0]!;
  return { pipeline: busiest.name, tenant: loaded.tenants[busiest.tenant]! };
}

/** The API queries, then the lineage API's around the busiest pipeline. */
async function queriesOf(db: Database, loaded: Loaded): Promise<Query[]> {
  const picks = { tenants: loaded.tenants, runs: await pickRuns(db, loaded.tenants[0]!.id, SAMPLED_RUNS) };
  const busiest = busiestOf(loaded);
  return [...apiCases(picks), ...lineageCases(await pickLineage(db, busiest.tenant, busiest.pipeline, SAMPLED_LINEAGE))];
}

/** Fills a fresh database on `server` with `records` records and measures every query on it. */
async function benchOn(server: PostgresServer, label: string, records: number) {
  const db = await openDatabase({ databaseUrl: server.url });
  try {
    const nowMs = Date.now();
    log(`${label}: generating ${records} records`);
    const loaded = await load(db, records, nowMs, (stored) => log(`${label}: ${stored} records stored`));
    const vacuumStarted = performance.now();
    // As autovacuum would in time: statistics for the planner, visibility maps for index-only scans.
    await db.query('VACUUM ANALYZE');
    const vacuumSeconds = (performance.now() - vacuumStarted) / 1000;
    const stored = await storedBytesPerRecord(db);
    const otlp = otlpBytesPerRecord(loaded.sample);

    const receiver = await startReceiver({ port: 0, databaseUrl: server.url });
    const measured: Awaited<ReturnType<typeof measure>>[] = [];
    const loadBefore = load1();
    try {
      for (const query of (await queriesOf(db, loaded)).filter((q) => chosen(q.name))) {
        log(`${label}: ${query.name}`);
        measured.push(await measure(db, receiver.url, REPS, query));
      }
      const busiest = busiestOf(loaded);
      const pinned = { uids: [UID.lineage], selections: [{ tenant: busiest.tenant.name, pipeline: busiest.pipeline }] };
      const panels = (await grafanaQueries(db, await grafanaSelections(db, loaded.tenants[0]!), RARE_WORD, nowMs, pinned)).filter((panel) => chosen(`grafana: ${panel.name}`));
      for (const panel of panels) {
        log(`${label}: grafana ${panel.name}`);
        measured.push(
          await measure(db, receiver.url, REPS, {
            name: `grafana: ${panel.name}`,
            goalMs: panel.search ? GOAL_MS.search : GOAL_MS.query,
            sql: (q, i) => q.query(panel.sqls[i % panel.sqls.length]!),
          }),
        );
      }
    } finally {
      await receiver.close();
    }
    return {
      server: label,
      postgres: await serverSettings(db),
      records_asked: records,
      load_average_1m: { before_queries: loadBefore, after: load1() },
      data: {
        records: loaded.records,
        runs_scheduled: loaded.runs,
        stored: await storedRuns(db),
        lineage: await storedLineage(db),
        tenants: loaded.tenants.map((tenant) => tenant.name),
        pipelines: PIPELINES,
        days: DAYS,
        generation_seconds: round(loaded.seconds, 1),
        generation_records_per_second: round(loaded.records / loaded.seconds),
        vacuum_analyze_seconds: round(vacuumSeconds, 1),
      },
      bytes_per_record: {
        stored: stored.per_record,
        stored_by_table: stored.by_table,
        stored_total_mb: stored.total_mb,
        otlp_protobuf: otlp,
        stored_vs_otlp: round(stored.per_record.total / otlp, 2),
      },
      queries: measured,
      goals_missed: measured.filter((m) => !m.meets_goal).map((m) => ('failed' in m ? `${m.name}: failed` : `${m.name}: p95 ${(m.api ?? m.sql).p95_ms} ms, goal ${m.goal_ms} ms`)),
    };
  } finally {
    await db.close();
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

const started = performance.now();
const results = [];
const debian = debianBinaries();
if (!debian && SIZES.length > 0) log(`Debian's server not found, its sizes are skipped: ${DEBIAN_HINT}`);
for (const records of debian ? SIZES : []) {
  results.push(await onFreshServer(() => startPostgres(debian!), (server) => benchOn(server, 'Debian server', records)));
}
for (const records of EMBEDDED_SIZES) {
  results.push(await onFreshServer(() => startPostgres(), (server) => benchOn(server, 'embedded default', records)));
}

console.log(
  JSON.stringify({
    benchmark: 'query latency at scale',
    node: process.version,
    goals_ms: { list_detail_overview_p95: GOAL_MS.query, search_p95: GOAL_MS.search, at_records: 10_000_000 },
    repetitions: REPS,
    ...(CASES === '' ? {} : { cases: CASES }),
    results,
    seconds: round((performance.now() - started) / 1000, 1),
  }),
);
