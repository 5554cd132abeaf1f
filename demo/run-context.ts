/**
 * What a demo run gets besides the SDK's Run: its slot, its numbers and its clock. Made here the same
 * way for the backfill, the live runs and the tests that replay a backfilled run through the SDK, from
 * the seed, the pipeline and the slot alone: the current time decides which slots exist, never what a
 * slot's run records. All of them then run it through the SDK's run() (sdkRun).
 */
import { errorType, run, type RunOptions } from '../sdk/activity/run.js';
import { oneInEvery, Random, runIdFor } from './random.js';
import type { RunContext, Scenario } from './scenarios.js';
import { slotIndex, type Schedule, type Slot } from './schedule.js';
import type { RunOutcome } from './tally.js';

export interface PlanOptions {
  seed: number;
  mode: 'backfill' | 'live';
  pipeline: string;
  /** The schedule the slot belongs to (the live one is compressed). */
  schedule: Schedule;
  slot: Slot;
  work(minutes: number): Promise<void>;
  hang(): Promise<never>;
}

export function planRun(options: PlanOptions): { runId: string; context: RunContext } {
  const { seed, mode, pipeline, schedule, slot } = options;
  const index = slotIndex(schedule, slot.slotMs);
  return {
    runId: runIdFor(seed, mode, pipeline, slot.slotMs),
    context: {
      slotMs: slot.slotMs,
      closing: slot.closing,
      random: new Random(seed, mode, pipeline, slot.slotMs),
      oneIn: (n) => oneInEvery(n, index, seed, mode, pipeline),
      work: options.work,
      hang: options.hang,
    },
  };
}

export interface Outcome {
  result: RunOutcome;
  errorType: string | null;
  note?: string;
}

/**
 * One run through the SDK's run(), which must be started: live on the system clock, backfilled on a
 * clock the backfill advances. The scenarios' runs end as success or with a thrown error.
 */
export async function sdkRun(scenario: Scenario, runId: string, context: RunContext, timing: Pick<RunOptions, 'heartbeatSeconds' | 'clock'>): Promise<Outcome> {
  const options = { runId, owner: scenario.owner, expectedIntervalSeconds: scenario.expectedIntervalSeconds, ...scenario.runOptions, ...timing };
  try {
    await run(scenario.pipeline, options, (r) => scenario.body(r, context));
    return { result: 'success', errorType: null };
  } catch (error) {
    return { result: 'failure', errorType: errorType(error), note: (error as Error).message };
  }
}
