/**
 * The Metrics reported row of the Pipeline dashboard and the run dashboard's Metrics reported table
 * (dashboards/grafana/metrics.ts) on metric points written through the receiver's write path, with
 * Grafana's variables and macros expanded as its PostgreSQL datasource does, run as the read-only role
 * pipemon_reader: the `metric` variable's options, the values Grafana would plot for each kind of metric
 * (gauges by value, counters by their increase, histograms by their mean), and each series' last value;
 * and that the plotted values are those /api/v1/metric-points answers (metricPoints) for the same points.
 */
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { ATTR } from '../../../contract/vocabulary.js';
import { buildDashboards } from '../../../dashboards/grafana/dashboards.js';
import { ALL, type Selection, type VariableState } from '../../../dashboards/grafana/interpolate.js';
import { UID } from '../../../dashboards/grafana/links.js';
import { sqlQueries } from '../../../dashboards/grafana/queries.js';
import { expandSql } from '../../../dashboards/grafana/sql-macros.js';
import type { MetricPointRow, Resource, Tenant } from '../../../receiver/model/records.js';
import type { MetricAs } from '../../../receiver/query/metric-as.js';
import { metricPoints } from '../../../receiver/query/metric-points.js';
import type { Database } from '../../../receiver/storage/database.js';
import { READER_ROLE } from '../../../receiver/storage/migrations.js';
import { openDatabase } from '../../../receiver/storage/open.js';
import { backends, type Backend } from '../../helpers/backends.js';
import { metric, point, resourceOf, writePoints, type PointSpec } from './metric-points.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** 22:00 UTC: the points cross midnight, so that a series has a stream on each of two days. */
const T0 = Date.UTC(2026, 2, 1, 22);
const at = (hh: number, mm: number) => T0 + (hh - 22) * HOUR + mm * MINUTE;

const ETL = resourceOf({ [ATTR.serviceName]: 'orders-etl', [ATTR.environment]: 'prod' });
const ETL_2 = resourceOf({ [ATTR.serviceName]: 'orders-etl-2', [ATTR.environment]: 'prod' });
const STAGING = resourceOf({ [ATTR.serviceName]: 'orders-etl', [ATTR.environment]: 'staging' });

const ROWS = metric('rows.processed', 'sum', { temporality: 'cumulative', monotonic: true });
const BYTES = metric('bytes.sent', 'sum', { temporality: 'delta', monotonic: true, unit: 'By' });
const QUEUE = metric('queue.depth', 'gauge');
const OPEN = metric('connections.open', 'sum', { temporality: 'cumulative', monotonic: false });
const DURATION = metric('batch.duration', 'histogram', { temporality: 'cumulative', unit: 's' });
const STAGING_ONLY = metric('staging.only', 'gauge');
const INVOICES = metric('invoices', 'gauge');

const of = (pipeline: string, runId?: string, more: Record<string, string> = {}) => ({
  [ATTR.pipelineName]: pipeline,
  ...(runId && { [ATTR.runId]: runId }),
  ...more,
});

type Spec = Omit<PointSpec, 'resource' | 'metric' | 'attributes'>;

/** A series' points, under a Metric object of their own, as decoders make one per OTLP Metric (of one resource). */
function series(resource: Resource, m: PointSpec['metric'], attributes: PointSpec['attributes'], specs: Spec[]): MetricPointRow[] {
  const own = { ...m };
  return specs.map((spec) => point({ resource, metric: own, attributes, ...spec }));
}

/**
 * acme's orders: run-1 counts rows (restarting at 23:15, on through midnight) and times batches; run-2
 * counts rows from 23:30 and sends bytes as deltas; two services report queue depth per partition (both
 * a partition 0), and one its open connections (an up-down counter, as int values); staging a metric of
 * its own. acme's billing and globex's orders report metrics that orders of acme must not show.
 */
