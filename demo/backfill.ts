/**
 * `--days N`: the scenarios' history over the last N days, run by run on virtual clocks (past-run.ts)
 * and exported as they go. Runs are made one at a time: their ids, and the trace and span ids under
 * them, derive from the seed, the pipeline and the scheduled instant.
 */
import type { Connection } from './connection.js';
import { createPastTelemetry } from './export.js';
import { Frozen, PastClock, pastRun } from './past-run.js';
import { Random, runIdFor } from './random.js';
import { SCENARIOS, type RunContext } from './scenarios.js';
import { DAY_MS, MINUTE_MS, historySlots } from './schedule.js';
import { count, type Tally } from './tally.js';

export interface BackfillOptions {
  connection: Connection;
  seed: number;
  days: number;
  nowMs: number;
  /** The end of the demo's current UTC day, which the drifting pipeline measures back from. */
  dayEndMs: number;
  resource: Record<string, string>;
}

export interface BackfillResult {
  pipelines: Tally;
  /** The run that hangs (state running, its heartbeats stopped), or null when nothing was backfilled. */
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
      const slots = historySlots(scenario.schedule, scenario.history, nowMs, options.days);
      for (const [index, slotMs] of slots.entries()) {
        const runId = runIdFor(seed, 'backfill', scenario.pipeline, slotMs);
        const random = new Random(seed, 'backfill', scenario.pipeline, slotMs);
        const clock = new PastClock(slotMs + Math.round(random.between(0, START_DELAY_MS)));
        const latest = index === slots.length - 1;
        const context: RunContext = {
          slotMs,
          ageDays: (options.dayEndMs - slotMs) / DAY_MS,
          random,
          latest,
          hangs: latest && scenario.history.kind === 'hangs',
          work: async (minutes) => clock.advance(minutes * MINUTE_MS),
          hang: async () => {
            throw new Frozen(`${scenario.pipeline} run ${runId} froze`);
          },
        };
        telemetry.beginRun(runId);
        const outcome = await pastRun(
          telemetry,
          clock,
          scenario.pipeline,
          { runId, owner: scenario.owner, expectedIntervalSeconds: scenario.expectedIntervalSeconds, ...scenario.runOptions },
          (run) => scenario.body(run, context),
        );
        count(pipelines, scenario.pipeline, scenario.owner, outcome);
        if (context.hangs) hungRunId = runId;
        await telemetry.send();
      }
    }
    await telemetry.send(true);
  } finally {
    await telemetry.shutdown();
  }
  return { pipelines, hungRunId, logRecords: telemetry.sent.logRecords, spans: telemetry.sent.spans };
}
