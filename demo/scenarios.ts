/**
 * The demo's pipelines, written against the SDK's `Run` as any pipeline would be. The same code makes
 * the backfilled history (the SDK's run() on a clock the backfill advances) and the live runs (the
 * SDK's run() on the system clock, or `pipemon exec` for the exec pipeline), so both produce the same
 * records.
 *
 * Between them they show everything the dashboards and alerts look for: a healthy loader, a flaky
 * pipeline with two error types, a duration drifting upward, zero rows written, rejected rows with
 * failing data-quality checks, a pipeline that stopped reporting, a run that hangs, and a chain of
 * pipelines through shared datasets whose first link broke. Several owners, so that alerts route by
 * team; some declare their expected interval, the others leave it to the receiver's inference.
 */
import * as checks from '../sdk/checks.js';
import { parseLine } from '../sdk/exec.js';
import type { Run, RunOptions } from '../sdk/activity/run.js';
import { ATTR } from '../contract/vocabulary.js';
import type { Random } from './random.js';
import { HOUR_MS, MINUTE_MS, DAY_MS, daysIntoUtcWeek, type History, type Schedule } from './schedule.js';

/**
 * Everything here derives from the seed, the pipeline and the slot (run-context.ts), never from the
 * current time: the same slot is the same run, however often and whenever it is sent.
 */
export interface RunContext {
  /** The run's scheduled instant. */
  readonly slotMs: number;
  /** This run's own numbers, the same for the same seed, pipeline and slot. */
  readonly random: Random;
  /** True for the run that closes a backfilled 'closed' history (schedule.ts, CLOSING). */
  readonly closing: boolean;
  /** True for exactly one run in each block of `n` consecutive slots of the schedule, which one chosen by the seed. */
  oneIn(n: number): boolean;
  /** The pipeline's own time passing: the backfill moves its clock, live sleeps a compressed while. */
  work(minutes: number): Promise<void>;
  /** The process freezes here: heartbeats stop and the run never ends (backfill only). */
  hang(): Promise<never>;
}

/** What `pipemon exec` runs for the exec pipeline: a command printing these lines, one per pause. */
export interface ExecJob {
  stage: string;
  lines: string[];
  minutes: number;
}

export interface Scenario {
  pipeline: string;
  owner: string;
  /** Declared (`pipemon.pipeline.expected_interval_seconds`), or left to the receiver's inference. */
  expectedIntervalSeconds?: number;
  schedule: Schedule;
  history: History;
  /** How `--live` runs it: through the SDK in-process, through `pipemon exec`, or not at all. */
  live: 'sdk' | 'exec' | 'none';
  /** Options every run of the pipeline passes to run(), besides its id, owner and interval. */
  runOptions?: Pick<RunOptions, 'sourceSystem' | 'attributes' | 'inputs' | 'outputs'>;
  /** The exec pipeline's command output for one run. */
  execJob?(context: RunContext): ExecJob;
  body(run: Run, context: RunContext): Promise<void>;
}

/**
 * The demo pipelines' errors carry the stack of the imagined pipeline code: a real one would name the
 * demo's own callers (the CLI, a test), and a resent run's records would then differ from the first.
 */
class PipelineError extends Error {
  constructor(name: string, message: string, frames: readonly string[]) {
    super(message);
    this.name = name;
    this.stack = [`${name}: ${message}`, ...frames.map((frame) => `    at ${frame}`)].join('\n');
  }
}

export class ConnectionResetError extends PipelineError {
  constructor(message: string) {
    super('ConnectionResetError', message, ['StripeClient.listPayments (pipelines/payments-sync/stripe.js:88:13)', 'fetch (pipelines/payments-sync/index.js:31:20)']);
  }
}

export class UndefinedColumnError extends PipelineError {
  constructor(message: string) {
    super('UndefinedColumnError', message, ['Extract.selectOrders (pipelines/dw-orders-load/extract.js:41:17)', 'extract (pipelines/dw-orders-load/index.js:22:11)']);
  }
}

