/**
 * A metric's points added up by run (receiver/query/metric-runs.ts) through GET
 * /api/v1/metric-points?by=run: each run's values, increases and rates equal the sums of its series'
 * own answers, time by time; an increase across one series' reset; a histogram's quantile of its series'
 * buckets added up, against a hand computation; the series that name no run as one line; a run's read
 * with its trace's points; the bounds and the kinds that do not add up refused with what applies; other
 * tenants' points never added in.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTR } from '../../../contract/vocabulary.js';
import type { Value } from '../../helpers/otlp-json.js';
import { api } from '../../helpers/api.js';
import { receiverBackends, type TestReceiver } from '../../helpers/receiver.js';
import { at, gauge, histogram, iso, metricsRequest, metricWorld, nanos, PIPELINE, postMetrics, RUN_BY_TRACE, sum } from './metric-world.js';

/** A pipeline of its own, so that its runs are only these. */
const RUNS = 'runs-load';
const [R1, R2, R3] = ['runs-1', 'runs-2', 'runs-3'];
const of = (runId: string | null, attributes: Record<string, Value> = {}) => ({ [ATTR.pipelineName]: RUNS, ...(runId === null ? {} : { [ATTR.runId]: runId }), ...attributes });
const BOUNDS = [1, 5];
/** The series a by=run read adds up at most (metric-runs.ts), and the runs it answers. */
const MAX_RUN_SERIES = 5000;
const MAX_RUNS = 100;

/**
 * rows.loaded: run 1's tables a (10, 20, then 5: a reset), b (1, 2, 3) and c (100, 150, none at
 * at(3)); run 2's table a (7, 9, started at(3)); and table z of no run (50, 60). queue.size: run 1's two
 * gauges, one without a point at at(3). batch.seconds: run 1's two histograms of one set of bounds;
 * odd.seconds: run 3's of two.
 */
async function postRuns(world: { r: TestReceiver; key: string }): Promise<void> {
  const counter = (runId: string | null, table: string, startMs: number, values: [number, string][]) =>
    values.map(([atMs, value]) => ({ atMs, startMs, value, attributes: of(runId, { table }) }));
  const queue = (name: string, values: [number, number | string][]) => values.map(([atMs, value]) => ({ atMs, value, attributes: of(R1, { queue: name }) }));
  const buckets = (runId: string, worker: string, counts: number[][]) =>
    counts.map((c, i) => ({ atMs: at(i + 1), startMs: at(0), counts: c, sum: 1, attributes: of(runId, { worker }) }));
  await postMetrics(world.r, world.key, metricsRequest({ 'service.name': 'etl' }, [
    sum('rows.loaded', 2, true, [
      ...counter(R1, 'a', at(0), [[at(1), '10'], [at(2), '20'], [at(3), '5']]),
      ...counter(R1, 'b', at(0), [[at(1), '1'], [at(2), '2'], [at(3), '3']]),
      ...counter(R1, 'c', at(0), [[at(1), '100'], [at(2), '150']]),
      ...counter(R2, 'a', at(3), [[at(4), '7'], [at(5), '9']]),
      ...counter(null, 'z', at(0), [[at(1), '50'], [at(2), '60']]),
    ]),
    gauge('queue.size', [...queue('x', [[at(1), '3'], [at(2), '4']]), ...queue('y', [[at(1), 2.5], [at(2), 1.5], [at(3), 7]])]),
    histogram('batch.seconds', 2, BOUNDS, [...buckets(R1, 'p', [[1, 0, 0], [2, 1, 0]]), ...buckets(R1, 'q', [[0, 2, 0], [0, 3, 1]])]),
    histogram('odd.seconds', 2, BOUNDS, buckets(R3, 'p', [[1, 0, 0]])),
    histogram('odd.seconds', 2, [2, 10], buckets(R3, 'q', [[1, 0, 0]])),
    gauge('wide.runs', Array.from({ length: MAX_RUNS + 1 }, (_, i) => ({ atMs: at(1), value: String(i), attributes: of(`wide-${i}`) }))),
    gauge('wide.series', Array.from({ length: MAX_RUN_SERIES + 1 }, (_, i) => ({ atMs: at(1), value: String(i), attributes: of(R1, { worker: i }) }))),
  ]));
}

