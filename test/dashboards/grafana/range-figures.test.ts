/**
 * The overview's panels that read the kept per-day and per-hour sums (dashboards/grafana/range-figures.ts)
 * answer as the scans of every run they replace did, on the same runs written through the receiver's
 * merge (which keeps the sums): for ranges with whole days, whole hours and partial hours, aligned to
 * midnights or hours, shorter than a day, shorter than an hour, and with an environment chosen (when the
 * sums cannot answer); the p95 as the API reads it, from the same duration buckets. Red stays red: every
 * failure is counted where the scan counted it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTenant } from '../../../receiver/auth/keys.js';
import type { Database } from '../../../receiver/storage/database.js';
import { mergeRuns } from '../../../receiver/storage/merge-runs.js';
import { openDatabase } from '../../../receiver/storage/open.js';
import { metricsPerPipeline } from '../../../receiver/query/metrics.js';
import { buildDashboards } from '../../../dashboards/grafana/dashboards.js';
import { ALL, type VariableState } from '../../../dashboards/grafana/interpolate.js';
import { UID } from '../../../dashboards/grafana/links.js';
import { sqlQueries } from '../../../dashboards/grafana/queries.js';
import { expandSql } from '../../../dashboards/grafana/sql-macros.js';
import { createTestDatabase } from '../../helpers/backends.js';
import { runFacts } from '../../helpers/run-facts.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Today's midnight, UTC, and a now 13 h 37 min 12.345 s after it. */
const MIDNIGHT = Date.UTC(2031, 6, 10);
const NOW = MIDNIGHT + 13 * HOUR + 37 * MINUTE + 12_345;
const RESULTS = ['success', 'failure', 'success', 'error', 'skip', 'success', 'timeout', 'cancellation', 'success'] as const;

/**
 * Runs every 97 min over 10 days, with every result, some still running, some without rows or a
 * duration, in two environments, plus runs exactly on midnights and minute boundaries.
 */
function runsOf(pipeline: string, offset: number) {
  const starts = [];
  for (let at = NOW - 10 * DAY + offset * 7 * MINUTE; at < NOW - 10 * MINUTE; at += 97 * MINUTE) starts.push(at);
  starts.push(MIDNIGHT, MIDNIGHT - 3 * DAY, MIDNIGHT - 3 * DAY - 1, MIDNIGHT - 7 * MINUTE, MIDNIGHT - DAY + 59_999);
  return starts.map((startedAtMs, i) => {
    const running = i % 23 === 5;
    const result = RESULTS[(i + offset) % RESULTS.length]!;
    const seconds = 0.5 + ((i * 37 + offset * 11) % 400) ** 1.3;
    return runFacts({
      runId: `${pipeline}-${i}`,
      pipeline,
      environment: i % 3 === 0 ? 'staging' : i % 7 === 0 ? null : 'production',
      startedAtMs,
      ...(running
        ? { lastSeenMs: startedAtMs }
        : {
            state: 'ended',
            result,
            endedAtMs: startedAtMs + seconds * 1000,
            durationSeconds: i % 11 === 4 ? null : seconds,
            rowsRead: i % 5 === 0 ? null : 100 * i,
            rowsWritten: i % 4 === 0 ? null : 90 * i,
            rowsRejected: i % 6 === 0 ? 3 : null,
            errorType: result === 'failure' && i % 2 ? 'TimeoutError' : null,
          }),
    });
  });
}