export class SchemaMismatchError extends PipelineError {
  constructor(message: string) {
    super('SchemaMismatchError', message, ['Loader.checkColumns (pipelines/payments-sync/load.js:54:11)', 'load (pipelines/payments-sync/index.js:47:9)']);
  }
}

/** 0 at 03:00 UTC, 1 at 15:00: orders follow the day. */
function daylight(slotMs: number): number {
  const hour = new Date(slotMs).getUTCHours() + new Date(slotMs).getUTCMinutes() / 60;
  return 0.5 - 0.5 * Math.cos((2 * Math.PI * (hour - 3)) / 24);
}

const healthyLoader: Scenario = {
  pipeline: 'orders-hourly-load',
  owner: 'team-data',
  expectedIntervalSeconds: 3600,
  schedule: { everyMs: HOUR_MS, offsetMs: 5 * MINUTE_MS },
  history: { kind: 'ongoing' },
  live: 'sdk',
  runOptions: { sourceSystem: 'postgres' },
  async body(run, { random, slotMs, work }) {
    const orders = Math.round((300 + 900 * daylight(slotMs)) * random.between(0.9, 1.1));
    const items = Math.round(orders * random.between(2.3, 2.9));
    await run.stage('extract', { sourceSystem: 'postgres' }, async (stage) => {
      await work(random.between(0.6, 1.2));
      stage.rows({ read: orders + items });
    });
    await run.stage('transform', async (stage) => {
      await work(random.between(0.3, 0.7));
      stage.log.info('joined orders with their items and converted currencies', { orders, items });
    });
    await run.stage('load_orders', { target: { namespace: 'dw', collection: 'orders' } }, async (stage) => {
      await work(random.between(0.4, 0.9));
      stage.rows({ written: orders });
    });
    await run.stage('load_order_items', { target: { namespace: 'dw', collection: 'order_items' } }, async (stage) => {
      await work(random.between(0.6, 1.3));
      stage.rows({ written: items });
    });
  },
};

const flaky: Scenario = {
  pipeline: 'payments-sync',
  owner: 'team-finance',
  schedule: { everyMs: HOUR_MS, offsetMs: 20 * MINUTE_MS },
  // Its closing run fails, a quarter hour or more ago: a failed-run alert has something to show as
  // soon as the backfill is in.
  history: { kind: 'closed', minutesAgo: 15 },
  live: 'sdk',
  runOptions: { sourceSystem: 'stripe' },
  async body(run, { random, closing, oneIn, work }) {
    // One scheduled run in four fails, and the closing run. Every number is drawn whether it is used
    // or not, so that a run's numbers never depend on which branch it takes.
    const fails = closing || oneIn(4);
    const cause = random.pick(['connection', 'schema'] as const);
    const payments = random.int(600, 1500);
    const got = random.int(50, payments - 1);
    await run.stage('fetch', { sourceSystem: 'stripe' }, async (stage) => {
      await work(random.between(0.5, 1.5));
      if (fails && cause === 'connection') {
        stage.rows({ read: got });
        throw new ConnectionResetError(`connection reset by api.stripe.com after ${got} of ${payments} payments (ECONNRESET)`);
      }
      stage.rows({ read: payments });
    });
    await run.stage('reconcile', async (stage) => {
      await work(random.between(0.2, 0.5));
      stage.log.info('matched payments with invoices', { unmatched: random.int(0, 4) });
    });
    await run.stage('load', { target: { namespace: 'finance', collection: 'payments' } }, async (stage) => {
      await work(random.between(0.3, 0.8));
      if (fails && cause === 'schema') {
        throw new SchemaMismatchError('column "amount" is numeric(12,2) in finance.payments but the source sends text ("12,50")');
      }
      stage.rows({ written: payments });
    });
  },
};