const ACME: MetricPointRow[] = [
  ...series(ETL, ROWS, of('orders', 'run-1', { table: 'orders' }), [
    { atMs: at(22, 10), startMs: T0, value: 100 },
    { atMs: at(22, 30), startMs: T0, value: 250 },
    { atMs: at(22, 50), startMs: T0, value: 400 },
    { atMs: at(23, 10), startMs: T0, value: 600 },
    { atMs: at(23, 20), startMs: at(23, 15), value: 50 },
    { atMs: at(23, 40), startMs: at(23, 15), value: 120 },
    { atMs: at(24, 10), startMs: at(23, 15), value: 200 },
  ]),
  ...series(ETL, ROWS, of('orders', 'run-2', { table: 'orders' }), [
    { atMs: at(23, 40), startMs: at(23, 30), value: 10 },
    { atMs: at(24, 20), startMs: at(23, 30), value: 30 },
  ]),
  ...series(ETL, BYTES, of('orders', 'run-2'), [
    { atMs: at(23, 35), startMs: at(23, 30), value: '10' },
    { atMs: at(23, 50), startMs: at(23, 35), value: '20' },
    { atMs: at(24, 5), startMs: at(23, 50), value: '30' },
  ]),
  ...series(ETL, DURATION, of('orders', 'run-1'), [
    { atMs: at(22, 15), startMs: T0, count: 2, sum: 3 },
    { atMs: at(22, 45), startMs: T0, count: 5, sum: 9 },
    { atMs: at(23, 15), startMs: T0, count: 6, sum: 13 },
  ]),
  ...series(ETL, QUEUE, of('orders', undefined, { partition: '0' }), [
    { atMs: at(22, 5), value: 5 },
    { atMs: at(22, 55), value: 7 },
  ]),
  ...series(ETL, QUEUE, of('orders', undefined, { partition: '1' }), [
    { atMs: at(22, 10), value: 1 },
    { atMs: at(23, 5), value: 2 },
  ]),
  ...series(ETL_2, QUEUE, of('orders', undefined, { partition: '0' }), [{ atMs: at(22, 30), value: 10 }]),
  ...series(ETL, OPEN, of('orders'), [
    { atMs: at(22, 10), startMs: T0, value: '3' },
    { atMs: at(22, 40), startMs: T0, value: '1' },
    { atMs: at(23, 10), startMs: T0, value: '4' },
  ]),
  ...series(STAGING, STAGING_ONLY, of('orders'), [{ atMs: at(22, 20), value: 1 }]),
  ...series(ETL, INVOICES, of('billing', 'b-1'), [{ atMs: at(22, 20), value: 1 }]),
];
const GLOBEX: MetricPointRow[] = series(ETL, ROWS, of('orders', 'g-1', { table: 'orders' }), [{ atMs: at(22, 20), startMs: T0, value: 999 }]);

interface World {
  reader: (sql: string) => Promise<Record<string, any>[]>;
  db: Database;
  acme: Tenant;
}

/** A migrated database with the points of ACME and GLOBEX (and acme's `more`), and a client that reads it as pipemon_reader. */
async function world(backend: Backend, more: MetricPointRow[] = []): Promise<World> {
  const url = await backend.databaseUrl();
  const db = await openDatabase({ databaseUrl: url });
  onTestFinished(() => db.close());
  const { rows } = await db.query<{ tenant_id: number; name: string }>(`INSERT INTO tenants (name) VALUES ('acme'), ('globex') RETURNING tenant_id, name`);
  const [acme, globex] = rows.map((row) => ({ id: row.tenant_id, name: row.name }));
  await writePoints(db, acme!, [...ACME, ...more]);
  await writePoints(db, globex!, GLOBEX);
  // The server's superuser takes the reader's role and a read-only transaction, as Grafana's connection has
  // them (queries.test.ts logs in as the role; its grants are what is checked here).
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  onTestFinished(() => client.end());
  const reader = async (sql: string) => {
    await client.query(`BEGIN READ ONLY; SET LOCAL ROLE ${READER_ROLE}`);
    try {
      return (await client.query<Record<string, any>>(sql)).rows;
    } finally {
      await client.query('ROLLBACK');
    }
  };
  return { reader, db, acme: acme! };
}

const dashboard = (uid: string): Dashboard => buildDashboards().find((d) => d.uid === uid)!;

interface Choice {
  /** Each variable's selection by name; environment is All unless given. */
  values: Record<string, Selection>;
  from?: number;
  to?: number;
  intervalMs?: number;
}

/** The SQL of `panel` (`$metric`: the variable's query) on `uid`, as Grafana sends it with these selections. */
function grafanaSql(uid: string, panel: string, choice: Choice): string {
  const found = sqlQueries([dashboard(uid)]).find((q) => q.panel === panel);
  expect(found, `${uid} / ${panel}`).toBeDefined();
  const variables: VariableState[] = (dashboard(uid).templating.list ?? []).map((definition) => ({
    definition,
    selection: choice.values[definition.name] ?? ALL,
  }));
  const range = { from: new Date(choice.from ?? T0), to: new Date(choice.to ?? at(25, 0)), intervalMs: choice.intervalMs ?? HOUR };
  return expandSql(found!.rawSql, { ...range, variables });
}

