/**
 * `--days N`: the scenarios' history over the last N days, run by run on virtual clocks (past-run.ts)
 * and exported as they go. Runs are made one at a time: their ids, the trace and span ids under them,
 * their start and everything they record derive from the seed, the pipeline and the scheduled instant;
 * the current time only decides which instants the history has (schedule.ts).
 */
import type { Connection } from './connection.js';
import { createPastTelemetry } from './export.js';
import { Frozen, PastClock, pastRun } from './past-run.js';
import { Random } from './random.js';
import { planRun } from './run-context.js';
import { SCENARIOS } from './scenarios.js';
import { MINUTE_MS, historySlots } from './schedule.js';
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

export async function backfill(options: BackfillOptions): Promise<BackfillResult> {
  const { seed, nowMs } = options;
  const telemetry = createPastTelemetry({ endpoint: options.connection.endpoint, headers: options.connection.headers, resource: options.resource });
  const pipelines: Tally = {};
  let hungRunId: string | null = null;
  try {
    for (const scenario of SCENARIOS) {
      for (const slot of historySlots(scenario.schedule, scenario.history, nowMs, options.days)) {
        // A stream of its own: a replay of the run through the SDK, which starts at once, draws the same numbers.
        const startMs = slot.slotMs + Math.round(new Random(seed, 'backfill', scenario.pipeline, slot.slotMs, 'start').between(0, START_DELAY_MS));
        const clock = new PastClock(startMs);
        const { runId, context } = planRun({
          seed,
          mode: 'backfill',
          pipeline: scenario.pipeline,
          schedule: scenario.schedule,
          slot,
          work: async (minutes) => clock.advance(minutes * MINUTE_MS),
          hang: async () => {
            throw new Frozen(`${scenario.pipeline}'s run at ${new Date(slot.slotMs).toISOString()} froze`);
          },
        });
        telemetry.beginRun(runId);
        const outcome = await pastRun(
          telemetry,
          clock,
          scenario.pipeline,
          { runId, owner: scenario.owner, expectedIntervalSeconds: scenario.expectedIntervalSeconds, ...scenario.runOptions },
          (run) => scenario.body(run, context),
        );
        count(pipelines, scenario.pipeline, scenario.owner, outcome);
        if (outcome.result === 'running') hungRunId = runId;
        await telemetry.send();
      }
    }
    await telemetry.send(true);
  } finally {
    await telemetry.shutdown();
  }
  return { pipelines, hungRunId, logRecords: telemetry.sent.logRecords, spans: telemetry.sent.spans };
}
