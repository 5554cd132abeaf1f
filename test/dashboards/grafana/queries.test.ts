/**
 * Every SQL query of the Grafana dashboards (panels and variables) runs as Grafana would send it: template
 * variables and macros expanded as Grafana's PostgreSQL datasource does, for a single value, several
 * values and All, on PostgreSQL as the read-only role `pipemon_reader`, on pipelines written through a
 * real receiver. Each must parse, run and return rows, or be listed in DATA's expectedEmpty with the reason.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Dashboard, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import { ATTR, EVENT, CHECK } from '../../../contract/vocabulary.js';
import type { Database } from '../../../receiver/storage/database.js';
import { READER_ROLE } from '../../../receiver/storage/migrations.js';
import { openDatabase } from '../../../receiver/storage/open.js';
import { buildDashboards } from '../../../dashboards/grafana/dashboards.js';
import { POSTGRES } from '../../../dashboards/grafana/datasources.js';
import { ALL, interpolate, postgresFormatter, prometheusFormatter, secondsToHms, type VariableState } from '../../../dashboards/grafana/interpolate.js';
import { customOptions, expandPromQL, promQueries, sqlQueries, type SqlQuery } from '../../../dashboards/grafana/queries.js';
import { expandMacros, expandSql, parseIntervalMs, rfc3339Nano } from '../../../dashboards/grafana/sql-macros.js';
import { DEMO_PIPELINES, runDemo } from '../../../demo/index.js';
import { createTestDatabase } from '../../helpers/backends.js';
import { encodeLogs, logsRequest, post, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { UID } from '../../../dashboards/grafana/links.js';
import { NO_END_REPORTED, RESULT_MAPPINGS, TOLERATED } from '../../../dashboards/grafana/panels.js';
import { metric, point, resourceOf, tenantNamed, writePoints } from './metric-points.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('Grafana SQL expansion', () => {
  const range = { from: new Date('2026-11-30T06:00:00Z'), to: new Date('2026-11-30T07:00:00.250Z'), intervalMs: 300_000 };
  const variable = (name: string, selection: VariableState['selection'], flags: Partial<VariableModel> = {}, options?: string[]): VariableState => ({
    definition: { name, multi: false, includeAll: false, ...flags },
    selection,
    options,
  });
  const sql = (text: string, variables: VariableState[] = []) => expandSql(text, { ...range, variables });

  it('expands $__timeFilter, $__timeFrom() and $__timeTo() to RFC 3339 UTC times, as Go formats them', () => {
    expect(sql('WHERE $__timeFilter(r.started_at)')).toBe("WHERE r.started_at BETWEEN '2026-11-30T06:00:00Z' AND '2026-11-30T07:00:00.25Z'");
    expect(sql('$__timeFrom() < $__timeTo()')).toBe("'2026-11-30T06:00:00Z' < '2026-11-30T07:00:00.25Z'");
    expect(rfc3339Nano(new Date('2026-01-02T03:04:05.120Z'))).toBe('2026-01-02T03:04:05.12Z');
  });

  it('expands $__timeGroupAlias and $__timeGroup with $__interval to epoch buckets', () => {
    expect(sql('SELECT $__timeGroupAlias(l.ts, $__interval), count(*)')).toBe('SELECT floor(extract(epoch from l.ts)/300)*300 AS "time", count(*)');
    expect(sql("GROUP BY $__timeGroup(ts, '1h')")).toBe('GROUP BY floor(extract(epoch from ts)/3600)*3600');
    // Grafana's pre-5.3 compatibility: followed by a comma, $__timeGroup means the alias.
    expect(sql('SELECT $__timeGroup(ts, 5m), 1')).toBe('SELECT floor(extract(epoch from ts)/300)*300 AS "time", 1');
    expect(sql('$__interval $__interval_ms')).toBe('5m 300000');
  });

  it('refuses unknown macros and intervals as Grafana does', () => {
    expect(() => sql('$__timeBucket(ts)')).toThrow('unknown macro "__timeBucket"');
    expect(() => expandMacros('$__timeGroup(ts, soon)', range)).toThrow('error parsing interval soon');
    expect(parseIntervalMs('1h30m')).toBe(5_400_000);
    expect(parseIntervalMs('500ms')).toBe(500);
    expect(parseIntervalMs('2d')).toBe(2 * DAY);
    expect(secondsToHms(90)).toBe('1m');
  });

  it('quotes single values, lists several, and expands All to every option or the custom allValue', () => {
    const text = 'x IN (${v:sqlstring})';
    expect(sql(text, [variable('v', "o'brien")])).toBe("x IN ('o''brien')");
    expect(sql(text, [variable('v', ['a', 'b'], { multi: true, includeAll: true })])).toBe("x IN ('a','b')");
    expect(sql(text, [variable('v', ALL, { multi: true, includeAll: true }, ['a', 'b', 'c'])])).toBe("x IN ('a','b','c')");
    expect(sql(text, [variable('v', ALL, { multi: true, includeAll: true }, [])])).toBe('x IN ()');
    expect(sql(text, [variable('v', ALL, { multi: true, includeAll: true, allValue: "'__all'" }, ['a'])])).toBe("x IN ('__all')");
    expect(sql('${v:csv}', [variable('v', ['1', '2'], { multi: true })])).toBe('1,2');
  });

  it('formats $var without a format as the PostgreSQL datasource does: quoted only where several values are possible', () => {
    expect(sql("x = '$v'", [variable('v', "it's")])).toBe("x = 'it''s'");
    expect(sql('x IN ($v)', [variable('v', 'a', { multi: true })])).toBe("x IN ('a')");
    expect(sql('x = [[v]] AND $unknown', [variable('v', 'a', { includeAll: true })])).toBe("x = 'a' AND $unknown");
    expect(interpolate('$v', [variable('v', ['a', 'b'])], {}, postgresFormatter)).toBe("'a','b'");
  });

  it('formats Prometheus variables as its datasource does: regex-escaped alternatives where several values are possible', () => {
    expect(interpolate('p=~"$p"', [variable('p', ['a.b', 'c'], { multi: true, includeAll: true })], {}, prometheusFormatter)).toBe('p=~"(a\\\\.b|c)"');
    expect(interpolate('p="$p"', [variable('p', 'a.b')], {}, prometheusFormatter)).toBe('p="a.b"');
    const [query] = promQueries().filter((q) => q.dashboard === 'pipemon-health' && q.panel === 'Accepted records/s');
    expect(expandPromQL(query!, { scrapeIntervalSeconds: 15, intervalSeconds: 30 })).toBe(
      'sum(rate(pipemon_receiver_accepted_records_total{instance=~".+"}[60s]))',
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// The data the dashboards are run on: seed() alone writes it. To run the queries on other data (the
// `pipemon demo`), replace seed() with a function that sends that data to the receiver and returns
// which of its values to select (Seeded).

interface StageSpec {
  name: string;
  seconds: number;
  rows?: { read?: number; written?: number; rejected?: number };
  target?: [namespace: string, collection: string];
  source?: string;
  checks?: [name: string, passed: boolean][];
  logs?: [severity: Severity, body: string][];
  fail?: { type: string; message: string };
}

interface RunSpec {
  pipeline: string;
  runId: string;
  startMs: number;
  stages: StageSpec[];
  /** A run still running: it sends these heartbeats, one a minute, and leaves its last stage open. */
  heartbeats?: number;
  owner?: string;
  expectedIntervalSeconds?: number;
}

