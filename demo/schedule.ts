/**
 * When the demo's pipelines run. Backfilled runs sit on the UTC clock (hourly at :05, daily at 02:00),
 * as a scheduler would put them, so sending the history again lands every run on the same instant and
 * id. The current time only decides which slots exist, never what a slot's run records.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;

export interface Schedule {
  everyMs: number;
  /** Offset from the UTC epoch grid: hourly at :20 is { everyMs: HOUR_MS, offsetMs: 20 * MINUTE_MS }. */
  offsetMs: number;
}

/** What a pipeline's history looks like up to now. */
export type History =
  /** Runs up to a few minutes ago. */
  | { kind: 'ongoing' }
  /** Nothing newer than `hoursAgo` hours: a pipeline that stopped reporting, or waits on a broken upstream. */
  | { kind: 'stopped'; hoursAgo: number }
  /**
   * Runs up to a closing run at least `minutesAgo` old, which the scenario makes memorable (it fails,
   * it hangs); nothing runs after it. See CLOSING.
   */
  | { kind: 'closed'; minutesAgo: number };

/** One run to backfill: its instant, and whether it is the closing run of a 'closed' history. */
export interface Slot {
  slotMs: number;
  closing: boolean;
}

/**
 * The instants closing runs start at: every quarter hour at :07:30, :22:30, :37:30 and :52:30. The
 * scenarios' schedules fall on whole 5-minute marks, so a closing run is never a scheduled slot: the
 * run at an instant is the same run whichever history it closes or belongs to. The closing run of an
 * earlier send stays in the receiver; a later send adds its own and the scheduled runs between them.
 */
export const CLOSING: Schedule = { everyMs: 15 * MINUTE_MS, offsetMs: 7.5 * MINUTE_MS };

/** Time for a run to finish: the latest backfilled run ends before now, so no history lies in the future. */
const FINISH_MS = 15 * MINUTE_MS;

/** The number of the schedule's slot at or before `ms` (slot 0 at the offset from the epoch). */
export function slotIndex(schedule: Schedule, ms: number): number {
  return Math.floor((ms - schedule.offsetMs) / schedule.everyMs);
}

/** The last scheduled instant at or before `ms`. */
function latestSlot(schedule: Schedule, ms: number): number {
  return slotIndex(schedule, ms) * schedule.everyMs + schedule.offsetMs;
}

/** Scheduled instants in (fromMs, toMs], oldest first. */
export function slotsBetween(schedule: Schedule, fromMs: number, toMs: number): number[] {
  const slots: number[] = [];
  for (let slot = latestSlot(schedule, fromMs); slot <= toMs; slot += schedule.everyMs) if (slot > fromMs) slots.push(slot);
  return slots;
}

/** The first scheduled instant at or after `ms`. */
export function nextSlot(schedule: Schedule, ms: number): number {
  return Math.ceil((ms - schedule.offsetMs) / schedule.everyMs) * schedule.everyMs + schedule.offsetMs;
}

/**
 * The runs to backfill for `days` days before `nowMs`, oldest first. A stopped pipeline keeps at least
 * its last run even when the window is shorter than the silence, so it always shows as late.
 */
export function historySlots(schedule: Schedule, history: History, nowMs: number, days: number): Slot[] {
  if (days <= 0) return [];
  const fromMs = nowMs - days * DAY_MS;
  const scheduled = (slots: number[]) => slots.map((slotMs) => ({ slotMs, closing: false }));
  switch (history.kind) {
    case 'ongoing':
      return scheduled(slotsBetween(schedule, fromMs, nowMs - FINISH_MS));
    case 'stopped': {
      // Its last run has ended `hoursAgo` hours ago, not merely started: "no success for two days" holds.
      const lastMs = nowMs - history.hoursAgo * HOUR_MS - FINISH_MS;
      const last = slotsBetween(schedule, lastMs - schedule.everyMs, lastMs);
      return scheduled([...slotsBetween(schedule, fromMs, lastMs - schedule.everyMs), ...last]);
    }
    case 'closed': {
      // At least FINISH_MS ago, as any run: the closing run ends before now.
      const closingMs = latestSlot(CLOSING, nowMs - Math.max(history.minutesAgo * MINUTE_MS, FINISH_MS));
      // The scheduled runs have ended when the closing run starts: it is the latest run, and the last to end.
      return [...scheduled(slotsBetween(schedule, fromMs, closingMs - FINISH_MS)), { slotMs: closingMs, closing: true }];
    }
  }
}

/**
 * Days since the start of the UTC week (Monday 00:00) of `ms`, from 0 to 7: the drifting pipeline's
 * clock, a function of the slot alone.
 */
export function daysIntoUtcWeek(ms: number): number {
  // The Unix epoch was a Thursday: UTC weeks start 4 days after it, and every 7 days from there.
  const sinceMonday = (ms - 4 * DAY_MS) % WEEK_MS;
  return (sinceMonday < 0 ? sinceMonday + WEEK_MS : sinceMonday) / DAY_MS;
}
