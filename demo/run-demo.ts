/**
 * The demo as a function: check the receiver, backfill the history, then (with `live`) keep running
 * new runs until the signal aborts. The CLI (cli.ts), the tests and the end-to-end checks of the
 * dashboards and alerts all call this.
 */
import { backfill } from './backfill.js';
import { checkReceiver, DemoConfigError, resolveConnection } from './connection.js';
import { runLive } from './live.js';
import { DAY_MS } from './schedule.js';
import { formatTally, type Tally } from './tally.js';

export interface DemoOptions {
  /** Default: PIPEMON_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT, else http://127.0.0.1:4318. */
  endpoint?: string;
  /** Default: PIPEMON_API_KEY, the Authorization in OTEL_EXPORTER_OTLP_HEADERS, else the key saved in dataDir. */
  key?: string;
  /** Where `pipemon serve` saved its default key (default ./.pipemon). */
  dataDir?: string;
  /** Days of history to backfill, 0 to 28 (default 7). */
  days?: number;
  /**
   * The same seed sends the same runs (ids, results, durations, rows), whenever it is sent: a run's
   * records depend on the seed and its slot only, so a resend stores nothing new but the slots that
   * did not exist before; default 1.
   */
  seed?: number;
  /** Keep running new runs until `signal` aborts. */
  live?: boolean;
  /** Seconds between live runs of each pipeline (default 5). */
  liveIntervalSeconds?: number;
  /** Stops the live runs (required with `live`). */
  signal?: AbortSignal;
  /** The clock of the backfill (default Date.now): the history ends at now(), which decides which slots it has. */
  now?: () => number;
  /** What the demo prints (default: nothing). */
  log?: (line: string) => void;
  /** The live SDK's spool directory (default: the SDK's own). */
  spoolDir?: string;
}

export interface DemoSummary {
  seed: number;
  endpoint: string;
  backfill: {
    days: number;
    /** The window the history covers, Unix ms (the stopped pipeline may start before it). */
    fromMs: number;
    toMs: number;
    pipelines: Tally;
    hungRunId: string | null;
    logRecords: number;
    spans: number;
  };
  /** Runs made live; null without `live`. */
  live: { pipelines: Tally } | null;
}

export const DEFAULT_SEED = 1;
export const DEFAULT_DAYS = 7;
/** The receiver keeps 30 days by default; the stopped pipeline's history starts up to 2 days earlier. */
export const MAX_DAYS = 28;
const DEFAULT_INTERVAL_SECONDS = 5;
const SERVICE_NAME = 'pipemon-demo';
const ENVIRONMENT = 'demo';

function validate(options: DemoOptions): { days: number; seed: number; intervalMs: number } {
  const days = options.days ?? DEFAULT_DAYS;
  if (!Number.isInteger(days) || days < 0 || days > MAX_DAYS) throw new DemoConfigError(`--days must be an integer from 0 to ${MAX_DAYS}, got ${days}`);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new DemoConfigError(`--seed must be a non-negative integer, got ${seed}`);
  const interval = options.liveIntervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  if (!(interval >= 0.2 && interval <= 3600)) throw new DemoConfigError(`--live-interval must be from 0.2 to 3600 seconds, got ${interval}`);
  if (options.live && !options.signal) throw new DemoConfigError('a live demo needs a signal to stop it');
  return { days, seed, intervalMs: Math.round(interval * 1000) };
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const { days, seed, intervalMs } = validate(options);
  const log = options.log ?? (() => undefined);
  const connection = resolveConnection({ endpoint: options.endpoint, key: options.key, dataDir: options.dataDir });
  await checkReceiver(connection);

  // Decides which slots the history has, never what a slot's run records (schedule.ts).
  const nowMs = (options.now ?? Date.now)();
  log(`pipemon demo (seed ${seed}) -> ${connection.endpoint}`);
  const history = await backfill({
    connection,
    seed,
    days,
    nowMs,
    // One instance per seed: resending the same history is the same records, which the receiver stores once.
    resource: { 'service.name': SERVICE_NAME, 'deployment.environment.name': ENVIRONMENT, 'service.instance.id': `${SERVICE_NAME}-backfill-${seed}` },
  });
  if (days > 0) {
    log(`sent ${days} days of history (${history.logRecords} log records, ${history.spans} spans), all taken by the receiver:`);
    for (const line of formatTally(history.pipelines)) log(line);
    if (history.hungRunId) log(`  the hung run is ${history.hungRunId}`);
  }
  const summary: DemoSummary = {
    seed,
    endpoint: connection.endpoint,
    backfill: { days, fromMs: nowMs - days * DAY_MS, toMs: nowMs, ...history },
    live: null,
  };
  if (!options.live) {
    if (days === 0) log('nothing sent: --days 0 and no --live');
    return summary;
  }

  log(`live: a run of each pipeline every ${intervalMs / 1000} s until stopped (Ctrl-C)`);
  const pipelines: Tally = {};
  summary.live = { pipelines };
  await runLive({ connection, seed, intervalMs, serviceName: SERVICE_NAME, environment: ENVIRONMENT, signal: options.signal!, spoolDir: options.spoolDir, log }, pipelines);
  log('live: stopped; every live run was delivered:');
  for (const line of formatTally(pipelines)) log(line);
  return summary;
}