const ORDERS = { tenant: 'acme', pipeline: 'orders' };
const utc = (hh: number, mm = 0) => new Date(at(hh, mm)).toISOString();

/** The time series panel's rows as [time, legend, value], values to 4 places. */
async function plotted(w: World, name: string, choice: Omit<Choice, 'values'> & { values?: Record<string, Selection> } = {}) {
  const rows = await w.reader(grafanaSql(UID.pipeline, 'Metric: $metric', { ...choice, values: { ...ORDERS, metric: name, ...choice.values } }));
  return rows.map((row) => [(row.time as Date).toISOString(), row.metric, row.value === null ? null : Math.round(row.value * 1e4) / 1e4]);
}

describe('the Metrics reported row', () => {
  it('is a row of the Pipeline dashboard with a time series of the chosen metric and a table of last values, and the run dashboard has the table', () => {
    const panels = dashboard(UID.pipeline).panels as { type: string; title?: string }[];
    const row = panels.findIndex((p) => p.type === 'row' && p.title === 'Metrics reported');
    expect(panels.slice(row + 1).map((p) => [p.type, p.title])).toEqual([
      ['timeseries', 'Metric: $metric'],
      ['table', 'Metrics by run'],
    ]);
    expect((dashboard(UID.pipeline).templating.list ?? []).map((v) => v.name)).toContain('metric');
    expect(sqlQueries([dashboard(UID.pipeline)]).find((q) => q.panel === 'Metric: $metric')!.format).toBe('time_series');
    expect(sqlQueries([dashboard(UID.run)]).some((q) => q.panel === 'Metrics reported')).toBe(true);
  });
});

