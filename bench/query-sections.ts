/**
 * bench:query's sections on one world: every query quiet (the API cases generated from the route table,
 * the lineage cases, the Grafana panels, pages deep in the lists), then, when asked, the list cases on a
 * fresh day before and after ANALYZE, and the cases under an ingest load of half the receiver's capacity
 * with the ingest's own figures beside.
 */
import { UID } from '../dashboards/grafana/links.js';
import type { Database } from '../receiver/storage/database.js';
import { GOAL_MS } from './query-cases.js';
import { analyzed, analyzeFresh, loadFreshDay } from './query-fresh.js';
import { grafanaQueries, type Selection } from './query-grafana.js';
import { ingestFor, startIngest, type LoadResult } from './query-ingest.js';
import { lineageCases, pickLineage } from './query-lineage-cases.js';
import type { BenchTenant } from './query-load.js';
import { getApi, measure, type Query } from './query-measure.js';
import { pageQueries } from './query-pages.js';
import { RARE_WORD } from './query-records.js';
import { pickAround, routeCases, routeQueries, type RoutePicks } from './query-routes.js';
import type { Pipeline } from './query-world.js';

/** Runs and datasets the cases cycle through. */
const SAMPLED = 20;
/** Selections the Grafana queries cycle through: runs of the last day, so that the run dashboard has one. */
const GRAFANA_SELECTIONS = 5;

/** A filled database, and what the bench knows of it. */
export interface World {
  db: Database;
  url: string;
  tenants: BenchTenant[];
  pipelines: Pipeline[];
  /** The time the data was generated up to. */
  nowMs: number;
  records: number;
  retentionDays: number;
}

export interface Bench {
  world: World;
  receiverUrl: string;
  reps: number;
  /** Whether a query is measured (--cases=). */
  chosen: (name: string) => boolean;
  /** Seconds of each timed ingest. */
  ingestSeconds: number;
  log: (message: string) => void;
}

type Measured = Awaited<ReturnType<typeof measure>>;

/** The busiest pipeline (the first: query-world.ts sizes them by Zipf) and its tenant. */
export function busiestOf(world: World) {
  const pipeline = world.pipelines[0]!;
  return { pipeline, tenant: world.tenants[pipeline.tenant]! };
}

/** Each chosen query; beside the same SQL without its indexes only quiet (`withoutIndexes`), where that is the comparison. */
async function measureAll(bench: Bench, label: string, queries: Query[], withoutIndexes = false): Promise<Measured[]> {
  const measured: Measured[] = [];
  for (const query of queries.filter((q) => bench.chosen(q.name))) {
    bench.log(`${label}: ${query.name}`);
    measured.push(await measure(bench.world.db, bench.receiverUrl, bench.reps, query, { withoutIndexes }));
  }
  return measured;
}

async function grafanaSelections(world: World): Promise<Selection[]> {
  const tenant = world.tenants[0]!;
  const { rows } = await world.db.query<{ run_id: string; pipeline: string }>(
    `SELECT run_id, pipeline FROM pipeline_runs WHERE tenant_id = $1 AND started_at >= $2 ORDER BY random() LIMIT $3`,
    [tenant.id, new Date(world.nowMs - 23 * 3_600_000).toISOString(), GRAFANA_SELECTIONS],
  );
  return rows.map((row) => ({ tenant: tenant.name, pipeline: row.pipeline, run_id: row.run_id }));
}

/** Every Grafana query; the Lineage dashboard once more with the busiest pipeline chosen. */
async function grafanaCases(world: World): Promise<Query[]> {
  const busiest = busiestOf(world);
  const pinned = { uids: [UID.lineage], selections: [{ tenant: busiest.tenant.name, pipeline: busiest.pipeline.name }] };
  const panels = await grafanaQueries(world.db, await grafanaSelections(world), RARE_WORD, world.nowMs, pinned);
  return panels.map((panel) => ({
    name: `grafana: ${panel.name}`,
    goalMs: panel.search ? GOAL_MS.search : GOAL_MS.query,
    sql: (q, i) => q.query(panel.sqls[i % panel.sqls.length]!),
  }));
}

/** Every query of the bench but the pages: the API cases, the lineage cases, the Grafana panels. */
async function allQueries(world: World, picks: RoutePicks): Promise<Query[]> {
  return [...routeQueries(picks), ...lineageCases(await pickLineage(world.db, picks.tenant, picks.pipeline.name, SAMPLED)), ...(await grafanaCases(world))];
}

const picksOf = (world: World, sinceMs?: number) => {
  const { pipeline, tenant } = busiestOf(world);
  return pickAround(world.db, tenant, pipeline, SAMPLED, sinceMs);
};

