/**
 * /metric-points by=run: one line per run, its series of the metric added up, so that a pipeline's latest
 * runs chart as a line each however many series each reports (a counter per table). A gauge's or sum's
 * values are added up at each time (a run's series are collected together, so they share times; at a
 * time some series lack, those that have a point there are added up), their increases and rates per
 * time or step, and a histogram's bucket increases per time or step before its quantile, which needs
 * the same bounds on every series of the run. Series that name no run are one line, run_id null; a
 * run's read (run_id=) counts the points its trace measured in other series as the run's. At most
 * MAX_SERIES runs, added up from at most MAX_RUN_SERIES series.
 */
import { Refusal } from '../model/outcome.js';
import type { Queryable } from '../storage/database.js';
import type { MetricChange, MetricRunPoints, MetricSum } from './api-types.js';
import { refuseKinds } from './metric-as.js';
import { BUCKETS, SUMS, type Interval } from './metric-changes.js';
import { bucketQuantile } from './metric-quantile.js';
import {
  bounded,
  bucketsOf,
  change,
  changes,
  exactAmount,
  lastPerStep,
  MAX_SERIES,
  predecessors,
  rateOf,
  readPoints,
  stepNanos,
  sumOf,
  type PointsQuery,
  type StoredPoint,
} from './metric-reads.js';
import { hasValue, type PointRow } from './metric-samples.js';
import { isoOfNanos, metricFields, readSeries, type SeriesRow } from './metric-series.js';

/** Series a by=run read adds up at most: 50 a run of MAX_SERIES runs. */
export const MAX_RUN_SERIES = 5000;

/** A run's series of one kind, unit and temporality: what adds up to one line. */
interface RunGroup {
  runId: string | null;
  series: SeriesRow[];
}

export async function runLines(db: Queryable, tenantId: number, query: PointsQuery): Promise<MetricRunPoints[]> {
  const series = await readSeries(db, tenantId, query.scope, MAX_RUN_SERIES + 1);
  if (series.length > MAX_RUN_SERIES) {
    throw new Refusal('invalid', `more than ${MAX_RUN_SERIES} series in this range to add up by run: give a narrower range (since, until) or one run_id`);
  }
  refuseKinds(query.as, series, true);
  const groups = groupsOf(series, query.scope.runId);
  if (groups.length > MAX_SERIES) throw new Refusal('invalid', `more than ${MAX_SERIES} runs in this range: give a narrower range (since, until) or one run_id`);
  if (query.as === 'quantile') groups.forEach(refuseOtherBounds);
  const points = await readPoints(db, tenantId, query.scope, series, 'ask one run_id');
  const before = await predecessors(db, tenantId, query.as, series, points);
  return groups.map((group) => lineOf(group, addedUp(group, points, before, query), query));
}

const runName = (runId: string | null) => (runId === null ? 'the series without a run id' : `run ${runId}`);

/** The series by run (and kind, unit and temporality, which do not add up with others), runs by their first point, the series of no run after those of the same time. */
function groupsOf(series: SeriesRow[], runId: string | undefined): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  for (const row of series) {
    const run = runId ?? row.run_id;
    const key = JSON.stringify([run, row.kind, row.unit, row.temporality, row.monotonic]);
    const group = groups.get(key);
    if (group) group.series.push(row);
    else groups.set(key, { runId: run, series: [row] });
  }
  const first = (group: RunGroup) => group.series.reduce((min, row) => (BigInt(row.first_time_unix_nano) < min ? BigInt(row.first_time_unix_nano) : min), BigInt(group.series[0]!.first_time_unix_nano));
  const firsts = new Map([...groups.values()].map((group) => [group, first(group)]));
  const named = (group: RunGroup) => (group.runId === null ? 1 : 0);
  return [...groups.values()].sort((a, b) => compare(firsts.get(a)!, firsts.get(b)!) || named(a) - named(b) || (a.runId ?? '').localeCompare(b.runId ?? ''));
}

