/**
 * When the demo's pipelines run. Backfilled runs sit on the UTC clock (hourly at :05, daily at 02:00),
 * as a scheduler would put them, so sending the history again lands every run on the same instant and
 * id; only the edges of the window move with the current time.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export interface Schedule {
  everyMs: number;
  /** Offset from the UTC epoch grid: hourly at :20 is { everyMs: HOUR_MS, offsetMs: 20 * MINUTE_MS }. */
  offsetMs: number;
}

/** What a pipeline's history looks like up to now. */
export type History =
  /** Runs up to a few minutes ago. */
  | { kind: 'ongoing' }
  /** Nothing newer than `daysAgo` days: a pipeline that stopped reporting. */
  | { kind: 'stopped'; daysAgo: number }
  /** Its latest run (at least `minutesAgo` old) hangs: it never ends, and nothing runs after it. */
  | { kind: 'hangs'; minutesAgo: number };

/** Time for a run to finish: the latest backfilled run ends before now, so no history lies in the future. */
const FINISH_MS = 15 * MINUTE_MS;

/** Scheduled instants in (fromMs, toMs], oldest first. */
export function slotsBetween(schedule: Schedule, fromMs: number, toMs: number): number[] {
  const slots: number[] = [];
  const first = Math.floor((fromMs - schedule.offsetMs) / schedule.everyMs) * schedule.everyMs + schedule.offsetMs;
  for (let slot = first; slot <= toMs; slot += schedule.everyMs) if (slot > fromMs) slots.push(slot);
  return slots;
}

/** The first scheduled instant at or after `ms`. */
export function nextSlot(schedule: Schedule, ms: number): number {
  return Math.ceil((ms - schedule.offsetMs) / schedule.everyMs) * schedule.everyMs + schedule.offsetMs;
}

/**
 * The instants of the runs to backfill for `days` days before `nowMs`. A stopped pipeline keeps at least
 * its last run even when the window is shorter than the silence, so it always shows as late.
 */
export function historySlots(schedule: Schedule, history: History, nowMs: number, days: number): number[] {
  if (days <= 0) return [];
  const fromMs = nowMs - days * DAY_MS;
  if (history.kind === 'stopped') {
    // Its last run has ended `daysAgo` days ago, not merely started: "no success for two days" holds.
    const lastMs = nowMs - history.daysAgo * DAY_MS - FINISH_MS;
    const last = slotsBetween(schedule, lastMs - schedule.everyMs, lastMs);
    return [...slotsBetween(schedule, fromMs, lastMs - schedule.everyMs), ...last];
  }
  const untilMs = history.kind === 'hangs' ? nowMs - history.minutesAgo * MINUTE_MS : nowMs - FINISH_MS;
  return slotsBetween(schedule, fromMs, untilMs);
}

/** The end of the UTC day of `ms`: the drifting pipeline's durations are measured back from it. */
export function endOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS + DAY_MS;
}
