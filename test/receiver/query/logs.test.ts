/**
 * The logs list (receiver/query/logs.ts) on every supported server: each filter, alone and combined as
 * the web view combines them, with and without a time range, newest or oldest first, pages to exactly
 * the records a plain ORDER BY of the logs relation lists; and the filters that migration 9's
 * time-bucket indexes serve read about one page of records per page, from the first page to the last, also in a
 * partition that nothing has analyzed. An environment of more streams than the list of ids the query passes
 * (a wide one: a service per record) pages the same.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTR } from '../../../contract/vocabulary.js';
import { decodeLogsJson } from '../../../receiver/decode/otlp-json.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import { listLogs, LOG_SORTS, type LogFilter, type LogSort } from '../../../receiver/query/logs.js';
import type { Database, Queryable } from '../../../receiver/storage/database.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { backends, databaseFor } from '../../helpers/backends.js';
import { otlpJsonLogs, type JsonRecord } from '../../helpers/otlp-json.js';

const DAY_MS = 86_400_000;
const OLD_DAY = Date.UTC(2032, 2, 1);
/** The day written into a partition made with autovacuum off, and never analyzed. */
const FRESH_DAY = OLD_DAY + DAY_MS;
const FRESH_PARTITION = 'log_records_p20320302';
const STAGES = ['extract', 'transform', 'load'];
const PER_DAY = 20000;
/** A stage that few of pipeline "big"'s records have (one in a thousand): found through migration 12's pair index. */
const RARE_STAGE = 'audit';

/**
 * Record i of a day: most of pipeline "big" (runs of 50 records), some of two small ones; a WARN every 40th,
 * an ERROR every 150th; a rare stage every 1000th; about 17 records a minute from 01:00, some two at the same millisecond (the
 * fingerprint breaks the tie). Every tenth of "big" belongs to the staging environment's service.
 */
function recordOf(day: number, i: number): { record: JsonRecord; staging: boolean } {
  const pipeline = i % 10 === 9 ? `small-${i % 20 === 9 ? 'a' : 'b'}` : 'big';
  const severityNumber = i % 150 === 0 ? 17 : i % 40 === 0 ? 13 : 9;
  const attributes = { [ATTR.pipelineName]: pipeline, [ATTR.runId]: `${pipeline}-${day}-${Math.floor(i / 50)}`, [ATTR.stageName]: i % 1000 === 500 ? RARE_STAGE : STAGES[i % 3]! };
  const timeMs = day + 3_600_000 + Math.floor(i / 2) * 7_000 + (i % 4 === 3 ? 0 : i % 2);
  const body = `record ${day}-${i}${i % 7 === 0 ? ' deadlock detected' : ''}`;
  return { record: { timeMs, severityNumber, body, attributes }, staging: i % 100 === 50 };
}

async function writeDay(db: Database, day: number) {
  const partitions = createPartitionManager();
  const records = Array.from({ length: PER_DAY }, (_, i) => recordOf(day, i));
  for (let from = 0; from < PER_DAY; from += 2000) {
    const slice = records.slice(from, from + 2000);
    const requests = [
      otlpJsonLogs({ 'service.name': 'etl', 'deployment.environment.name': 'production' }, slice.filter((r) => !r.staging).map((r) => r.record)),
      otlpJsonLogs({ 'service.name': 'etl-staging', 'deployment.environment.name': 'staging' }, slice.filter((r) => r.staging).map((r) => r.record)),
    ];
    const prepared = requests.map((body) => prepare({ id: 1, name: 'default' }, decodeLogsJson(body), []));
    await db.transaction((tx) => writeBatch(tx, partitions, prepared));
  }
}

/** More streams than logs.ts passes as a list of ids: each a service of the wide environment, with one record. */
const WIDE_STREAMS = 1001;

async function writeWide(db: Database, day: number) {
  const requests = Array.from({ length: WIDE_STREAMS }, (_, k) =>
    otlpJsonLogs({ 'service.name': `wide-${k}`, 'deployment.environment.name': 'wide' }, [{ timeMs: day + 5 * 3_600_000 + k * 1_000, body: `wide ${k}` }]),
  );
  const resourceLogs = requests.flatMap((body) => (JSON.parse(body) as { resourceLogs: unknown[] }).resourceLogs);
  const prepared = prepare({ id: 1, name: 'default' }, decodeLogsJson(JSON.stringify({ resourceLogs })), []);
  await db.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepared]));
}