const drifting: Scenario = {
  pipeline: 'events-aggregate',
  owner: 'team-data',
  schedule: { everyMs: HOUR_MS, offsetMs: 35 * MINUTE_MS },
  history: { kind: 'ongoing' },
  live: 'sdk',
  runOptions: { sourceSystem: 'kafka' },
  async body(run, { random, slotMs, work }) {
    // The events table grows without a vacuum until the weekly maintenance (Monday 00:00 UTC) rebuilds
    // it: each day's runs take about 25% longer than the day before, from 2.5 minutes on Monday to 12
    // by Sunday night. The week of the slot, not the current day, so that a resent run is the same run.
    const minutes = 12 * Math.pow(0.8, 7 - daysIntoUtcWeek(slotMs)) * random.between(0.95, 1.05);
    const events = random.int(900_000, 1_100_000);
    await run.stage('read_events', { sourceSystem: 'kafka' }, async (stage) => {
      await work(minutes * 0.3);
      stage.rows({ read: events });
    });
    await run.stage('aggregate', async (stage) => {
      await work(minutes * 0.55);
      stage.log.info('aggregated events per customer and hour', { partitions: 24 });
    });
    await run.stage('write', { target: { namespace: 'analytics', collection: 'events_hourly' } }, async (stage) => {
      await work(minutes * 0.15);
      stage.rows({ written: random.int(2300, 2600) });
    });
  },
};

/** The exec pipeline's command: node printing the lines it is given, as a script's logging would. */
export const EXEC_PRINTER = [
  '-e',
  'const lines = JSON.parse(process.env.PIPEMON_DEMO_LINES); const pause = Number(process.env.PIPEMON_DEMO_PAUSE_MS);' +
    ' const next = (i) => { if (i < lines.length) { console.log(lines[i]); setTimeout(next, pause, i + 1); } }; next(0);',
];
const EXEC_COMMAND_LINE = [process.execPath, ...EXEC_PRINTER].join(' ');

function contactsExport({ random }: RunContext): ExecJob {
  const contacts = random.int(800, 2400);
  return {
    stage: 'export',
    minutes: random.between(1, 2.5),
    lines: [
      JSON.stringify({ level: 'info', msg: 'fetching contacts changed since the last export', source: 'hubspot' }),
      JSON.stringify({ level: 'info', msg: 'fetched contacts', rows_read: contacts }),
      JSON.stringify({ level: 'warn', msg: 'the consent filter kept no contact: nothing to export', kept: 0 }),
      JSON.stringify({ level: 'info', msg: 'export finished', rows_written: 0, destination: 's3://crm-exports/contacts/' }),
    ],
  };
}

const zeroRows: Scenario = {
  pipeline: 'crm-contacts-export',
  owner: 'team-marketing',
  schedule: { everyMs: 2 * HOUR_MS, offsetMs: 50 * MINUTE_MS },
  history: { kind: 'ongoing' },
  live: 'exec',
  // What `pipemon exec` puts on the run (sdk/exec.ts).
  runOptions: { attributes: { [ATTR.processCommand]: EXEC_COMMAND_LINE } },
  execJob: contactsExport,
  /** The records `pipemon exec --stage export` makes of the job's output (sdk/exec.ts, spawnMonitored). */
  async body(run, context) {
    const job = contactsExport(context);
    await run.stage(job.stage, async (stage) => {
      for (const line of job.lines) {
        await context.work(job.minutes / job.lines.length);
        const parsed = parseLine(line, 'stdout');
        if (parsed.rows) stage.rows(parsed.rows);
        stage.log[parsed.level](parsed.message, { ...parsed.attributes, [ATTR.logIostream]: 'stdout' });
      }
      stage.set({ [ATTR.processExitCode]: 0 });
    });
    // The run ends as its stage did: exec puts the exit code on both.
    run.set({ [ATTR.processExitCode]: 0 });
  },
};

const CUSTOMER_COLUMNS = ['customer_id', 'email', 'country', 'created_at'];