type Severity = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const SEVERITY: Record<Severity, SeverityNumber> = {
  DEBUG: SeverityNumber.DEBUG,
  INFO: SeverityNumber.INFO,
  WARN: SeverityNumber.WARN,
  ERROR: SeverityNumber.ERROR,
};

interface RecordSpec {
  atMs: number;
  severity: Severity;
  body: string;
  event?: string;
  attributes: Record<string, string | number | boolean>;
}

/** The log records the pipemon SDK sends for a run (sdk/activity/run.ts), at past times. */
function runRecords(run: RunSpec): RecordSpec[] {
  const base: Record<string, string | number> = { [ATTR.pipelineName]: run.pipeline, [ATTR.runId]: run.runId };
  if (run.owner) base[ATTR.pipelineOwner] = run.owner;
  if (run.expectedIntervalSeconds) base[ATTR.expectedIntervalSeconds] = run.expectedIntervalSeconds;
  const records: RecordSpec[] = [{ atMs: run.startMs, severity: 'INFO', body: `run started: ${run.pipeline}`, event: EVENT.runStart, attributes: base }];
  const totals = { read: 0, written: 0, rejected: 0 };
  let at = run.startMs + 1000;
  let failure: StageSpec['fail'];
  run.stages.forEach((stage, index) => {
    const attrs: Record<string, string | number | boolean> = { ...base, [ATTR.stageName]: stage.name, [ATTR.stageRunId]: `${run.runId}-${stage.name}` };
    if (stage.target) Object.assign(attrs, { [ATTR.dbNamespace]: stage.target[0], [ATTR.dbCollection]: stage.target[1] });
    if (stage.source) attrs[ATTR.sourceSystem] = stage.source;
    records.push({ atMs: at, severity: 'INFO', body: `stage started: ${stage.name}`, event: EVENT.stageStart, attributes: attrs });
    const mid = at + (stage.seconds * 1000) / 2;
    for (const [severity, body] of stage.logs ?? []) records.push({ atMs: mid, severity, body, attributes: attrs });
    for (const [name, passed] of stage.checks ?? []) {
      records.push({
        atMs: mid + 1,
        severity: passed ? 'INFO' : 'WARN',
        body: `check ${name} ${passed ? 'passed' : 'failed'}`,
        event: EVENT.check,
        attributes: { ...attrs, [ATTR.checkName]: name, [ATTR.checkPassed]: passed, [ATTR.checkDetails]: passed ? '{}' : '{"duplicates":3}' },
      });
    }
    const open = run.heartbeats !== undefined && index === run.stages.length - 1;
    if (open) return;
    const end = at + stage.seconds * 1000;
    const outcome: Record<string, string | number | boolean> = {
      [ATTR.stageResult]: stage.fail ? 'failure' : 'success',
      [ATTR.durationSeconds]: stage.seconds,
      [ATTR.rowsRead]: stage.rows?.read ?? 0,
      [ATTR.rowsWritten]: stage.rows?.written ?? 0,
      [ATTR.rowsRejected]: stage.rows?.rejected ?? 0,
    };
    if (stage.fail) {
      failure = stage.fail;
      Object.assign(outcome, { [ATTR.errorType]: stage.fail.type, [ATTR.exceptionType]: stage.fail.type, [ATTR.exceptionMessage]: stage.fail.message });
      records.push({ atMs: end - 1, severity: 'ERROR', body: `${stage.name} failed: ${stage.fail.message}`, attributes: attrs });
    }
    records.push({
      atMs: end,
      severity: stage.fail ? 'ERROR' : 'INFO',
      body: `stage ${stage.fail ? 'failure' : 'success'}: ${stage.name}`,
      event: EVENT.stageEnd,
      attributes: { ...attrs, ...outcome },
    });
    totals.read += stage.rows?.read ?? 0;
    totals.written += stage.rows?.written ?? 0;
    totals.rejected += stage.rows?.rejected ?? 0;
    at = end + 1000;
  });
  if (run.heartbeats !== undefined) {
    for (let beat = 1; beat <= run.heartbeats; beat++) {
      records.push({
        atMs: run.startMs + beat * 60_000,
        severity: 'INFO',
        body: `run running for ${beat * 60}s: ${run.pipeline}`,
        event: EVENT.runHeartbeat,
        attributes: { ...base, [ATTR.durationSeconds]: beat * 60 },
      });
    }
    return records;
  }
  const outcome: Record<string, string | number> = {
    [ATTR.runResult]: failure ? 'failure' : 'success',
    [ATTR.durationSeconds]: (at - run.startMs) / 1000,
    [ATTR.rowsRead]: totals.read,
    [ATTR.rowsWritten]: totals.written,
    [ATTR.rowsRejected]: totals.rejected,
  };
  if (failure) Object.assign(outcome, { [ATTR.errorType]: failure.type, [ATTR.exceptionType]: failure.type, [ATTR.exceptionMessage]: failure.message });
  records.push({
    atMs: at,
    severity: failure ? 'ERROR' : 'INFO',
    body: `run ${failure ? 'failure' : 'success'}: ${run.pipeline}`,
    event: EVENT.runEnd,
    attributes: { ...base, ...outcome },
  });
  return records;
}