/** The filters of the API, as the reference query writes them against the logs relation. */
const REFERENCE: Record<keyof LogFilter, (p: string) => string> = {
  pipeline: (p) => `pipeline = ${p}`,
  stage: (p) => `stage = ${p}`,
  runId: (p) => `run_id = ${p}`,
  traceId: (p) => `trace_id = ${p}`,
  severityMin: (p) => `severity_number >= ${p}`,
  service: (p) => `service_name = ${p}`,
  environment: (p) => `resource_attributes->>'deployment.environment.name' = ${p}`,
  since: (p) => `ts >= ${p}`,
  until: (p) => `ts < ${p}`,
  q: (p) => `body LIKE '%' || ${p} || '%'`,
};

async function reference(db: Queryable, filter: LogFilter, sort: LogSort): Promise<string[]> {
  const entries = Object.entries(filter) as [keyof LogFilter, unknown][];
  const where = ['tenant_id = 1', ...entries.map(([name], i) => REFERENCE[name](`$${i + 1}`))].join(' AND ');
  const direction = LOG_SORTS[sort].descending ? 'DESC' : 'ASC';
  const { rows } = await db.query<{ body: string }>(
    `SELECT body FROM logs WHERE ${where} ORDER BY ts ${direction}, fingerprint::text ${direction}`,
    entries.map(([, value]) => (value instanceof Date ? value.toISOString() : value)),
  );
  return rows.map((row) => row.body);
}

async function walk(db: Queryable, filter: LogFilter, sort: LogSort, limit: number): Promise<string[]> {
  const bodies: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listLogs(db, 1, filter, limit, cursor, sort);
    bodies.push(...page.items.map((log) => log.body!));
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return bodies;
}

const RANGE = { since: new Date(OLD_DAY + 4 * 3_600_000), until: new Date(FRESH_DAY + 2 * 3_600_000) };
const FILTERS: Record<string, LogFilter> = {
  none: {},
  pipeline: { pipeline: 'big' },
  'small pipeline': { pipeline: 'small-a' },
  stage: { stage: 'load' },
  run: { runId: `big-${FRESH_DAY}-3` },
  'severity WARN': { severityMin: 13 },
  'severity INFO': { severityMin: 9 },
  service: { service: 'etl-staging' },
  environment: { environment: 'staging' },
  'environment of many streams': { environment: 'wide' },
  q: { q: 'deadlock' },
  'pipeline and stage': { pipeline: 'big', stage: 'transform' },
  'pipeline and a rare stage': { pipeline: 'big', stage: RARE_STAGE },
  'pipeline and severity': { pipeline: 'big', severityMin: 17 },
  'run and severity': { runId: `big-${OLD_DAY}-100`, severityMin: 13 },
  'stage and severity': { stage: 'extract', severityMin: 13 },
  'pipeline and q': { pipeline: 'small-b', q: 'deadlock' },
};

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
}
const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

/** The plan of the page's keys (the query's CTE), run: the nodes that read the filter's records. */
async function pagePlan(db: Queryable, filter: LogFilter, sort: LogSort, cursor?: string): Promise<PlanNode[]> {
  const sent: [string, readonly unknown[] | undefined][] = [];
  await listLogs({ query: (text, params) => (sent.push([text, params]), db.query(text, params)) }, 1, filter, 200, cursor, sort);
  const [text, params] = sent.find(([text]) => text.startsWith('WITH page'))!;
  const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
  const page = nodes(rows[0]!['QUERY PLAN'][0].Plan).find((node) => node['Subplan Name'] === 'CTE page')!;
  return nodes(page);
}

/** Records the page's scans read: those they returned and those their filters removed. */
const scanned = (plan: PlanNode[]) =>
  plan
    .filter((node) => /Scan/.test(node['Node Type']))
    .reduce((sum, node) => sum + ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1), 0);