const quality: Scenario = {
  pipeline: 'customers-quality',
  owner: 'team-marketing',
  expectedIntervalSeconds: 3 * 3600,
  schedule: { everyMs: 3 * HOUR_MS, offsetMs: 15 * MINUTE_MS },
  history: { kind: 'ongoing' },
  live: 'sdk',
  runOptions: { sourceSystem: 'salesforce' },
  async body(run, { random, work }) {
    const customers = random.int(1800, 2600);
    await run.stage('extract', { sourceSystem: 'salesforce' }, async (stage) => {
      await work(random.between(0.8, 1.6));
      stage.rows({ read: customers });
    });
    let rejected = 0;
    await run.stage('validate', async (stage) => {
      await work(random.between(0.3, 0.6));
      // A sample of the batch, checked as a pipeline would check its rows: 3-8% of emails are missing
      // (the limit is 2%), some ids come twice, and now and then a new column appears upstream.
      const sample = 200;
      const missingEmails = random.int(6, 16);
      const duplicated = random.chance(0.5) ? random.int(1, 5) : 0;
      const ids = Array.from({ length: sample }, (_, i) => `C-${10_000 + i}`);
      for (let i = 0; i < duplicated; i++) ids[sample - 1 - i] = ids[i]!;
      const emails = ids.map((id, i) => (i < missingEmails ? null : `${id.toLowerCase()}@example.com`));
      const columns = random.chance(0.15) ? [...CUSTOMER_COLUMNS, 'middle_name'] : CUSTOMER_COLUMNS;
      checks.schemaDrift(stage, CUSTOMER_COLUMNS, columns);
      checks.nullRatio(stage, 'email', emails, 0.02);
      checks.duplicates(stage, ids);
      rejected = Math.round((customers * missingEmails) / sample) + Math.round((customers * duplicated) / sample);
      stage.rows({ rejected });
      stage.log.warn('rejected customers without email or with a duplicated id', { rejected });
    });
    await run.stage('load', { target: { namespace: 'crm', collection: 'customers' } }, async (stage) => {
      await work(random.between(0.4, 0.9));
      stage.rows({ written: customers - rejected });
    });
  },
};

const stopped: Scenario = {
  pipeline: 'finance-daily-report',
  owner: 'team-finance',
  expectedIntervalSeconds: 86_400,
  schedule: { everyMs: DAY_MS, offsetMs: 2 * HOUR_MS },
  history: { kind: 'stopped', hoursAgo: 48 },
  live: 'none',
  runOptions: { sourceSystem: 'postgres' },
  async body(run, { random, work }) {
    await run.stage('aggregate', { sourceSystem: 'postgres' }, async (stage) => {
      await work(random.between(5, 8));
      stage.rows({ read: random.int(38_000, 46_000) });
    });
    await run.stage('publish', { target: { namespace: 'reports', collection: 'daily_finance' } }, async (stage) => {
      await work(random.between(0.5, 1));
      stage.rows({ written: random.int(110, 130) });
    });
  },
};

const hanging: Scenario = {
  pipeline: 'inventory-snapshot',
  owner: 'team-ops',
  schedule: { everyMs: HOUR_MS, offsetMs: 10 * MINUTE_MS },
  // Its closing run started at least an hour ago and froze 25 minutes in: the last heartbeat is 35+
  // minutes old, and the run never ends.
  history: { kind: 'closed', minutesAgo: 60 },
  live: 'none',
  runOptions: { sourceSystem: 'wms' },
  async body(run, { random, closing, work, hang }) {
    await run.stage('snapshot', { sourceSystem: 'wms' }, async (stage) => {
      if (closing) {
        await work(25);
        await hang();
      }
      await work(random.between(5, 9));
      stage.rows({ read: random.int(48_000, 52_000) });
    });
    await run.stage('publish', { target: { namespace: 'inventory', collection: 'snapshots' } }, async (stage) => {
      await work(random.between(0.5, 1.5));
      stage.rows({ written: random.int(48_000, 52_000) });
    });
  },
};

/**
 * A chain through shared datasets, as a warehouse has them: a loader copies the shop's orders into the
 * warehouse, a report sums them into daily revenue, an export writes that as a file for finance. Each
 * names what it reads and writes (`inputs`, `outputs`), so the receiver's lineage links them. The
 * loader's closing run fails three hours ago (the shop's schema changed under it) and the scheduler
 * holds back what depends on it: the report and the export have not run since, and are late because of
 * the loader, whose failure is the alert that pages (root cause first).
 */
export const DEMO_DATASETS = {
  shopOrders: 'postgres://shop-db:5432/shop.public.orders',
  shopOrderLines: 'postgres://shop-db:5432/shop.public.order_lines',
  orders: 'postgres://dw:5432/dw.public.orders',
  dailyRevenue: 'postgres://dw:5432/dw.public.daily_revenue',
  revenueFile: 's3://exports/revenue.csv',
} as const;