/** Log records as the OpenTelemetry logs SDK makes them, for one service in one environment. */
function logRecords(service: string, environment: string, specs: RecordSpec[]): ReadableLogRecord[] {
  const exporter = new InMemoryLogRecordExporter();
  const resource = resourceFromAttributes({ [ATTR.serviceName]: service, [ATTR.environment]: environment });
  const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('pipemon-grafana-test', '1.0.0');
  for (const spec of specs) {
    logger.emit({
      timestamp: spec.atMs,
      severityNumber: SEVERITY[spec.severity],
      severityText: spec.severity,
      body: spec.body,
      eventName: spec.event,
      attributes: spec.attributes,
    });
  }
  return exporter.getFinishedLogRecords();
}

/**
 * Which values to select, by variable name, among the seeded data; each must be one of the variable's
 * options. Variables left out take their first option (or All, for the All run).
 */
interface Seeded {
  /** The "single value" run: a tenant, a pipeline, an environment, a run (run_id), a severity range, a search text. */
  single: Record<string, string>;
  /** The "several values" run (single-value variables take the first). */
  multi: Record<string, string[]>;
}

/**
 * Pipelines of two tenants over the last days, through a real receiver: an hourly loader with three
 * stages that fails one run in six (upstream timeout, a failed duplicates check), a flaky sync in
 * staging with two error types, a daily report that stopped two days ago, a hung export, another
 * tenant's billing, and records from a service outside any pipeline.
 */
