/**
 * `--live`: new runs of the scenarios on a compressed schedule (every few seconds, a pipeline minute
 * lasting a fiftieth of that, with a heartbeat per pipeline minute as the backfill's runs beat every
 * 60 s of theirs) until the signal aborts, through the pipemon SDK's run() in this process and, for the
 * exec pipeline, `pipemon exec` in a child process, exactly as users run them. On stop the runs in
 * flight finish, the SDK shuts down, and anything it could not deliver is an error.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorType } from '../sdk/activity/run.js';
import { shutdown, start } from '../sdk/activity/telemetry.js';
import { DemoConfigError, type Connection } from './connection.js';
import { DeliveryError } from './export.js';
import { planRun, sdkRun, type Outcome } from './run-context.js';
import { EXEC_PRINTER, SCENARIOS, type RunContext, type Scenario } from './scenarios.js';
import { nextSlot, type Schedule } from './schedule.js';
import { count, type Tally } from './tally.js';

export interface LiveOptions {
  connection: Connection;
  seed: number;
  intervalMs: number;
  serviceName: string;
  environment: string;
  signal: AbortSignal;
  /** The SDK's spool; default: the SDK's own per-destination directory. */
  spoolDir?: string;
  /** One line per finished run. */
  log(line: string): void;
}

/** Deadline of the SDK's last flush on stop (the runs in flight finish first). */
const SHUTDOWN_MS = 10_000;

/** pipemon's CLI, built: dist/bin/pipemon.js beside dist/demo/, or from the sources (tests), the build's. */
export function pipemonCliPath(): string {
  const candidates = ['../bin/pipemon.js', '../dist/bin/pipemon.js'].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  const found = candidates.find((candidate) => fs.existsSync(candidate));
  if (!found) throw new DemoConfigError(`pipemon's CLI is not built (looked for ${candidates.join(' and ')}): run "npm run build" first`);
  return found;
}

/** Resolves true at `ms`, or false as soon as the signal aborts. */
function waitUntil(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, Math.max(0, ms - Date.now()));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function execRun(scenario: Scenario, runId: string, context: RunContext, options: LiveOptions, cli: string, msPerMinute: number): Promise<Outcome> {
  const job = scenario.execJob!(context);
  const { connection } = options;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PIPEMON_ENDPOINT: connection.endpoint,
    OTEL_SERVICE_NAME: options.serviceName,
    PIPEMON_ENVIRONMENT: options.environment,
    PIPEMON_DEMO_LINES: JSON.stringify(job.lines),
    PIPEMON_DEMO_PAUSE_MS: String(Math.round((job.minutes * msPerMinute) / job.lines.length)),
    PIPEMON_HEARTBEAT_SECONDS: String(msPerMinute / 1000),
  };
  if (connection.apiKey) env.PIPEMON_API_KEY = connection.apiKey;
  if (options.spoolDir) env.PIPEMON_SPOOL_DIR = options.spoolDir;
  const args = [cli, 'exec', '--pipeline', scenario.pipeline, '--stage', job.stage, '--owner', scenario.owner, '--run-id', runId];
  if (scenario.expectedIntervalSeconds) args.push('--expected-interval', `${scenario.expectedIntervalSeconds}s`);
  args.push('--', process.execPath, ...EXEC_PRINTER);
  return new Promise((resolve) => {
    // Its own process group: Ctrl-C on the terminal stops the demo, which lets this run finish.
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on('error', (error) => resolve({ result: 'error', errorType: errorType(error), note: error.message }));
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ result: 'success', errorType: null });
      else resolve({ result: 'failure', errorType: 'CommandFailedError', note: `pipemon exec exited ${signal ?? code}: ${stderr.trim()}` });
    });
  });
}

/** Runs the live scenarios until `options.signal` aborts; adds every finished run to `tally`. */
export async function runLive(options: LiveOptions, tally: Tally): Promise<void> {
  const cli = pipemonCliPath();
  const { connection } = options;
  const sdk = start({
    endpoint: connection.endpoint,
    headers: connection.headers,
    apiKey: connection.apiKey,
    serviceName: options.serviceName,
    environment: options.environment,
    spoolDir: options.spoolDir,
    // The demo stops on its own signals: it lets the runs in flight finish, then shuts the SDK down.
    handleExit: false,
  });
  if (sdk.config.endpoint !== connection.endpoint) {
    throw new DemoConfigError(`the pipemon SDK already runs in this process for ${sdk.config.endpoint}, not ${connection.endpoint}`);
  }
  const msPerMinute = options.intervalMs / 50;
  const live = SCENARIOS.filter((scenario) => scenario.live !== 'none');
  const width = Math.max(...live.map((scenario) => scenario.pipeline.length));

  const loop = async (scenario: Scenario, schedule: Schedule) => {
    for (;;) {
      // Strictly after now: a run that outlasted its interval skips the slots it overlapped.
      const slotMs = nextSlot(schedule, Date.now() + 1);
      if (!(await waitUntil(slotMs, options.signal))) return;
      const { runId, context } = planRun({
        seed: options.seed,
        mode: 'live',
        pipeline: scenario.pipeline,
        schedule,
        slot: { slotMs, closing: false },
        work: (minutes) => sleep(minutes * msPerMinute),
        hang: () => Promise.reject(new Error('only a backfilled run hangs')),
      });
      const outcome =
        scenario.live === 'exec' ? await execRun(scenario, runId, context, options, cli, msPerMinute) : await sdkRun(scenario, runId, context, { heartbeatSeconds: msPerMinute / 1000 });
      count(tally, scenario.pipeline, scenario.owner, outcome);
      const how = scenario.live === 'exec' ? 'pipemon exec' : 'the SDK';
      // A failed exec run is the demo's own trouble (the script never fails): show why.
      const note = scenario.live === 'exec' && outcome.note ? `: ${outcome.note}` : '';
      options.log(`  live  ${scenario.pipeline.padEnd(width)}  ${outcome.result}${outcome.errorType ? ` (${outcome.errorType})` : ''}  run ${runId} via ${how}${note}`);
    }
  };

  try {
    await Promise.all(live.map((scenario, index) => loop(scenario, { everyMs: options.intervalMs, offsetMs: Math.round((index * options.intervalMs) / live.length) })));
  } finally {
    await shutdown(SHUTDOWN_MS);
  }
  const stats = sdk.stats();
  if (stats.queued > 0 || stats.spooledBatches > 0) {
    throw new DeliveryError(
      `the SDK could not deliver everything before stopping: ${stats.queued} records left in memory, ${stats.spooledBatches} batches ` +
        `(${stats.spooledBytes} bytes) in the spool ${sdk.config.spoolDir}; the next pipemon SDK process for this endpoint and key resends them`,
    );
  }
  if (stats.dropped > 0) throw new DeliveryError(`the SDK dropped ${stats.dropped} records (refused as malformed, or memory and spool full)`);
}