describe.each(receiverBackends())('metric points by run on $name', (backend) => {
  const world = metricWorld(backend, 'runs');
  beforeAll(() => postRuns(world), 120_000);

  const answer = async (query: string, asKey = world.key) => {
    const got = await api(world.r.url, `/api/v1/metric-points?${query}`, { key: asKey });
    expect([query, got.status, got.status === 200 ? '' : got.body.error]).toEqual([query, 200, '']);
    return got.body;
  };
  const runs = async (query: string, asKey = world.key) => (await answer(`${query}&by=run`, asKey)).runs as any[];
  const refused = async (query: string) => {
    const got = await api(world.r.url, `/api/v1/metric-points?${query}`, { key: world.key });
    expect([query, got.status]).toEqual([query, 400]);
    return got.body.error as string;
  };
  const byRun = (lines: any[], runId: string | null) => lines.find((line) => line.run_id === runId);
  const values = (line: any) => line.points.map((p: any) => [p.time_unix_nano, p.value]);

  /** Each run's points as the sums of its series' own answers, time by time: [run, [[time, value]]]. */
  const perSeriesSums = (series: any[]) => {
    const sums = new Map<string | null, Map<string, number>>();
    for (const s of series) {
      const run = sums.get(s.run_id) ?? sums.set(s.run_id, new Map()).get(s.run_id)!;
      for (const p of s.points) run.set(p.time_unix_nano, (run.get(p.time_unix_nano) ?? 0) + Number(p.value));
    }
    return [...sums].map(([run, times]) => [run, [...times].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1))]);
  };
  const rounded = (lines: [unknown, [string, number][]][]) => lines.map(([run, points]) => [run, points.map(([time, value]) => [time, Number(value.toPrecision(12))])]);

  it("adds up each run's series: values, increases and rates equal the sums of the series' own answers", async () => {
    for (const query of [`metric=rows.loaded`, `metric=rows.loaded&as=increase`, `metric=rows.loaded&as=rate`, `metric=queue.size`]) {
      const series = (await answer(`pipeline=${RUNS}&${query}`)).series as any[];
      const lines = await runs(`pipeline=${RUNS}&${query}`);
      expect(lines.length, query).toBeGreaterThan(0);
      const summed = lines.map((line) => [line.run_id, line.points.map((p: any) => [p.time_unix_nano, Number(p.value)])]);
      expect(rounded(summed as any).sort(), query).toEqual(rounded(perSeriesSums(series) as any).sort());
      expect(lines.map((line) => [line.run_id, line.series]).sort(), query).toEqual(
        [...new Set(series.map((s) => s.run_id))].map((run) => [run, series.filter((s) => s.run_id === run).length]).sort(),
      );
    }
  });

  it('answers a line per run, oldest first, with the metric it adds up and how many series', async () => {
    const body = await answer(`pipeline=${RUNS}&metric=rows.loaded&by=run`);
    expect(body).toMatchObject({ as: 'value', by: 'run', series: [] });
    expect(body.runs.map((line: any) => [line.run_id, line.series])).toEqual([[R1, 3], [null, 1], [R2, 1]]);
    expect(byRun(body.runs, R1)).toMatchObject({ metric: 'rows.loaded', kind: 'sum', unit: '{row}', temporality: 'cumulative', monotonic: true, explicit_bounds: null });
    expect(byRun(body.runs, R1).points).toEqual([
      { time: iso(at(1)), time_unix_nano: nanos(at(1)), value: 111, summed: 3 },
      { time: iso(at(2)), time_unix_nano: nanos(at(2)), value: 172, summed: 3 },
      // Table c sent no point at at(3): a and b alone.
      { time: iso(at(3)), time_unix_nano: nanos(at(3)), value: 8, summed: 2 },
    ]);
    const gauges = await runs(`pipeline=${RUNS}&metric=queue.size`);
    expect(gauges.map((line) => line.points.map((p: any) => [p.value, p.summed]))).toEqual([[[5.5, 2], [5.5, 2], [7, 1]]]);
    // Without by=, the answer's shape is as before, runs empty.
    expect(await answer(`pipeline=${RUNS}&metric=rows.loaded`)).toMatchObject({ by: null, runs: [] });
  });

  it("adds up a run's increases across one series' reset, and per step", async () => {
    const [r1] = await runs(`pipeline=${RUNS}&metric=rows.loaded&as=increase`);
    expect(r1.points.map((p: any) => [p.from_time_unix_nano, p.time_unix_nano, p.value, p.reset])).toEqual([
      [nanos(at(0)), nanos(at(1)), 10 + 1 + 100, false],
      [nanos(at(1)), nanos(at(2)), 10 + 1 + 50, false],
      // a dropped from 20 to 5: reset, 5 since; b counted 1; c sent nothing.
      [nanos(at(2)), nanos(at(3)), 5 + 1, true],
    ]);
    // at(1) and at(2) are before midnight, at(3) after: a day's step each.
    const [daily] = await runs(`pipeline=${RUNS}&metric=rows.loaded&as=increase&step=86400`);
    expect(daily.points.map((p: any) => [p.time_unix_nano, p.value, p.reset])).toEqual([[nanos(at(2)), 111 + 61, false], [nanos(at(3)), 6, true]]);
  });

  it("answers a histogram's quantile of its run's bucket increases added up", async () => {
    const [median] = await runs(`pipeline=${RUNS}&metric=batch.seconds&as=quantile&quantile=0.5`);
    expect(median).toMatchObject({ run_id: R1, series: 2, kind: 'histogram', explicit_bounds: BOUNDS });
    // at(1): [1,0,0] + [0,2,0] = [1,2,0]: rank 1.5 of 3 is 0.5 into (1, 5]'s 2. at(2): [1,1,0] + [0,1,1] = [1,2,1]: rank 2 of 4 is 1 into its 2.
    expect(median.points.map((p: any) => [p.from_time_unix_nano, p.value])).toEqual([[nanos(at(0)), 1 + 4 * (0.5 / 2)], [nanos(at(1)), 1 + 4 * (1 / 2)]]);
  });

  it("reads a run's own line by run_id, the points its trace measured in another service's series counted", async () => {
    const lines = await runs(`run_id=${RUN_BY_TRACE}&metric=queries.executed&as=increase`);
    expect(lines.map((line) => [line.run_id, line.series, values(line)])).toEqual([[RUN_BY_TRACE, 1, [[nanos(at(2)), 30]]]]);
  });

  it('refuses more runs or series than it adds up, saying what narrows them', async () => {
    expect(await refused(`pipeline=${RUNS}&metric=wide.runs&by=run`)).toBe(`more than ${MAX_RUNS} runs in this range: give a narrower range (since, until) or one run_id`);
    expect(await refused(`pipeline=${RUNS}&metric=wide.series&by=run`)).toBe(
      `more than ${MAX_RUN_SERIES} series in this range to add up by run: give a narrower range (since, until) or one run_id`,
    );
    // Without by=run, the refusal says by=run reads them.
    expect(await refused(`pipeline=${RUNS}&metric=wide.runs`)).toMatch(/more than 100 series in this range: ask one series_id .*, by=run \(a line per run/);
  });

  it('refuses what does not add up, naming what applies', async () => {
    expect(await refused(`pipeline=${RUNS}&metric=odd.seconds&as=quantile&quantile=0.5&by=run`)).toBe(
      `the bucket bounds of "odd.seconds" differ between the series of run ${R3}: as=quantile by=run adds up buckets of the same bounds; leave out by=run to read each series`,
    );
    expect(await refused(`pipeline=${PIPELINE}&metric=load.latency&as=quantile&quantile=0.5&by=run`)).toBe(
      'as=quantile by=run applies to histogram metrics, and "load.latency" is a exponential_histogram: leave out by=run to read each series',
    );
    expect(await refused(`pipeline=${PIPELINE}&metric=step.latency&as=quantile&quantile=0.5&by=run`)).toMatch(/^as=quantile by=run applies to histogram metrics, and "step.latency" is a summary/);
    expect(await refused(`pipeline=${RUNS}&metric=batch.seconds&by=run`)).toBe(
      'as=value by=run applies to gauge, sum metrics, and "batch.seconds" is a histogram: ask as=quantile by=run, or leave out by=run to read each series',
    );
    expect(await refused(`pipeline=${RUNS}&metric=rows.loaded&by=series`)).toMatch(/unknown by "series": use one of run/);
  });

  it("never adds in another tenant's points", async () => {
    const theirs = await runs(`pipeline=${PIPELINE}&metric=rows.written`, world.otherKey);
    expect(theirs.map(values)).toEqual([[[nanos(at(1)), 999]]]);
    expect(await runs(`pipeline=${RUNS}&metric=rows.loaded`, world.otherKey)).toEqual([]);
  });
});