async function seed(receiver: TestReceiver, now: number): Promise<Seeded> {
  const acme: ReadableLogRecord[] = [];
  const globex: ReadableLogRecord[] = [];
  let failedOrdersRun = '';

  const orders = Array.from({ length: 24 }, (_, i): RunSpec => {
    const fails = i % 6 === 3;
    const runId = `orders-${i}`;
    if (fails) failedOrdersRun = runId;
    return {
      pipeline: 'orders-hourly',
      runId,
      owner: 'data-platform',
      expectedIntervalSeconds: 3600,
      startMs: now - (24 - i) * HOUR + 5 * 60_000,
      stages: [
        { name: 'extract', seconds: 40 + i, source: 'postgresql', rows: { read: 1000 + i }, logs: [['INFO', `extracted ${1000 + i} rows`]] },
        { name: 'transform', seconds: 20, checks: [[CHECK.nullRatio, true]], logs: i % 4 === 0 ? [['WARN', 'slow join on customers']] : [] },
        {
          name: 'load',
          seconds: 60 + 2 * i,
          target: ['dw', 'orders'],
          rows: fails ? { written: 0 } : { written: 990 + i, rejected: 10 },
          checks: [[CHECK.duplicates, !fails]],
          fail: fails ? { type: 'TimeoutError', message: 'upstream timeout after 30 s' } : undefined,
        },
      ],
    };
  });
  acme.push(...logRecords('orders-etl', 'prod', orders.flatMap(runRecords)));

  const flaky = Array.from({ length: 12 }, (_, i): RunSpec => {
    const fail = i % 4 === 1 ? { type: 'ConnectionError', message: 'connection reset by peer' } : i % 4 === 3 ? { type: 'ValueError', message: 'bad date 2026-13-01' } : undefined;
    return {
      pipeline: 'flaky-sync',
      runId: `flaky-${i}`,
      owner: 'crm',
      startMs: now - (12 - i) * 2 * HOUR,
      stages: [
        { name: 'fetch', seconds: 30, source: 'salesforce', rows: { read: 200 }, checks: [[CHECK.schemaDrift, i % 5 !== 0]] },
        { name: 'upsert', seconds: 25, target: ['crm', 'contacts'], rows: fail ? {} : { written: 200 }, fail },
      ],
    };
  });
  acme.push(...logRecords('crm-sync', 'staging', flaky.flatMap(runRecords)));

  const stalled = [4, 3, 2].map(
    (daysAgo): RunSpec => ({
      pipeline: 'stalled-daily',
      runId: `stalled-${daysAgo}`,
      owner: 'bi',
      startMs: now - daysAgo * DAY,
      stages: [{ name: 'render', seconds: 300, target: ['reports', 'daily'], rows: { read: 50_000, written: 1 } }],
    }),
  );
  const hung: RunSpec = {
    pipeline: 'hung-export',
    runId: 'hung-0',
    startMs: now - 40 * 60_000,
    heartbeats: 3,
    stages: [{ name: 'export', seconds: 600, target: ['s3', 'exports'], logs: [['INFO', 'exporting 10 files']] }],
  };
  acme.push(...logRecords('reports', 'prod', [...stalled, hung].flatMap(runRecords)));

  acme.push(
    ...logRecords('api', 'prod', [
      { atMs: now - 3 * HOUR, severity: 'INFO', body: 'GET /health 200', attributes: { [ATTR.httpRoute]: '/health' } },
      { atMs: now - 2 * HOUR, severity: 'ERROR', body: 'request timeout calling billing', attributes: { [ATTR.httpRoute]: '/orders' } },
    ]),
  );

  const billing = Array.from({ length: 6 }, (_, i): RunSpec => ({
    pipeline: 'billing',
    runId: `billing-${i}`,
    startMs: now - (6 - i) * 4 * HOUR,
    stages: [
      {
        name: 'invoice',
        seconds: 90,
        target: ['erp', 'invoices'],
        rows: { read: 300, written: 300 },
        fail: i === 2 ? { type: 'PermissionError', message: 'permission denied for table invoices' } : undefined,
      },
    ],
  }));
  globex.push(...logRecords('billing', 'prod', billing.flatMap(runRecords)));

  const send = async (key: string, records: ReadableLogRecord[]) => {
    const response = await post(receiver.url, '/v1/logs', encodeLogs(records, 'json'), { key, contentType: 'application/json' });
    expect(response.status, response.body.toString()).toBe(200);
    expect(JSON.parse(response.body.toString()).partialSuccess ?? {}).toEqual({});
  };
  await send(receiver.key, acme);
  await send(await receiver.keyFor('globex', ['ingest']), globex);
  await seedMetrics(receiver, 'acme', 'orders-hourly');

  return {
    single: { tenant: 'acme', pipeline: 'orders-hourly', environment: 'prod', severity: '5', run_id: failedOrdersRun, search: 'timeout' },
    multi: { tenant: ['acme', 'globex'], pipeline: ['orders-hourly', 'flaky-sync'], environment: ['prod', 'staging'], severity: ['4', '5'] },
  };
}