/** Three hours: past two expected intervals of the hourly pipelines downstream, so they are late. */
const CHAIN_BROKEN_MINUTES = 180;

const chainLoader: Scenario = {
  pipeline: 'dw-orders-load',
  owner: 'team-data',
  expectedIntervalSeconds: 3600,
  schedule: { everyMs: HOUR_MS, offsetMs: 25 * MINUTE_MS },
  history: { kind: 'closed', minutesAgo: CHAIN_BROKEN_MINUTES },
  live: 'none',
  runOptions: { sourceSystem: 'postgres' },
  async body(run, { random, closing, work }) {
    const orders = random.int(20_000, 26_000);
    const lines = Math.round(orders * random.between(2.3, 2.9));
    await run.stage('extract', { sourceSystem: 'postgres', inputs: [DEMO_DATASETS.shopOrders, DEMO_DATASETS.shopOrderLines] }, async (stage) => {
      await work(random.between(1, 2));
      if (closing) throw new UndefinedColumnError('column orders.discount_code does not exist (the shop renamed it to promo_code)');
      stage.rows({ read: orders + lines });
    });
    await run.stage('load', { outputs: [DEMO_DATASETS.orders] }, async (stage) => {
      await work(random.between(1, 2.5));
      stage.rows({ written: orders });
    });
  },
};

const chainReport: Scenario = {
  pipeline: 'revenue-report',
  owner: 'team-finance',
  expectedIntervalSeconds: 3600,
  schedule: { everyMs: HOUR_MS, offsetMs: 40 * MINUTE_MS },
  // It waits for a fresh dw.public.orders: nothing since the loader broke.
  history: { kind: 'stopped', hoursAgo: CHAIN_BROKEN_MINUTES / 60 },
  live: 'none',
  runOptions: { sourceSystem: 'postgres', inputs: [DEMO_DATASETS.orders] },
  async body(run, { random, work }) {
    await run.stage('sum_revenue', { sourceSystem: 'postgres' }, async (stage) => {
      await work(random.between(2, 4));
      stage.rows({ read: random.int(20_000, 26_000) });
    });
    await run.stage('publish', { outputs: [DEMO_DATASETS.dailyRevenue] }, async (stage) => {
      await work(random.between(0.2, 0.5));
      stage.rows({ written: random.int(28, 31) });
    });
  },
};

const chainExport: Scenario = {
  pipeline: 'revenue-export',
  owner: 'team-finance',
  expectedIntervalSeconds: 3600,
  schedule: { everyMs: HOUR_MS, offsetMs: 55 * MINUTE_MS },
  // It waits for a fresh daily_revenue, which waits for the loader.
  history: { kind: 'stopped', hoursAgo: CHAIN_BROKEN_MINUTES / 60 },
  live: 'none',
  runOptions: { inputs: [DEMO_DATASETS.dailyRevenue], outputs: [DEMO_DATASETS.revenueFile] },
  async body(run, { random, work }) {
    await run.stage('export', async (stage) => {
      await work(random.between(0.3, 0.8));
      const days = random.int(28, 31);
      stage.rows({ read: days, written: days });
    });
  },
};

export const SCENARIOS: readonly Scenario[] = [healthyLoader, flaky, drifting, zeroRows, quality, stopped, hanging, chainLoader, chainReport, chainExport];

/** The pipelines by the part they play, for tests and the end-to-end checks of alerts and dashboards. */
export const DEMO_PIPELINES = {
  healthy: healthyLoader.pipeline,
  flaky: flaky.pipeline,
  drifting: drifting.pipeline,
  zeroRows: zeroRows.pipeline,
  quality: quality.pipeline,
  stopped: stopped.pipeline,
  hanging: hanging.pipeline,
  /** The chain: the loader's latest run failed; the report reads what it writes, the export what the report writes. */
  loader: chainLoader.pipeline,
  report: chainReport.pipeline,
  export: chainExport.pipeline,
} as const;
