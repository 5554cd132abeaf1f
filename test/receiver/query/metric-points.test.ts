/**
 * A metric's points (receiver/query/metric-points.ts) through GET /api/v1/metric-points, from metrics
 * posted to /v1/metrics: each point as sent, exactly (integers past 2^53, NaN and Infinity, buckets);
 * increases and rates across a reset and a restart, and across midnight from a point before `since`;
 * quantiles against values computed by hand; a run's points by attribute, by resource and by its trace's
 * exemplars; bounds refused with what narrows them; other tenants' points never seen.
 */
import { describe, expect, it } from 'vitest';
import { api } from '../../helpers/api.js';
import { receiverBackends } from '../../helpers/receiver.js';
import {
  at,
  BIG,
  BUSY,
  BUSY_POINTS,
  DURATION_BOUNDS,
  DURATIONS,
  iso,
  metricWorld,
  nanos,
  PIPELINE,
  ROWS_ORDERS,
  RUN_BY_ATTRIBUTE,
  RUN_BY_RESOURCE,
  RUN_BY_TRACE,
} from './metric-world.js';

describe.each(receiverBackends())('metric points on $name', (backend) => {
  const world = metricWorld(backend, 'points');

  const points = async (query: string, asKey = world.key) => {
    const answer = await api(world.r.url, `/api/v1/metric-points?${query}`, { key: asKey });
    expect([query, answer.status, answer.status === 200 ? '' : answer.body.error]).toEqual([query, 200, '']);
    return answer.body.series as any[];
  };
  const refused = async (query: string) => {
    const answer = await api(world.r.url, `/api/v1/metric-points?${query}`, { key: world.key });
    expect([query, answer.status]).toEqual([query, 400]);
    return answer.body.error as string;
  };
  const byTable = (series: any[], table: string) => series.find((s) => s.attributes.table === table);

  it('answers each point as sent: integer sums exact, their series with its kind and temporality', async () => {
    const series = await points(`pipeline=${PIPELINE}&metric=rows.written`);
    expect(series.map((s) => s.attributes.table).sort()).toEqual(['customers', 'orders']);
    const orders = byTable(series, 'orders');
    expect(orders).toMatchObject({ metric: 'rows.written', kind: 'sum', temporality: 'cumulative', monotonic: true, unit: '{row}', pipeline: PIPELINE, run_id: RUN_BY_ATTRIBUTE, service_name: 'etl', explicit_bounds: null });
    expect(orders.points.map((p: any) => [p.time, p.time_unix_nano, p.start_time_unix_nano, p.value])).toEqual(
      ROWS_ORDERS.map((p) => [iso(p.atMs), nanos(p.atMs), nanos(p.startMs), Number(p.value)]),
    );
    expect(orders.series_id).toMatch(/^-?\d+$/);
  });

  it('keeps integers past 2^53 as strings, and NaN and Infinity as their names', async () => {
    const [memory] = await points(`pipeline=${PIPELINE}&metric=memory.used`);
    expect(memory.kind).toBe('gauge');
    expect(memory.temporality).toBeNull();
    expect(memory.points.map((p: any) => p.value)).toEqual([BIG, 'NaN', 'Infinity']);
  });

  it("answers a histogram's counts and buckets as sent, its bounds with its series", async () => {
    const [duration] = await points(`pipeline=${PIPELINE}&metric=batch.duration`);
    expect(duration).toMatchObject({ kind: 'histogram', temporality: 'cumulative', explicit_bounds: DURATION_BOUNDS });
    expect(duration.points.map((p: any) => [p.count, p.sum, p.bucket_counts, p.value])).toEqual(
      DURATIONS.map((p) => [p.counts.reduce((a, b) => a + b, 0), p.sum, p.counts, null]),
    );
  });

  it("answers an exponential histogram's and a summary's fields as sent", async () => {
    const [latency] = await points(`pipeline=${PIPELINE}&metric=load.latency`);
    expect(latency.points[0]).toMatchObject({ count: 4, exponential: { scale: 0, zero_count: 0, positive: { offset: 0, bucket_counts: [2, 2] } } });
    const [steps] = await points(`pipeline=${PIPELINE}&metric=step.latency`);
    expect(steps.points[0]).toMatchObject({ count: 10, sum: 150, quantile_values: [{ quantile: 0.5, value: 12 }, { quantile: 0.99, value: 40 }] });
  });

  it("reads a cumulative counter's increases as Prometheus does: a drop is a reset, a new start time a restart", async () => {
    const orders = byTable(await points(`pipeline=${PIPELINE}&metric=rows.written&as=increase`), 'orders');
    expect(orders.points.map((p: any) => [p.from_time_unix_nano, p.time_unix_nano, p.value, p.reset])).toEqual([
      // The first point counts from its start time.
      [nanos(at(0)), nanos(at(1)), 10, false],
      [nanos(at(1)), nanos(at(2)), 15, false],
      [nanos(at(2)), nanos(at(3)), 15, false],
      // 40 then 5: reset, 5 counted since the point before.
      [nanos(at(3)), nanos(at(4)), 5, true],
      [nanos(at(4)), nanos(at(5)), 7, false],
      // A new start time: 3 counted since it.
      [nanos(at(5) + 30_000), nanos(at(6)), 3, true],
    ]);
    const rates = byTable(await points(`pipeline=${PIPELINE}&metric=rows.written&as=rate`), 'orders');
    expect(rates.points.map((p: any) => p.value)).toEqual([10 / 60, 15 / 60, 15 / 60, 5 / 60, 7 / 60, 3 / 30]);
  });

  it("counts a range's first increase from the point before it, on the day before", async () => {
    const since = iso(at(2) + 30_000);
    const orders = byTable(await points(`pipeline=${PIPELINE}&metric=rows.written&as=increase&since=${since}&until=${iso(at(5))}`), 'orders');
    expect(orders.points.map((p: any) => [p.from_time, p.time, p.value])).toEqual([
      [iso(at(2)), iso(at(3)), 15],
      [iso(at(3)), iso(at(4)), 5],
    ]);
  });

  it("reads a non-monotonic sum's drops as decreases, and a delta sum's points as their own increases", async () => {
    const [depth] = await points(`pipeline=${PIPELINE}&metric=queue.depth&as=increase`);
    expect(depth.points.map((p: any) => [p.value, p.reset])).toEqual([[5, false], [-3, false], [6, false]]);
    const [rejected] = await points(`pipeline=${PIPELINE}&metric=rows.rejected&as=rate`);
    expect(rejected).toMatchObject({ temporality: 'delta' });
    expect(rejected.points.map((p: any) => [p.from_time, p.value])).toEqual([[iso(at(1)), 3 / 60], [iso(at(2)), 4 / 60]]);
  });

  it("answers a cumulative histogram's quantile of each interval's observations, by linear interpolation", async () => {
    const median = await points(`pipeline=${PIPELINE}&metric=batch.duration&as=quantile&quantile=0.5`);
    // Increases: [1,2,1,0] from the start, [1,2,2,1], [0,1,0,1]; ranks 2 of 4, 3 of 6, 1 of 2.
    expect(median[0].points.map((p: any) => p.value)).toEqual([0.1 + 0.9 * (1 / 2), 0.1 + 0.9 * (2 / 2), 0.1 + 0.9 * (1 / 1)]);
    // Rank 4.5 of 6 is in the bucket (1, 5], 1.5 of its 2; rank 1.5 of 2 is in the last bucket: its lower bound, 5.
    const p75 = await points(`pipeline=${PIPELINE}&metric=batch.duration&as=quantile&quantile=0.75`);
    expect(p75[0].points.slice(1).map((p: any) => p.value)).toEqual([1 + 4 * (1.5 / 2), 5]);
  });

  it("answers an exponential histogram's quantile on its logarithmic scale, and a summary's as sent", async () => {
    const [latency] = await points(`pipeline=${PIPELINE}&metric=load.latency&as=quantile&quantile=0.75`);
    // Buckets (1, 2] and (2, 4] of 2 each: rank 3 is half way through (2, 4] on a log scale: 2^1.5.
    expect(latency.points[0].value).toBeCloseTo(2 ** 1.5, 12);
    const [steps] = await points(`pipeline=${PIPELINE}&metric=step.latency&as=quantile&quantile=0.99`);
    expect(steps.points.map((p: any) => [p.from_time, p.value])).toEqual([[iso(at(1)), 40]]);
    const [missing] = await points(`pipeline=${PIPELINE}&metric=step.latency&as=quantile&quantile=0.9`);
    expect(missing.points[0].value).toBeNull();
  });

  it('thins to one point per step: the last point, or the intervals added up', async () => {
    const [ticks] = await points(`pipeline=${BUSY}&metric=ticks&step=60`);
    const last = at(10) + (BUSY_POINTS - 1) * 1000;
    expect(ticks.points.length).toBe(Math.floor(last / 60_000) - Math.floor(at(10) / 60_000) + 1);
    expect(ticks.points.at(-1)).toMatchObject({ time: iso(last), value: BUSY_POINTS - 1 });
    const orders = byTable(await points(`pipeline=${PIPELINE}&metric=rows.written&as=increase&step=86400`), 'orders');
    // Yesterday's first two points, then today's four (a reset and a restart among them).
    expect(orders.points.map((p: any) => [p.value, p.reset])).toEqual([[25, false], [15 + 5 + 7 + 3, true]]);
  });

  it("reads a run's points by its id on the points, on the resource, and by its trace's exemplars", async () => {
    const byAttribute = await points(`run_id=${RUN_BY_ATTRIBUTE}&metric=rows.written`);
    expect(byAttribute.map((s) => s.attributes.table).sort()).toEqual(['customers', 'orders']);
    const [byResource] = await points(`run_id=${RUN_BY_RESOURCE}&metric=files.seen&as=increase`);
    expect(byResource).toMatchObject({ run_id: RUN_BY_RESOURCE, service_name: 'loader', attributes: {} });
    expect(byResource.points.map((p: any) => p.value)).toEqual([4, 5]);
    // The warehouse's counter names no run: only the point whose exemplar is the run's trace is the run's, its increase since the point before.
    const [byTrace] = await points(`run_id=${RUN_BY_TRACE}&metric=queries.executed&as=increase`);
    expect(byTrace).toMatchObject({ run_id: null, pipeline: null, service_name: 'warehouse' });
    expect(byTrace.points.map((p: any) => [p.from_time, p.time, p.value])).toEqual([[iso(at(1)), iso(at(2)), 30]]);
    expect(await points(`run_id=${RUN_BY_ATTRIBUTE}&metric=queries.executed`)).toEqual([]);
  });

  it('reads one series by its id alone, the same as within its pipeline', async () => {
    const orders = byTable(await points(`pipeline=${PIPELINE}&metric=rows.written&as=increase`), 'orders');
    const [alone] = await points(`series_id=${orders.series_id}&as=increase`);
    expect(alone).toEqual(orders);
  });

  it("never shows another tenant's points, whatever it names", async () => {
    const theirs = await points(`pipeline=${PIPELINE}&metric=rows.written`, world.otherKey);
    expect(theirs.map((s) => s.points.map((p: any) => p.value))).toEqual([[999]]);
    expect(await points(`pipeline=${PIPELINE}&metric=secret`)).toEqual([]);
    const mine = byTable(await points(`pipeline=${PIPELINE}&metric=rows.written`), 'orders');
    expect(await points(`series_id=${mine.series_id}`, world.otherKey)).toEqual([]);
  });

  it('refuses more points than a page holds, naming step= and the range', async () => {
    expect(await refused(`pipeline=${BUSY}&metric=ticks`)).toMatch(/more than 1000 points in this range: give step= .* or a narrower range \(since, until\)/);
    expect(await refused(`pipeline=${BUSY}&metric=ticks&step=1`)).toMatch(/more than 1000 steps of 1 s .*: give a larger step/);
  });

  it("refuses an as= the metric's kind has no meaning for, naming the kinds it applies to", async () => {
    expect(await refused(`pipeline=${PIPELINE}&metric=memory.used&as=increase`)).toBe('as=increase applies to sum metrics, and "memory.used" is a gauge: ask as=value');
    expect(await refused(`pipeline=${PIPELINE}&metric=rows.written&as=quantile&quantile=0.5`)).toBe(
      'as=quantile applies to histogram, exponential_histogram, summary metrics, and "rows.written" is a sum: ask as=value or as=increase or as=rate',
    );
  });

  it('refuses missing or conflicting parameters with what to give', async () => {
    expect(await refused('metric=rows.written')).toMatch(/^"pipeline" or "run_id" is required/);
    expect(await refused(`pipeline=${PIPELINE}`)).toMatch(/^"metric" is required/);
    expect(await refused(`pipeline=${PIPELINE}&run_id=x&metric=m`)).toMatch(/^give one of "pipeline" and "run_id", not both/);
    expect(await refused(`pipeline=${PIPELINE}&metric=batch.duration&as=quantile`)).toMatch(/^"quantile" is required with as=quantile/);
    expect(await refused(`pipeline=${PIPELINE}&metric=batch.duration&quantile=0.5`)).toMatch(/^"quantile" goes with as=quantile/);
    for (const quantile of ['0', '1.5', 'half']) expect(await refused(`pipeline=${PIPELINE}&metric=batch.duration&as=quantile&quantile=${quantile}`)).toMatch(/"quantile" must be a number above 0 and at most 1/);
    expect(await refused('series_id=12x')).toMatch(/"series_id" must be a series id/);
    expect(await refused('series_id=99999999999999999999')).toMatch(/"series_id" must be a series id/);
    expect(await refused(`pipeline=${PIPELINE}&metric=m&as=median`)).toMatch(/unknown as "median": use one of value, increase, rate, quantile/);
  });
});