/**
 * The metrics an application reports during each stored run of `pipeline`, in the run's service and
 * environment: a rows counter (cumulative, from the run's start) and a memory gauge, written through the
 * receiver's write path as lineage.test.ts writes its records.
 */
async function seedMetrics(receiver: TestReceiver, tenant: string, pipeline: string): Promise<void> {
  const { db } = receiver.receiver;
  const { rows } = await db.query<{ run_id: string; started_at: Date; service_name: string | null; environment: string | null }>(
    `SELECT r.run_id, r.started_at, r.service_name, r.environment
     FROM pipeline_runs r JOIN tenants t ON t.tenant_id = r.tenant_id
     WHERE t.name = $1 AND r.pipeline = $2 AND r.started_at IS NOT NULL`,
    [tenant, pipeline],
  );
  expect(rows.length, `runs of ${pipeline}`).toBeGreaterThan(0);
  const points = rows.flatMap((run, i) => {
    const resource = resourceOf({ [ATTR.serviceName]: run.service_name ?? pipeline, [ATTR.environment]: run.environment ?? 'prod' });
    const attributes = { [ATTR.pipelineName]: pipeline, [ATTR.runId]: run.run_id };
    const rowsProcessed = metric('etl.rows.processed', 'sum', { temporality: 'cumulative', monotonic: true });
    const memory = metric('process.memory.usage', 'gauge', { unit: 'By' });
    const start = run.started_at.getTime();
    return [1, 2].flatMap((minute) => [
      point({ resource, metric: rowsProcessed, attributes: { ...attributes, table: 'orders' }, atMs: start + minute * 60_000, startMs: start, value: minute * (500 + i) }),
      point({ resource, metric: memory, attributes, atMs: start + minute * 60_000, value: 2 ** 20 * (minute + i) }),
    ]);
  });
  await writePoints(db, await tenantNamed(db, tenant), points);
}

/**
 * `pipemon demo`'s data, as a newcomer sees it first: one tenant, its seven pipelines over a week. The
 * selections name its flaky pipeline, that pipeline's latest failed run and a word of its errors.
 */