/** Every query quiet, and the first, a middle and the last page of the logs and runs lists. */
export async function quiet(bench: Bench) {
  const { world } = bench;
  const picks = await picksOf(world);
  const queries = await allQueries(world, picks);
  const oldestMs = world.nowMs - world.retentionDays * 86_400_000;
  const pages = await pageQueries(bench.receiverUrl, routeCases(picks), picks, oldestMs, bench.chosen);
  return { queries: await measureAll(bench, 'quiet', [...queries, ...pages.queries], true), page_seeks: pages.seeks };
}

/** The list cases' first pages on a fresh day before ANALYZE, then after: the same queries on the same data. */
export async function fresh(bench: Bench) {
  const { world } = bench;
  const day = await loadFreshDay(world.db, world.records, world.nowMs, (n) => bench.log(`fresh day: ${n} records stored`));
  // Lists only: their first pages are the fresh day's records; details and overviews are timed quiet.
  const queries = routeQueries(await picksOf(world, day.fromMs), (c) => Boolean(c.route.list?.paged));
  const before = await measureAll(bench, 'fresh, before ANALYZE', queries);
  const analyzedWhileMeasured = await analyzed(world.db, day.partitions);
  await analyzeFresh(world.db, day.partitions);
  const after = await measureAll(bench, 'fresh, after ANALYZE', queries);
  return {
    day: { from: new Date(day.fromMs).toISOString(), to: new Date(day.toMs).toISOString(), records: day.loaded.records, runs: day.loaded.runs, partitions: day.partitions },
    // Evidence that the figures before are of unanalyzed partitions: nothing had analyzed them when measured.
    partitions_while_measured: analyzedWhileMeasured,
    before_analyze: before,
    after_analyze: after,
  };
}

/**
 * Reads one after another, through the API, of every query that has a route, until `done` settles. A
 * read refused (a query past the read time limit) is counted by its answer, and the reads go on.
 */
async function readWhile<T>(bench: Bench, queries: Query[], done: Promise<T>) {
  const routed = queries.filter((q) => q.api && bench.chosen(q.name));
  let settled = false;
  const finished = done.finally(() => (settled = true));
  const started = performance.now();
  let reads = 0;
  const refused: Record<string, number> = {};
  while (!settled && routed.length > 0) {
    const { tenant, path } = routed[reads % routed.length]!.api!(reads);
    await getApi(bench.receiverUrl, tenant, path).catch((error: Error) => {
      // By route and answer: the same refusal of each request's own values counted once.
      const why = `${path.split('?')[0]} ${error.message.replace(/^GET \S+ /, '').slice(0, 120)}`;
      refused[why] = (refused[why] ?? 0) + 1;
    });
    reads++;
  }
  const result = await finished;
  return { result, reads, reads_per_second: Math.round(reads / ((performance.now() - started) / 1000)), refused };
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

/**
 * The receiver's ingest capacity (full speed, alone), the queries under half of it, then full speed
 * while the reads run, between two runs alone (ABA: drift on a shared machine weighs on both sides).
 */
export async function underLoad(bench: Bench) {
  const { world } = bench;
  const order = { databaseUrl: world.url, key: busiestOf(world).tenant.key, retentionDays: world.retentionDays };
  const full = () => ingestFor({ ...order, rate: 0 }, bench.ingestSeconds);
  bench.log('under load: ingest capacity alone');
  const capacity = await full();
  bench.log(`under load: ${capacity.records_per_second} records/s alone; the queries under half of it`);
  const queries = await allQueries(world, await picksOf(world));
  const half = await startIngest({ ...order, rate: Math.round(capacity.records_per_second / 2) });
  let halfResult: LoadResult;
  let measured: Measured[];
  try {
    measured = await measureAll(bench, 'under half load', queries);
  } finally {
    halfResult = await half.stop();
  }
  bench.log('under load: ingest at full speed while the reads run');
  const withReads = await readWhile(bench, queries, full());
  const aloneAgain = await full();
  const alone = (capacity.records_per_second + aloneAgain.records_per_second) / 2;
  return {
    load_generator: 'a child process: its own receiver on the same database, 8 clients sending OTLP/HTTP protobuf requests of 1,000 records',
    ingest_capacity_alone: capacity,
    half_load: { asked_records_per_second: Math.round(capacity.records_per_second / 2), achieved: halfResult },
    queries: measured,
    ingest_with_reads: { alone_before: capacity, with_reads: withReads.result, alone_after: aloneAgain, reads: withReads.reads, reads_per_second: withReads.reads_per_second, reads_refused: withReads.refused },
    ingest_with_reads_vs_alone: ratio(withReads.result.records_per_second, alone),
  };
}