describe.each(backends())('the Metrics reported row on $name, as pipemon_reader', (backend) => {
  it("lists the pipeline's metric names of the time range's days in its environments, not another pipeline's or tenant's", async () => {
    const w = await world(backend);
    // The reader's role is in effect: what it may not read is refused.
    await expect(w.reader('SELECT * FROM api_keys')).rejects.toThrow(/permission denied/);
    const names = async (values: Record<string, Selection>, from = T0) =>
      (await w.reader(grafanaSql(UID.pipeline, '$metric', { values: { ...ORDERS, ...values }, from }))).map((row) => row.metric_name);
    expect(await names({})).toEqual(['batch.duration', 'bytes.sent', 'connections.open', 'queue.depth', 'rows.processed', 'staging.only']);
    expect(await names({ environment: ['staging'] })).toEqual(['staging.only']);
    expect(await names({ pipeline: 'billing' })).toEqual(['invoices']);
    expect(await names({ tenant: 'globex' })).toEqual(['rows.processed']);
    // Only run-1's and run-2's series reach the second day.
    expect(await names({}, at(24, 30))).toEqual(['bytes.sent', 'rows.processed']);
  });

  it('plots a counter as its increase per interval, a line per run, across a restart and midnight', async () => {
    const w = await world(backend);
    expect(await plotted(w, 'rows.processed')).toEqual([
      // run-1 started at 22:00, in the range: its first point counts whole (100 + 150 + 150).
      [utc(22), 'run-1 table=orders', 400],
      // 600 - 400, then restarted at 23:15 (a new start time): 50, then 70.
      [utc(23), 'run-1 table=orders', 320],
      [utc(23), 'run-2 table=orders', 10],
      // 200 - 120, from the next day's stream of the same series.
      [utc(24), 'run-1 table=orders', 80],
      [utc(24), 'run-2 table=orders', 20],
    ]);
    // From 22:20, run-1's first point in the range (22:30) adds its change since the point before the range: 250 - 100, then 150.
    expect((await plotted(w, 'rows.processed', { from: at(22, 20) }))[0]).toEqual([utc(22), 'run-1 table=orders', 300]);
    // Per 30 minutes.
    expect((await plotted(w, 'rows.processed', { intervalMs: 30 * MINUTE })).slice(0, 3)).toEqual([
      [utc(22), 'run-1 table=orders', 100],
      [utc(22, 30), 'run-1 table=orders', 300],
      [utc(23), 'run-1 table=orders', 250],
    ]);
  });

  it('plots a delta counter as the sum of its points per interval', async () => {
    const w = await world(backend);
    expect(await plotted(w, 'bytes.sent')).toEqual([
      [utc(23), 'run-2', 30],
      [utc(24), 'run-2', 30],
    ]);
  });

  it('plots a gauge and an up-down counter by their last value per interval, series of one legend summed', async () => {
    const w = await world(backend);
    expect(await plotted(w, 'queue.depth')).toEqual([
      // partition 0: 7 from orders-etl and 10 from orders-etl-2.
      [utc(22), 'partition=0', 17],
      [utc(22), 'partition=1', 1],
      [utc(23), 'partition=1', 2],
    ]);
    expect(await plotted(w, 'connections.open')).toEqual([
      [utc(22), 'connections.open', 1],
      [utc(23), 'connections.open', 4],
    ]);
  });

  it('plots a histogram by its mean per interval: the increase of its sum over that of its count', async () => {
    const w = await world(backend);
    expect(await plotted(w, 'batch.duration')).toEqual([
      [utc(22), 'run-1', 1.8],
      [utc(23), 'run-1', 4],
    ]);
  });

  it('keeps to the selected environment and tenant, and plots nothing for a metric of none', async () => {
    const w = await world(backend);
    expect(await plotted(w, 'rows.processed', { values: { environment: ['staging'] } })).toEqual([]);
    expect(await plotted(w, 'staging.only', { values: { environment: ['staging'] } })).toEqual([[utc(22), 'staging.only', 1]]);
    expect(await plotted(w, 'rows.processed', { values: { tenant: 'globex' } })).toEqual([[utc(22), 'g-1 table=orders', 999]]);
    expect(await plotted(w, '')).toEqual([]);
  });

  it("tables each series' last value in the range by run, latest first", async () => {
    const w = await world(backend);
    const rows = await w.reader(grafanaSql(UID.pipeline, 'Metrics by run', { values: ORDERS }));
    expect(
      rows.map((row) => [row.Run, row.Metric, row.Attributes, Math.round(row.Value * 1e4) / 1e4, row.Count === null ? null : Number(row.Count), row.Unit, row.Kind, row.At.toISOString()]),
    ).toEqual([
      ['run-2', 'rows.processed', 'table=orders', 30, null, '', 'sum', utc(24, 20)],
      ['run-1', 'rows.processed', 'table=orders', 200, null, '', 'sum', utc(24, 10)],
      // Deltas: their total.
      ['run-2', 'bytes.sent', null, 60, null, 'By', 'sum', utc(24, 5)],
      // The last point's mean, 13 / 6, and count.
      ['run-1', 'batch.duration', null, 2.1667, 6, 's', 'histogram', utc(23, 15)],
      [null, 'connections.open', null, 4, null, '', 'sum', utc(23, 10)],
      [null, 'queue.depth', 'partition=1', 2, null, '', 'gauge', utc(23, 5)],
      [null, 'queue.depth', 'partition=0', 7, null, '', 'gauge', utc(22, 55)],
      [null, 'queue.depth', 'partition=0', 10, null, '', 'gauge', utc(22, 30)],
      [null, 'staging.only', null, 1, null, '', 'gauge', utc(22, 20)],
    ]);
    // Within the range: before 23:00, run-1's counter was at 400.
    const early = await w.reader(grafanaSql(UID.pipeline, 'Metrics by run', { values: ORDERS, to: at(23, 0) }));
    expect(early.find((row) => row.Run === 'run-1' && row.Metric === 'rows.processed')!.Value).toBe(400);
  });

  it("tables the selected run's series whatever the time range", async () => {
    const w = await world(backend);
    const rows = await w.reader(
      grafanaSql(UID.run, 'Metrics reported', { values: { ...ORDERS, run_id: 'run-1' }, from: T0 - 10 * 24 * HOUR, to: T0 - 9 * 24 * HOUR }),
    );
    expect(rows.map((row) => [row.Metric, row.Attributes, Math.round(row.Value * 1e4) / 1e4, row.At.toISOString()])).toEqual([
      ['rows.processed', 'table=orders', 200, utc(24, 10)],
      ['batch.duration', null, 2.1667, utc(23, 15)],
    ]);
    expect(await w.reader(grafanaSql(UID.run, 'Metrics reported', { values: { tenant: 'globex', pipeline: 'orders', run_id: 'run-1' } }))).toEqual([]);
  });
});