const compare = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

function refuseOtherBounds({ runId, series }: RunGroup): void {
  if (new Set(series.map((row) => JSON.stringify(row.explicit_bounds))).size <= 1) return;
  throw new Refusal(
    'invalid',
    `the bucket bounds of "${series[0]!.metric}" differ between the series of ${runName(runId)}: as=quantile by=run adds up buckets of the same bounds; leave out by=run to read each series`,
  );
}

/** One series' interval (or point), with the time or step it is added up in. */
type Part<T> = Interval<T> & { key: bigint };
type Sum<T> = Interval<T> & { key: bigint; summed: number };

/** The parts of each key added up: from the earliest start to the latest end, reset if any was. */
function sums<T>(plus: (a: T, b: T) => T, parts: Part<T>[]): Sum<T>[] {
  const byKey = new Map<bigint, Sum<T>>();
  for (const part of parts) {
    const sum = byKey.get(part.key);
    if (!sum) {
      byKey.set(part.key, { ...part, summed: 1 });
      continue;
    }
    if (part.from !== null && (sum.from === null || part.from < sum.from)) sum.from = part.from;
    if (part.to > sum.to) sum.to = part.to;
    sum.amount = plus(sum.amount, part.amount);
    sum.reset ||= part.reset;
    sum.summed += 1;
  }
  return [...byKey.values()].sort((a, b) => compare(a.key, b.key));
}

/** Rates add up; one of an unknown interval adds nothing. */
const addRates = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : a + b);

function addedUp(group: RunGroup, points: Map<string, StoredPoint[]>, before: Map<string, PointRow>, query: PointsQuery): (MetricSum | MetricChange)[] {
  const step = query.stepSeconds === undefined ? undefined : stepNanos(query.stepSeconds);
  const parts = <T>(intervals: (row: SeriesRow, read: StoredPoint[]) => Interval<T>[]): Part<T>[] =>
    group.series.flatMap((row) => intervals(row, points.get(row.series_id) ?? []).map((interval) => ({ ...interval, key: step === undefined ? interval.to : interval.to / step })));
  switch (query.as) {
    case 'value': {
      const values = parts((_, read) =>
        lastPerStep(read, query.stepSeconds)
          .filter(hasValue)
          .map((point) => ({ from: null, to: BigInt(point.time_unix_nano), amount: sumOf(point), reset: false })),
      );
      return sums(SUMS.plus, values).map(valueSum);
    }
    case 'increase':
      return sums(SUMS.plus, parts((row, read) => changes(SUMS, row, read, before, sumOf, query))).map((sum) => change(sum, exactAmount(sum.amount)));
    case 'rate': {
      const rates = parts((row, read) => changes(SUMS, row, read, before, sumOf, query).map((interval) => ({ ...interval, amount: rateOf(interval) })));
      return sums(addRates, rates).map((sum) => change(sum, sum.amount));
    }
    case 'quantile': {
      // refuseOtherBounds left one set of bounds to the run.
      const bounds = group.series[0]!.explicit_bounds ?? [];
      const buckets = parts((row, read) => changes(BUCKETS, row, read, before, bucketsOf, query));
      return sums(BUCKETS.plus, buckets).map((sum) => change(sum, bucketQuantile(query.quantile!, bounds, sum.amount)));
    }
  }
}

function valueSum(sum: Sum<ReturnType<typeof sumOf>>): MetricSum {
  const time = sum.to.toString();
  return { time: isoOfNanos(time), time_unix_nano: time, value: exactAmount(sum.amount), summed: sum.summed };
}

function lineOf({ runId, series }: RunGroup, points: (MetricSum | MetricChange)[], query: PointsQuery): MetricRunPoints {
  const row = series[0]!;
  return {
    run_id: runId,
    ...metricFields(row),
    series: series.length,
    points: bounded(`${runName(runId)} of "${row.metric}"`, points, query),
  };
}