async function seedDemo(receiver: TestReceiver, now: number): Promise<Seeded> {
  const demo = await runDemo({ endpoint: receiver.url, key: receiver.key, days: 7, seed: 3, now: () => now });
  const { rows } = await receiver.receiver.db.query<{ run_id: string }>(
    `SELECT run_id FROM pipeline_runs WHERE pipeline = $1 AND result = 'failure' AND error_type = 'ConnectionResetError' ORDER BY ended_at DESC LIMIT 1`,
    [DEMO_PIPELINES.flaky],
  );
  expect(demo.backfill.pipelines[DEMO_PIPELINES.flaky]?.runs.failure).toBeGreaterThan(0);
  await seedMetrics(receiver, 'acme', DEMO_PIPELINES.flaky);
  return {
    single: { tenant: 'acme', pipeline: DEMO_PIPELINES.flaky, environment: 'demo', severity: '5', run_id: rows[0]!.run_id, search: 'reset' },
    multi: { tenant: ['acme'], pipeline: [DEMO_PIPELINES.flaky, DEMO_PIPELINES.healthy], environment: ['demo'], severity: ['4', '5'] },
  };
}

const CHECKLESS = 'the selected pipeline (the demo\'s flaky one) runs no data-quality checks';

/**
 * The data sets every query runs on, each with the queries allowed to return no rows on it, by
 * `dashboard / panel / selection`, and the reason.
 */
const DATA: { data: string; seed: typeof seed; expectedEmpty: Record<string, string> }[] = [
  { data: 'their own test data', seed, expectedEmpty: {} },
  {
    data: 'pipemon demo',
    seed: seedDemo,
    expectedEmpty: Object.fromEntries(
      ['pipemon-pipeline', 'pipemon-run'].flatMap((dashboard) =>
        ['single value', 'several values', 'All'].map((selection) => [`${dashboard} / Checks / ${selection}`, CHECKLESS]),
      ),
    ),
  },
];

// ---------------------------------------------------------------------------------------------------

type SelectionName = 'single value' | 'several values' | 'All';
const SELECTIONS: { name: SelectionName; intervalMs: number }[] = [
  { name: 'single value', intervalMs: 5 * 60_000 },
  { name: 'several values', intervalMs: HOUR },
  { name: 'All', intervalMs: 10 * 60_000 },
];

/** pipemon_reader with a login and read-only transactions, as the embedded server makes it (provision()). */
async function readerOf(databaseUrl: string, password: string): Promise<pg.Client> {
  const url = new URL(databaseUrl);
  url.username = READER_ROLE;
  url.password = password;
  const reader = new pg.Client({ connectionString: url.toString() });
  await reader.connect();
  return reader;
}