/** What the panels read before: every run of the range. */
const SCANNED = {
  figures: `
    SELECT t.name AS tenant, r.pipeline, count(*)::int AS runs, count(*) FILTER (WHERE r.result IN ('failure', 'error', 'timeout'))::int AS failed,
           avg((r.result = 'success')::int) FILTER (WHERE r.result IN ('success', 'failure', 'error', 'timeout'))::float8 AS success_rate,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY r.duration_seconds) FILTER (WHERE r.state = 'ended') AS p95,
           coalesce(sum(r.rows_written), 0)::float8 AS rows_written
      FROM pipeline_runs r JOIN tenants t USING (tenant_id)
     WHERE r.started_at BETWEEN $1 AND $2 AND ($3::text IS NULL OR r.environment = $3)
     GROUP BY 1, 2`,
  'Runs by result': `
    SELECT floor(extract(epoch from r.started_at)/$4)*$4 AS "time", coalesce(r.result, r.state) AS metric, count(*) AS runs
      FROM pipeline_runs r WHERE r.started_at BETWEEN $1 AND $2 AND ($3::text IS NULL OR r.environment = $3) GROUP BY 1, 2`,
  'Rows moved': `
    SELECT floor(extract(epoch from r.ended_at)/$4)*$4 AS "time", sum(r.rows_read) AS "read", sum(r.rows_written) AS "written", sum(r.rows_rejected) AS "rejected"
      FROM pipeline_runs r WHERE r.ended_at BETWEEN $1 AND $2 AND ($3::text IS NULL OR r.environment = $3) GROUP BY 1`,
  'Failures by error type': `
    SELECT floor(extract(epoch from r.ended_at)/$4)*$4 AS "time", coalesce(r.error_type, r.result) AS metric, count(*) AS failures
      FROM pipeline_runs r WHERE r.result IN ('failure', 'error', 'timeout') AND r.ended_at BETWEEN $1 AND $2 AND ($3::text IS NULL OR r.environment = $3) GROUP BY 1, 2`,
} as const;

const RANGES = [
  { name: 'whole days, whole hours and partial hours', from: NOW - 7 * DAY - 3 * HOUR, to: NOW, intervalMs: HOUR },
  { name: 'from midnight to midnight', from: MIDNIGHT - 3 * DAY, to: MIDNIGHT, intervalMs: MINUTE },
  { name: 'under a day: whole hours and partial hours', from: NOW - 20 * HOUR, to: NOW, intervalMs: 30_000 },
  { name: 'whole hours either side of a whole day', from: MIDNIGHT - 30 * HOUR - 17 * MINUTE, to: MIDNIGHT + 5 * HOUR + 3 * MINUTE, intervalMs: 10 * MINUTE },
  { name: 'from one hour to another', from: MIDNIGHT - 9 * HOUR, to: MIDNIGHT + 2 * HOUR, intervalMs: MINUTE },
  { name: 'no whole hour', from: MIDNIGHT + 10 * HOUR + 50 * MINUTE, to: MIDNIGHT + 11 * HOUR + 49 * MINUTE, intervalMs: MINUTE },
];
const ENVIRONMENTS = [null, 'staging'];

/** Rows as sorted text, numbers as numbers: the same answer whatever the row order or the numeric type. */
const canonical = (rows: Record<string, unknown>[]) =>
  rows.map((row) => JSON.stringify(Object.entries(row).map(([k, v]) => [k, v === null ? null : typeof v === 'string' && !/^-?\d/.test(v) ? v : Number(v)]))).sort();