/**
 * The loads pipeline's series for comparing the panel with the API (/api/v1/metric-points): a point every
 * SPACING, at :05, :15 and so on, so that an interval of SPACING holds one point each, across midnight.
 */
const SPACING = 10 * MINUTE;
const LOADS_TO = at(24, 30);
const LOAD_ROWS = metric('loads.rows', 'sum', { temporality: 'cumulative', monotonic: true });
const LOAD_BYTES = metric('loads.bytes', 'sum', { temporality: 'delta', monotonic: true, unit: 'By' });
const LOAD_LAG = metric('loads.lag', 'gauge', { unit: 's' });
const LOAD_OPEN = metric('loads.open', 'sum', { temporality: 'cumulative', monotonic: false });

/** Points from `fromMs` on, one per SPACING, each started at `startMs(atMs)` (none: a gauge's). */
const spaced = (fromMs: number, values: (number | string)[], startMs?: (atMs: number) => number): Spec[] =>
  values.map((value, i) => {
    const atMs = fromMs + i * SPACING;
    return { atMs, value, ...(startMs && { startMs: startMs(atMs) }) };
  });

const LOADS: MetricPointRow[] = [
  // Started at 22:00; restarted at 22:40 (a new start time only: 80 is above 70), reset at 23:05 (95 to 12).
  ...series(ETL, LOAD_ROWS, of('loads', 'c-1'), [
    ...spaced(at(22, 5), [10, 25, 40, 70], () => T0),
    ...spaced(at(22, 45), [80, 95, 12, 30, 45, 47, 60, 80, 100, 130], () => at(22, 40)),
  ]),
  // Int values, started at 22:40, reset at 23:15 (9 to 2).
  ...series(ETL, LOAD_ROWS, of('loads', 'c-2'), spaced(at(22, 45), ['3', '9', '9', '2', '5', '8', '8', '13', '20', '21'], () => at(22, 40))),
  // Deltas, each over the SPACING before it.
  ...series(ETL, LOAD_BYTES, of('loads', 'd-1'), spaced(at(22, 5), ['5', '0', '7', '3', '12', '1', '4', '4', '9', '2', '6', '8', '1', '3'], (t) => t - SPACING)),
  ...series(ETL, LOAD_LAG, of('loads', 'g-1'), spaced(at(22, 5), [1.5, 0.25, 3, 2, 0, 7.75, 4, 1, 6, 2.5, 0.5, 3])),
  ...series(ETL, LOAD_OPEN, of('loads', 'u-1'), spaced(at(22, 5), ['3', '1', '4', '1', '5', '9', '2', '6', '5', '3', '5', '0', '2'], () => T0)),
];

/** Values by legend (a series' run), then by the start of their interval (ISO). */
type Bins = Record<string, Record<string, number | null>>;

async function panelBins(w: World, name: string, fromMs: number, intervalMs: number): Promise<Bins> {
  const rows = await w.reader(
    grafanaSql(UID.pipeline, 'Metric: $metric', { values: { tenant: 'acme', pipeline: 'loads', metric: name }, from: fromMs, to: LOADS_TO, intervalMs }),
  );
  const bins: Bins = {};
  for (const row of rows) (bins[row.metric] ??= {})[(row.time as Date).toISOString()] = row.value === null ? null : Number(row.value);
  return bins;
}

/**
 * What metricPoints (behind GET /api/v1/metric-points) answers over the same range, per interval of
 * `intervalMs` from the epoch, as the panel's are: increases added up, values the last one. `stepped`
 * asks the API for one per step (step=); otherwise its points are binned here.
 */
async function apiBins(w: World, name: string, fromMs: number, intervalMs: number, as: MetricAs, stepped: boolean): Promise<Bins> {
  const answer = await metricPoints(w.db, w.acme.id, {
    scope: { pipeline: 'loads', metric: name, since: new Date(fromMs), until: new Date(LOADS_TO) },
    as,
    ...(stepped && { stepSeconds: intervalMs / 1000 }),
  });
  const step = BigInt(intervalMs) * 1_000_000n;
  const bins: Bins = {};
  for (const series of answer.series) {
    const own = (bins[series.run_id!] ??= {});
    for (const point of series.points) {
      const bin = new Date(Number(((BigInt(point.time_unix_nano) / step) * step) / 1_000_000n)).toISOString();
      const value = Number(point.value);
      own[bin] = as === 'value' ? value : (own[bin] ?? 0) + value;
    }
  }
  return bins;
}