describe.each(inject('databaseServers').flatMap((server) => DATA.map((data) => ({ ...server, ...data }))))(
  'Grafana SQL on $name as the read-only role, on $data',
  (server) => {
  let receiver: TestReceiver;
  let owner: pg.Client;
  let reader: pg.Client;
  let emptyReader: pg.Client;
  let empty: Database;
  let seeded: Seeded;
  const now = Date.now();
  const range = { from: new Date(now - 7 * DAY), to: new Date(now + 60_000) };
  const dashboards = buildDashboards().filter((dashboard) => sqlQueries([dashboard]).length > 0);

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase(server.url);
    receiver = await startTestReceiver({ databaseUrl });
    // Migration 2 created the role and its grants; the embedded server gives it a login and read-only
    // transactions (receiver/storage/embedded-server.ts provision()), which Grafana connects with.
    const password = randomBytes(18).toString('base64url');
    owner = new pg.Client({ connectionString: databaseUrl });
    await owner.connect();
    await owner.query(`ALTER ROLE ${READER_ROLE} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password}'`);
    await owner.query(`ALTER ROLE ${READER_ROLE} SET default_transaction_read_only = on`);
    reader = await readerOf(databaseUrl, password);
    const emptyUrl = await createTestDatabase(server.url);
    empty = await openDatabase({ databaseUrl: emptyUrl });
    emptyReader = await readerOf(emptyUrl, password);
    seeded = await server.seed(receiver, now);
  });

  afterAll(async () => {
    await reader?.end();
    await emptyReader?.end();
    await empty?.close();
    // Roles belong to the whole test server: leave pipemon_reader as migration 2 makes it.
    await owner?.query(`ALTER ROLE ${READER_ROLE} WITH NOLOGIN PASSWORD NULL`);
    await owner?.query(`ALTER ROLE ${READER_ROLE} RESET default_transaction_read_only`);
    await owner?.end();
    await receiver?.close();
  });

  it('connects as a role that may read what dashboards show, and nothing else', async () => {
    const { rows } = await reader.query<{ user: string }>('SELECT current_user AS user');
    expect(rows[0]!.user).toBe(READER_ROLE);
    // Migration 10: the dashboards' plans are not compiled, which cost more than most of them take to run.
    expect((await reader.query<{ jit: string }>('SHOW jit')).rows[0]!.jit).toBe('off');
    expect((await reader.query('SELECT count(*) FROM pipeline_runs')).rows[0].count).not.toBe('0');
    await expect(reader.query('SELECT * FROM api_keys')).rejects.toThrow(/permission denied/);
    await expect(reader.query("INSERT INTO tenants (name) VALUES ('intruder')")).rejects.toThrow(/read-only transaction|permission denied/);
  });

  it('names in its PromQL only metrics that the receiver exports', async () => {
    const exposition = await (await fetch(`${receiver.url}/metrics`)).text();
    const exported = new Set([...exposition.matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((m) => m[1]!));
    const named = new Set(promQueries().flatMap((query) => [...query.expr.matchAll(/\bpipemon_\w+/g)].map((m) => m[0].replace(/_bucket$/, ''))));
    expect([...named].filter((name) => !exported.has(name))).toEqual([]);
  });

  /** The value a selection gives a variable: several values become one where the variable takes one. */
  function choose(variable: VariableModel, selection: SelectionName, options: string[]): VariableState['selection'] {
    const { single, multi } = seeded;
    if (variable.type === 'textbox') return selection === 'single value' ? (single[variable.name] ?? '') : '';
    if (selection === 'All' && variable.includeAll) return ALL;
    const wanted = selection === 'several values' && multi[variable.name] ? multi[variable.name]! : [single[variable.name] ?? options[0]!];
    for (const value of wanted) expect(options, `${variable.name} has no option ${value}: the seeded data and the selections disagree`).toContain(value);
    return variable.multi ? wanted : wanted[0]!;
  }

  /** As Grafana sets a variable without options: All where it has one, else nothing. */
  const chooseWithoutData = (variable: VariableModel): VariableState['selection'] => (variable.includeAll ? ALL : '');

  /** The dashboard's variables, resolved in order as Grafana does (each query sees the ones before it). */
  async function resolveVariables(
    client: pg.Client,
    dashboard: Dashboard,
    intervalMs: number,
    pick: (variable: VariableModel, options: string[]) => VariableState['selection'],
    problems: string[],
  ): Promise<VariableState[]> {
    const states: VariableState[] = [];
    for (const variable of dashboard.templating.list ?? []) {
      let options: string[] = [];
      if (variable.type === 'custom') options = customOptions(variable.query as string);
      if (variable.type === 'query' && variable.datasource?.uid === POSTGRES.uid) {
        const sql = expandSql(variable.query as string, { ...range, intervalMs, variables: states });
        try {
          const { rows, fields } = await client.query(sql);
          const column = fields.some((field) => field.name === '__value') ? '__value' : fields[0]!.name;
          options = rows.map((row) => String(row[column]));
        } catch (error) {
          problems.push(`$${variable.name}: ${(error as Error).message}\n${sql}`);
        }
      }
      states.push({ definition: variable, selection: pick(variable, options), options });
    }
    return states;
  }

  /** Runs one query as Grafana would; a description of what is wrong, or null. */
  async function run(client: pg.Client, query: SqlQuery, states: VariableState[], intervalMs: number, where: string, rowsWanted: boolean): Promise<string | null> {
    const sql = expandSql(query.rawSql, { ...range, intervalMs, variables: states });
    const left = /\$\{?\w+|\[\[\w+/.exec(sql);
    if (left) return `${where}: ${left[0]} left unexpanded\n${sql}`;
    let result: pg.QueryResult;
    try {
      result = await client.query(sql);
    } catch (error) {
      return `${where}: ${(error as Error).message}\n${sql}`;
    }
    if (!rowsWanted) return null;
    const valued = result.rows.some((row) => Object.entries(row).some(([column, value]) => column !== 'time' && value !== null));
    if (!valued) return server.expectedEmpty[where] ? null : `${where}: no rows with a value\n${sql}`;
    if (query.format === 'time_series') {
      // Grafana's SQL datasource needs a "time" column, sorted ascending to turn long frames into wide ones.
      if (!result.fields.some((field) => field.name === 'time')) return `${where}: time_series without a "time" column\n${sql}`;
      const times = result.rows.map((row) => (row.time instanceof Date ? row.time.getTime() : Number(row.time) * 1000));
      if (times.some((time, i) => i > 0 && time < times[i - 1]!)) return `${where}: time not ascending\n${sql}`;
    }
    return null;
  }

  describe.each(dashboards.map((dashboard) => ({ uid: dashboard.uid!, dashboard })))('the $uid dashboard', ({ dashboard }) => {
    it.each(SELECTIONS)('runs every SQL query with $name selected, and each returns rows', async ({ name, intervalMs }) => {
      const problems: string[] = [];
      const states = await resolveVariables(reader, dashboard, intervalMs, (variable, options) => choose(variable, name, options), problems);
      for (const [index, state] of states.entries()) {
        const variable = dashboard.templating.list![index]!;
        if (variable.type === 'query' && state.options!.length === 0) problems.push(`$${variable.name} has no options`);
      }
      const queries = sqlQueries([dashboard]).filter((query) => !query.panel.startsWith('$'));
      for (const query of queries) {
        const problem = await run(reader, query, states, intervalMs, `${query.dashboard} / ${query.panel} / ${name}`, true);
        if (problem) problems.push(problem);
      }
      expect(problems, problems.join('\n\n')).toEqual([]);
    });

    it('runs every SQL query on an empty database, as after a fresh install (All expands to no values)', async () => {
      const problems: string[] = [];
      const states = await resolveVariables(emptyReader, dashboard, HOUR, chooseWithoutData, problems);
      for (const query of sqlQueries([dashboard]).filter((q) => !q.panel.startsWith('$'))) {
        const problem = await run(emptyReader, query, states, HOUR, `${query.dashboard} / ${query.panel} / empty`, false);
        if (problem) problems.push(problem);
      }
      expect(problems, problems.join('\n\n')).toEqual([]);
    });
  });

  it("shows a stage its run's end closed, and a tolerated failure, in the run dashboard's Stages as the web view words them", async () => {
    const runId = 'grafana-red-run';
    const at = now - 60_000;
    const run = { [ATTR.pipelineName]: 'grafana-red', [ATTR.runId]: runId };
    const stage = (name: string) => ({ ...run, [ATTR.stageName]: name, [ATTR.stageRunId]: `${runId}-${name}` });
    const specs = [
      { eventName: EVENT.stageStart, attributes: stage('notify'), timestampMs: at },
      { eventName: EVENT.stageEnd, attributes: { ...stage('notify'), [ATTR.stageResult]: 'failure', [ATTR.failureAllowed]: true }, timestampMs: at + 1000 },
      { eventName: EVENT.stageStart, attributes: stage('archive'), timestampMs: at + 2000 },
      { eventName: EVENT.runEnd, attributes: { ...run, [ATTR.runResult]: 'success' }, timestampMs: at + 5000 },
    ];
    expect((await post(receiver.url, '/v1/logs', logsRequest(specs), { key: receiver.key })).status).toBe(200);
    const dashboard = dashboards.find((d) => d.uid === UID.run)!;
    const pick = (variable: VariableModel, options: string[]) =>
      variable.name === 'pipeline' ? 'grafana-red' : variable.name === 'run_id' ? runId : choose(variable, 'single value', options);
    const problems: string[] = [];
    const states = await resolveVariables(reader, dashboard, HOUR, pick, problems);
    const query = sqlQueries([dashboard]).find((q) => q.panel === 'Stages')!;
    const { rows } = await reader.query(expandSql(query.rawSql, { ...range, intervalMs: HOUR, variables: states }));
    expect(problems).toEqual([]);
    expect(rows.map((row) => [row.Stage, row.Result])).toEqual([
      ['notify', `failure${TOLERATED}`],
      ['archive', NO_END_REPORTED],
    ]);
    // Mapped to a colour, as every result is.
    expect(Object.keys(RESULT_MAPPINGS[0]!.options as object)).toEqual(expect.arrayContaining([NO_END_REPORTED, `failure${TOLERATED}`]));
  });

  it('lists expected-empty queries that exist', () => {
    const known = new Set(
      sqlQueries(dashboards).flatMap((query) => SELECTIONS.map((selection) => `${query.dashboard} / ${query.panel} / ${selection.name}`)),
    );
    for (const key of Object.keys(server.expectedEmpty)) expect(known.has(key), key).toBe(true);
  });
  },
);