describe.each(backends())('logs list on $name', (backend) => {
  const db = databaseFor(backend);

  beforeAll(async () => {
    await writeDay(db, OLD_DAY);
    await writeWide(db, OLD_DAY);
    await db.query('ANALYZE log_records');
    await db.transaction((tx) => createPartitionManager().ensure(tx, 'log_records', [FRESH_DAY]));
    await db.query(`ALTER TABLE ${FRESH_PARTITION} SET (autovacuum_enabled = off)`);
    await writeDay(db, FRESH_DAY);
  });

  it.each(Object.entries(FILTERS))('pages %s, with and without a time range, newest and oldest first, to exactly the records of a plain ORDER BY', async (_, filter) => {
    for (const ranged of [filter, { ...filter, ...RANGE }]) {
      for (const sort of Object.keys(LOG_SORTS) as LogSort[]) {
        const expected = await reference(db, ranged, sort);
        const where = [sort, ranged === filter ? 'all times' : 'a range'];
        expect([...where, expected.length > 0]).toEqual([...where, true]);
        // Four pages or so, whatever the filter finds: every walk crosses pages.
        const limit = Math.ceil(expected.length / 4) + 1;
        expect([...where, await walk(db, ranged, sort, limit)]).toEqual([...where, expected]);
      }
    }
  });

  it('pages a pipeline and a stage it has no records of: none, with and without a range', async () => {
    for (const filter of [{ pipeline: 'small-a', stage: RARE_STAGE }, { pipeline: 'big', stage: 'publish' }]) {
      for (const ranged of [filter, { ...filter, ...RANGE }]) {
        for (const sort of Object.keys(LOG_SORTS) as LogSort[]) {
          expect(await reference(db, ranged, sort)).toEqual([]);
          expect(await listLogs(db, 1, ranged, 10, undefined, sort)).toMatchObject({ items: [], next_cursor: null });
        }
      }
    }
  });

  it("finds a pipeline's few records of a stage through the pair's index, and walks the ten minutes for many", async () => {
    const rare = { pipeline: 'big', stage: RARE_STAGE };
    for (const sort of Object.keys(LOG_SORTS) as LogSort[]) {
      const deep = (await listLogs(db, 1, rare, 10, undefined, sort)).next_cursor ?? undefined;
      for (const cursor of [undefined, deep]) {
        const plan = await pagePlan(db, rare, sort, cursor);
        const where = [sort, cursor ? 'deep' : 'first'];
        expect([...where, plan.some((node) => /pipeline_stage_idx\d*$/.test(node['Index Name'] ?? ''))]).toEqual([...where, true]);
        // The pair's 40 records (twice through a bitmap: in the index, then the table), never the pipeline's 36,000.
        expect([...where, scanned(plan) <= 2 * 40]).toEqual([...where, true]);
      }
    }
    const common = await pagePlan(db, { pipeline: 'big', stage: 'transform' }, '-timestamp');
    expect(common.some((node) => /date_bin_idx\d*$/.test(node['Index Name'] ?? ''))).toBe(true);
  });

  it('matches an environment of more streams than a list of ids by each record\'s stream', async () => {
    const sent: (readonly unknown[] | undefined)[] = [];
    const page = await listLogs({ query: (text, params) => (sent.push(params), db.query(text, params)) }, 1, { environment: 'wide' }, 10);
    expect(page.items.map((log) => log.body)).toEqual(Array.from({ length: 10 }, (_, k) => `wide ${WIDE_STREAMS - 1 - k}`));
    const longest = Math.max(...sent.flatMap((params) => (params ?? []).map((value) => (Array.isArray(value) ? value.length : 0))));
    expect(longest).toBeLessThan(WIDE_STREAMS);
  });

  it('reads about a page of records per page through the time-bucket indexes, in a partition never analyzed too', async () => {
    const { rows } = await db.query<{ analyzed: boolean; tuples: number }>(
      `SELECT s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL AS analyzed, c.reltuples::float8 AS tuples
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = $1`,
      [FRESH_PARTITION],
    );
    expect(rows).toEqual([{ analyzed: false, tuples: expect.any(Number) }]);
    expect(rows[0]!.tuples).toBeLessThan(1);

    const bucketIndexed: Record<string, LogFilter> = {
      pipeline: { pipeline: 'big' },
      stage: { stage: 'load' },
      severe: { severityMin: 13 },
      'pipeline and severity': { pipeline: 'big', severityMin: 13 },
    };
    for (const [name, filter] of Object.entries(bucketIndexed)) {
      for (const sort of Object.keys(LOG_SORTS) as LogSort[]) {
        // The first page, and one deep into the walk: a cursor 4,000 records in.
        const deep = (await listLogs(db, 1, filter, 4000, undefined, sort)).next_cursor ?? undefined;
        for (const cursor of [undefined, deep]) {
          const plan = await pagePlan(db, filter, sort, cursor);
          const where = [name, sort, cursor ? 'deep' : 'first'];
          expect([...where, plan.some((node) => node['Relation Name'] === FRESH_PARTITION && /date_bin_idx\d*$/.test(node['Index Name'] ?? ''))]).toEqual([...where, true]);
          // A page of 200 reads its own records, those of the ten minutes it starts and ends in (about 170
          // each), and one more per partition, where the walk stopped: never the filter's 40,000 records.
          expect([...where, scanned(plan) < 200 + 2 * 180 + 10]).toEqual([...where, true]);
        }
      }
    }
  });
});