/** The panel's bins, after checking that the API's points binned, and its steps, are the same. */
async function agreed(w: World, name: string, fromMs: number, intervalMs: number, as: MetricAs): Promise<Bins> {
  const panel = await panelBins(w, name, fromMs, intervalMs);
  const where = `${name} from ${new Date(fromMs).toISOString()} per ${intervalMs / MINUTE} min`;
  expect(await apiBins(w, name, fromMs, intervalMs, as, false), `${where}: the API's points`).toEqual(panel);
  expect(await apiBins(w, name, fromMs, intervalMs, as, true), `${where}: the API's steps`).toEqual(panel);
  return panel;
}

const INTERVALS = [SPACING, 3 * SPACING, HOUR];

describe.each(backends())('the Metric panel and /api/v1/metric-points on $name agree on the same points', (backend) => {
  it("on a counter's increase per interval, across restarts (a new start time, a drop) and midnight", async () => {
    const w = await world(backend, LOADS);
    // From 22:00 and 22:40 each series' first point in the range started in it (c-1's restart, c-2's start); from
    // 22:30, 22:42 and midnight they started before it, and count since the point before the range (the day before's).
    for (const from of [T0, at(22, 30), at(22, 40), at(22, 42), at(24, 0)]) {
      for (const interval of INTERVALS) await agreed(w, 'loads.rows', from, interval, 'increase');
    }
    // The bins compared are the counted ones: c-1 10 + 15 + 15 + 30, restarted 80 + 15; reset 12 + 18 + 15 + 2 + 13 + 20; 20 + 30.
    // c-2 3 + 6; 0, reset 2, + 3 + 3 + 0 + 5; 7 + 1.
    expect(await agreed(w, 'loads.rows', T0, HOUR, 'increase')).toEqual({
      'c-1': { [utc(22)]: 165, [utc(23)]: 80, [utc(24)]: 50 },
      'c-2': { [utc(22)]: 9, [utc(23)]: 13, [utc(24)]: 8 },
    });
    // From 22:30, c-1's 22:35 point counts since 22:25's: 70 - 40; then 80 (restarted) and 15.
    expect((await agreed(w, 'loads.rows', at(22, 30), SPACING, 'increase'))['c-1']![utc(22, 30)]).toBe(30);
    expect((await agreed(w, 'loads.rows', at(22, 30), HOUR, 'increase'))['c-1']![utc(22)]).toBe(125);
    // From 22:42, c-1's 22:45 point restarted since 22:35's (a new start time): whole, 80; c-2's has no point before it: whole, 3.
    const from42 = await agreed(w, 'loads.rows', at(22, 42), SPACING, 'increase');
    expect([from42['c-1']![utc(22, 40)], from42['c-2']![utc(22, 40)]]).toEqual([80, 3]);
    // From midnight, the 00:05 points count since 23:55's, on the day before: c-1 100 - 80, then 30; c-2 20 - 13, then 1.
    expect(await agreed(w, 'loads.rows', at(24, 0), HOUR, 'increase')).toEqual({ 'c-1': { [utc(24)]: 50 }, 'c-2': { [utc(24)]: 8 } });
  });

  it("on a delta counter's sum per interval, its first point whole whenever the range begins", async () => {
    const w = await world(backend, LOADS);
    for (const from of [T0, at(22, 30)]) for (const interval of INTERVALS) await agreed(w, 'loads.bytes', from, interval, 'increase');
    expect(await agreed(w, 'loads.bytes', at(22, 30), HOUR, 'increase')).toEqual({ 'd-1': { [utc(22)]: 16, [utc(23)]: 33, [utc(24)]: 4 } });
  });

  it("on a gauge's and an up-down counter's last value per interval", async () => {
    const w = await world(backend, LOADS);
    for (const name of ['loads.lag', 'loads.open']) for (const interval of INTERVALS) await agreed(w, name, at(22, 30), interval, 'value');
    expect(await agreed(w, 'loads.lag', T0, HOUR, 'value')).toEqual({ 'g-1': { [utc(22)]: 7.75, [utc(23)]: 3 } });
    expect(await agreed(w, 'loads.open', T0, HOUR, 'value')).toEqual({ 'u-1': { [utc(22)]: 9, [utc(23)]: 0, [utc(24)]: 2 } });
  });
});