describe.each(inject('databaseServers'))('the overview panels over kept sums, on $name', (server) => {
  let db: Database;
  const dashboard = buildDashboards().find((d) => d.uid === UID.overview)!;
  const panel = (title: string) => sqlQueries([dashboard]).find((q) => q.panel === title)!.rawSql;

  beforeAll(async () => {
    db = await openDatabase({ databaseUrl: await createTestDatabase(server.url) });
    for (const [t, name] of ['acme', 'globex'].entries()) {
      const tenant = { id: await createTenant(db, name), name };
      for (const [p, pipeline] of ['orders', 'invoices', 'ledger'].entries()) {
        const derived = runsOf(pipeline, t * 3 + p).map((run) => ({ tenant, derived: { run, stage: null } }));
        await db.transaction((tx) => mergeRuns(tx, derived));
      }
    }
  });

  afterAll(async () => {
    await db?.close();
  });

  /** The dashboard's variables: every tenant and pipeline (All), and the environment given (All when null). */
  async function variables(environment: string | null): Promise<VariableState[]> {
    const tenants = (await db.query<{ name: string }>('SELECT name FROM tenants ORDER BY name')).rows.map((row) => row.name);
    const pipelines = (await db.query<{ pipeline: string }>('SELECT DISTINCT pipeline FROM pipeline_runs ORDER BY 1')).rows.map((row) => row.pipeline);
    const options: Record<string, string[]> = { tenant: tenants, pipeline: pipelines, environment: ['production', 'staging'] };
    return dashboard.templating.list!.map((definition) => ({
      definition,
      selection: definition.name === 'environment' && environment !== null ? [environment] : ALL,
      options: options[definition.name],
    }));
  }

  const run = async (title: string, range: (typeof RANGES)[number], environment: string | null) =>
    (await db.query<Record<string, any>>(expandSql(panel(title), { from: new Date(range.from), to: new Date(range.to), intervalMs: range.intervalMs, variables: await variables(environment) }))).rows;

  const scanned = async (sql: string, range: (typeof RANGES)[number], environment: string | null) => {
    const params = [new Date(range.from).toISOString(), new Date(range.to).toISOString(), environment, range.intervalMs / 1000];
    return (await db.query<Record<string, any>>(sql, sql.includes('$4') ? params : params.slice(0, 3))).rows;
  };

  describe.each(RANGES)('over $name', (range) => {
    it.each(ENVIRONMENTS)('binned time series equal the scans of every run (environment %s)', async (environment) => {
      for (const title of ['Runs by result', 'Rows moved', 'Failures by error type'] as const) {
        const rows = await run(title, range, environment);
        expect(rows.length, title).toBeGreaterThan(0);
        expect(canonical(rows), title).toEqual(canonical(await scanned(SCANNED[title], range, environment)));
      }
    });

    it.each(ENVIRONMENTS)("each pipeline's runs, failures, success rate and rows written equal the scan's, its p95 within a bucket (environment %s)", async (environment) => {
      const status = await run('Status per pipeline', range, environment);
      const reference = new Map((await scanned(SCANNED.figures, range, environment)).map((row) => [`${row.tenant}/${row.pipeline}`, row]));
      expect(status).toHaveLength(6);
      for (const row of status) {
        const scan = reference.get(`${row.Tenant}/${row.Pipeline}`);
        expect(Number(row.Runs)).toBe(scan?.runs ?? 0);
        expect(Number(row.Failed)).toBe(scan?.failed ?? 0);
        if (scan?.success_rate == null) expect(row['Success rate']).toBeNull();
        else expect(row['Success rate']).toBeCloseTo(scan.success_rate, 12);
        if (scan) expect(Number(row['Rows written'])).toBe(scan.rows_written);
        // Buckets are 2^(1/8) wide: a p95 read from them is within 9 % of the exact one.
        if (scan?.p95 == null) expect(row['p95 duration']).toBeNull();
        else expect(Math.abs(row['p95 duration'] / scan.p95 - 1)).toBeLessThan(0.09);
      }
      expect(status.reduce((sum, row) => sum + Number(row.Failed), 0)).toBeGreaterThan(0);
      const slowest = await run('Slowest by p95 duration', range, environment);
      const byP95 = [...status].filter((row) => row['p95 duration'] !== null).sort((a, b) => b['p95 duration'] - a['p95 duration']);
      expect(slowest.map((row) => row['p95 duration'])).toEqual(byP95.slice(0, 10).map((row) => row['p95 duration']));
    });
  });

  it("reads each pipeline's p95 over the last 7 days as the API does", async () => {
    const range = { name: 'the API window', from: NOW - 7 * DAY, to: NOW, intervalMs: HOUR };
    const status = await run('Status per pipeline', range, null);
    const tenantId = (await db.query<{ tenant_id: number }>("SELECT tenant_id FROM tenants WHERE name = 'acme'")).rows[0]!.tenant_id;
    const api = await metricsPerPipeline(db, tenantId, 7, 0, NOW);
    for (const item of api.items) {
      const row = status.find((r) => r.Tenant === 'acme' && r.Pipeline === item.pipeline)!;
      expect(Number(row.Runs)).toBe(item.runs);
      expect(Number(row.Failed)).toBe(item.errors);
      expect(row['p95 duration']).toBeCloseTo(item.duration_seconds.p95!, 9);
    }
  });
});
