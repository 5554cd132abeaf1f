/**
 * Fills a database with bench:query's data through the receiver's own write path (prepare, then
 * writeBatch in a transaction: COPY into staging tables, the moves into the stored tables, runs and
 * stages derived from the records), in large batches, as many transactions at once as the database
 * takes writes (db.writeConcurrency). So the data lands in whatever layout the receiver writes.
 */
import { createKey } from '../receiver/auth/keys.js';
import { prepare } from '../receiver/ingest/prepare.js';
import type { LogRow, Tenant } from '../receiver/model/records.js';
import type { Database } from '../receiver/storage/database.js';
import { createPartitionManager } from '../receiver/storage/partitions.js';
import { ensurePartitions } from '../receiver/storage/record-copy.js';
import { writeBatch } from '../receiver/storage/write-batch.js';
import { planLineage } from './query-lineage.js';
import { loadMetrics } from './query-metrics.js';
import { recordMaker } from './query-records.js';
import { pipelines, random, schedule, TENANTS, type Pipeline } from './query-world.js';

/** Records a run sends on average (query-records.ts: 2 + 2.5 stages x 3), plus one service record every other run: 10. */
const RECORDS_PER_RUN = 10;
const SERVICE_RECORDS_PER_RUN = 0.5;
const BATCH_RECORDS = 10_000;
/** Records kept for the OTLP size comparison: the first ones generated, of every kind. */
const SAMPLE_RECORDS = 20_000;

export interface BenchTenant extends Tenant {
  /** An ingest and read key: the API is timed with it. */
  key: string;
}

export interface Loaded {
  tenants: BenchTenant[];
  pipelines: Pipeline[];
  records: number;
  /** Runs scheduled; the stored pipeline_runs are counted after the load. */
  runs: number;
  seconds: number;
  sample: LogRow[];
}

/**
 * One more day on a loaded world: only the runs that start at or after `fromMs`, numbered from
 * `firstRun` so that their run ids are new.
 */
export interface Slice {
  fromMs: number;
  firstRun: number;
}

export async function load(db: Database, target: number, nowMs: number, onProgress: (records: number) => void = () => {}, slice?: Slice): Promise<Loaded> {
  const rng = random(10);
  const all = pipelines(rng);
  const lineage = planLineage(all);
  const plan = schedule(all, Math.max(1, Math.round(target / RECORDS_PER_RUN)), nowMs, rng);
  const maker = recordMaker(rng);
  const tenants: BenchTenant[] = [];
  for (const { name } of TENANTS) {
    const { key, tenantId } = await createKey(db, name, ['ingest', 'read']);
    tenants.push({ id: tenantId, name, key });
  }
  const sample: LogRow[] = [];
  let generated = 0;
  // Runs are in start order: a slice is the runs from the first that starts in it.
  const starting = slice ? plan.startMs.findIndex((ms) => ms >= slice.fromMs) : 0;
  const first = starting < 0 ? plan.startMs.length : starting;

  /** Batches of about BATCH_RECORDS records, whole runs each, by tenant. */
  function* batches(): Generator<LogRow[][]> {
    let batch: LogRow[][] = tenants.map(() => []);
    let size = 0;
    for (let i = first; i < plan.startMs.length; i++) {
      const p = all[plan.pipeline[i]!]!;
      const rows = maker.run(p, lineage[plan.pipeline[i]!]!, (slice?.firstRun ?? 0) + i, plan.startMs[i]!, plan.intervalSeconds[plan.pipeline[i]!]!, nowMs);
      batch[p.tenant]!.push(...rows);
      // The service outside any pipeline belongs to the biggest tenant, beside its pipelines.
      if (rng() < SERVICE_RECORDS_PER_RUN) {
        const record = maker.service(plan.startMs[i]!);
        batch[0]!.push(record);
        rows.push(record);
      }
      if (sample.length < SAMPLE_RECORDS) sample.push(...rows);
      size += rows.length;
      if (size >= BATCH_RECORDS || i === plan.startMs.length - 1) {
        generated += size;
        yield batch;
        batch = tenants.map(() => []);
        size = 0;
      }
    }
  }

  const partitions = createPartitionManager();
  const source = batches();
  let stored = 0;
  let reported = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: db.writeConcurrency }, async () => {
      for (let next = source.next(); !next.done; next = source.next()) {
        const prepared = next.value.map((rows, t) => prepare(tenants[t]!, rows, []));
        // As the receiver's writer does (ingest/commit.ts): partitions first, in a transaction of their own.
        await ensurePartitions(db, partitions, prepared);
        const effects = await db.transaction((tx) => writeBatch(tx, partitions, prepared));
        stored += effects.logs.accepted;
        if (stored - reported >= target / 10) onProgress((reported = stored));
      }
    }),
  );
  if (stored !== generated) throw new Error(`benchmark check failed: ${generated} records written, ${stored} stored`);
  const seconds = (performance.now() - started) / 1000;
  // The busiest pipeline's metrics, once its runs (and their traces) are stored; not timed with the records.
  await loadMetrics(db, tenants[all[0]!.tenant]!, all[0]!, slice?.fromMs ?? 0);
  return { tenants, pipelines: all, records: stored, runs: plan.startMs.length - first, seconds, sample };
}
