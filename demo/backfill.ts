/**
 * `--days N`: the scenarios' history over the last N days, run by run through the SDK's run(), each on
 * a clock of its own that the pipeline's work advances (sdk/activity/clock.ts), and exported as they go
 * (export.ts). Runs are made one at a time: their ids, the trace and span ids under them, their start
 * and everything they record derive from the seed, the pipeline and the scheduled instant; the current
 * time only decides which instants the history has (schedule.ts).
 */
import { ManualClock } from '../sdk/activity/clock.js';
import { start, type Pipemon } from '../sdk/activity/telemetry.js';
import { DemoConfigError, type Connection } from './connection.js';
import { createPastTelemetry, type PastTelemetry } from './export.js';
import { Random } from './random.js';
import { planRun, sdkRun, type Outcome } from './run-context.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { MINUTE_MS, historySlots, type Slot } from './schedule.js';
import { count, type Tally } from './tally.js';

export interface BackfillOptions {
  connection: Connection;
  seed: number;
  days: number;
  nowMs: number;
  resource: Record<string, string>;
}

export interface BackfillResult {
  pipelines: Tally;
  /** The run that hangs (state running, its heartbeats stopped), or null when none was backfilled. */
  hungRunId: string | null;
  logRecords: number;
  spans: number;
}

/** A scheduler starts runs a few seconds after their slot. */
const START_DELAY_MS = 20_000;
/** The SDK's default, whatever PIPEMON_HEARTBEAT_SECONDS this process has: the same slot beats the same. */
const HEARTBEAT_SECONDS = 60;

export async function backfill(options: BackfillOptions): Promise<BackfillResult> {
  const telemetry = createPastTelemetry({ endpoint: options.connection.endpoint, headers: options.connection.headers, resource: options.resource });
  try {
    const sdk = startOnProviders(telemetry);
    try {
      return await sendHistory(telemetry, options);
    } finally {
      await sdk.shutdown();
    }
  } finally {
    await telemetry.shutdown();
  }
}

/** The SDK, recording through the backfill's providers as it would through any application's. */
function startOnProviders(telemetry: PastTelemetry): Pipemon {
  telemetry.register();
  const sdk = start({ useGlobalProviders: true });
  if (!sdk.usingGlobalProviders) {
    throw new DemoConfigError(`the pipemon SDK already runs in this process (for ${sdk.config.endpoint}), so the backfill cannot record through its own providers: run the demo before starting it`);
  }
  return sdk;
}

async function sendHistory(telemetry: PastTelemetry, { seed, nowMs, days }: BackfillOptions): Promise<BackfillResult> {
  const pipelines: Tally = {};
  let hungRunId: string | null = null;
  for (const scenario of SCENARIOS) {
    for (const slot of historySlots(scenario.schedule, scenario.history, nowMs, days)) {
      const { runId, outcome } = await pastRun(telemetry, seed, scenario, slot);
      count(pipelines, scenario.pipeline, scenario.owner, outcome);
      if (outcome.result === 'running') hungRunId = runId;
      await telemetry.send();
    }
  }
  await telemetry.send(true);
  return { pipelines, hungRunId, logRecords: telemetry.sent.logRecords, spans: telemetry.sent.spans };
}

/**
 * One run through the SDK, started on its own clock a few seconds after its slot. A run that hangs
 * resolves as `running` and is left pending: its process froze, so its clock and heartbeats stopped
 * and nothing after that point is ever recorded.
 */
async function pastRun(telemetry: PastTelemetry, seed: number, scenario: Scenario, slot: Slot): Promise<{ runId: string; outcome: Outcome }> {
  // A stream of its own: a replay of the run through the SDK, which starts at once, draws the same numbers.
  const startMs = slot.slotMs + Math.round(new Random(seed, 'backfill', scenario.pipeline, slot.slotMs, 'start').between(0, START_DELAY_MS));
  const clock = new ManualClock(startMs);
  let froze = (_: Outcome): void => undefined;
  const frozen = new Promise<Outcome>((resolve) => (froze = resolve));
  const { runId, context } = planRun({
    seed,
    mode: 'backfill',
    pipeline: scenario.pipeline,
    schedule: scenario.schedule,
    slot,
    work: async (minutes) => clock.advance(Math.round(minutes * MINUTE_MS)),
    hang: () => {
      froze({ result: 'running', errorType: null });
      return new Promise<never>(() => undefined);
    },
  });
  telemetry.beginRun(runId);
  const outcome = await Promise.race([sdkRun(scenario, runId, context, { heartbeatSeconds: HEARTBEAT_SECONDS, clock }), frozen]);
  return { runId, outcome };
}
