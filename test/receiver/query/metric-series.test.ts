/**
 * The series of a metric (receiver/query/metric-series.ts) through GET /api/v1/series, from metrics posted
 * to /v1/metrics: each attribute set with its resource, scope, bounds and first and last point in the range,
 * by service and id, paged exactly; a run's by attribute and by trace; CSV; another tenant's never.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTR } from '../../../contract/vocabulary.js';
import { api } from '../../helpers/api.js';
import { receiverBackends } from '../../helpers/receiver.js';
import { at, DURATION_BOUNDS, iso, metricsRequest, metricWorld, nanos, PIPELINE, postMetrics, RUN_BY_ATTRIBUTE, RUN_BY_TRACE, sum } from './metric-world.js';

/** A metric of WIDE's with a series per service and table: more than a page of 2. */
const WIDE = 'wide';

describe.each(receiverBackends())('metric series on $name', (backend) => {
  const world = metricWorld(backend, 'series');
  beforeAll(async () => {
    for (const service of ['b-svc', 'a-svc']) {
      const points = ['t1', 't2', 't3'].map((table) => ({ atMs: at(1), startMs: at(0), value: '1', attributes: { [ATTR.pipelineName]: WIDE, table } }));
      await postMetrics(world.r, world.key, metricsRequest({ 'service.name': service }, [sum('rows.written', 2, true, points)]));
    }
  });

  const page = async (query: string, asKey = world.key) => {
    const answer = await api(world.r.url, `/api/v1/series?${query}`, { key: asKey });
    expect([query, answer.status]).toEqual([query, 200]);
    return answer.body as { items: any[]; next_cursor: string | null };
  };

  it('lists each series of a metric with what its points share and its first and last point', async () => {
    const { items, next_cursor } = await page(`pipeline=${PIPELINE}&metric=rows.written`);
    expect(next_cursor).toBeNull();
    const orders = items.find((item) => item.attributes.table === 'orders');
    expect(orders).toMatchObject({
      metric: 'rows.written', kind: 'sum', temporality: 'cumulative', monotonic: true, unit: '{row}', description: 'rows.written so far',
      service_name: 'etl', pipeline: PIPELINE, run_id: RUN_BY_ATTRIBUTE, stage: null, explicit_bounds: null,
      resource: { attributes: { 'service.name': 'etl' }, schema_url: '' }, scope: { name: 'query-api-test', version: '1.0' },
      first_time: iso(at(1)), first_time_unix_nano: nanos(at(1)), last_time: iso(at(6)), last_time_unix_nano: nanos(at(6)),
    });
    expect(items).toHaveLength(2);
    const [duration] = (await page(`pipeline=${PIPELINE}&metric=batch.duration`)).items;
    expect(duration.explicit_bounds).toEqual(DURATION_BOUNDS);
  });

  it('gives first and last within since and until, and leaves out a series without points there', async () => {
    const { items } = await page(`pipeline=${PIPELINE}&metric=rows.written&since=${iso(at(2))}&until=${iso(at(5))}`);
    expect(items.map((item) => [item.attributes.table, item.first_time, item.last_time])).toEqual([['orders', iso(at(2)), iso(at(4))]]);
  });

  it('pages by service name, then series id, exactly', async () => {
    const all: any[] = [];
    let cursor: string | null = null;
    do {
      const next: { items: any[]; next_cursor: string | null } = await page(`pipeline=${WIDE}&metric=rows.written&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(next.items.length).toBeLessThanOrEqual(2);
      all.push(...next.items);
      cursor = next.next_cursor;
    } while (cursor);
    expect(all).toHaveLength(6);
    expect(all.map((item) => item.service_name)).toEqual(['a-svc', 'a-svc', 'a-svc', 'b-svc', 'b-svc', 'b-svc']);
    const ids = (service: string) => all.filter((item) => item.service_name === service).map((item) => BigInt(item.series_id));
    for (const service of ['a-svc', 'b-svc']) expect(ids(service)).toEqual([...ids(service)].sort((a, b) => (a < b ? -1 : 1)));
  });

  it("lists a run's series, those its trace's exemplars measured with the run of none", async () => {
    expect((await page(`run_id=${RUN_BY_ATTRIBUTE}&metric=rows.written`)).items.map((item) => item.attributes.table).sort()).toEqual(['customers', 'orders']);
    const [traced] = (await page(`run_id=${RUN_BY_TRACE}&metric=queries.executed`)).items;
    // Of the warehouse's series, only the point its exemplar links: its first and last.
    expect(traced).toMatchObject({ service_name: 'warehouse', run_id: null, first_time: iso(at(2)), last_time: iso(at(2)) });
  });

  it('answers CSV with every series, its resource spread into columns', async () => {
    const answer = await api(world.r.url, `/api/v1/series?pipeline=${WIDE}&metric=rows.written&format=csv`, { key: world.key });
    expect(answer.status).toBe(200);
    const lines = answer.text.trimEnd().split('\r\n');
    expect(lines[0]!.split(',').slice(0, 3)).toEqual(['series_id', 'metric', 'kind']);
    expect(lines[0]).toContain('resource.attributes');
    expect(lines).toHaveLength(1 + 6);
  });

  it("never lists another tenant's series", async () => {
    const theirs = (await page(`pipeline=${PIPELINE}&metric=rows.written`, world.otherKey)).items;
    expect(theirs.map((item) => item.last_time)).toEqual([iso(at(1))]);
    expect((await page(`pipeline=${WIDE}&metric=rows.written`, world.otherKey)).items).toEqual([]);
  });

  it('refuses a read without a metric, or without a pipeline or run, and a bad cursor', async () => {
    for (const [query, message] of [
      [`pipeline=${PIPELINE}`, /^"metric" is required: give a metric name, as \/api\/v1\/metric-names lists them/],
      ['metric=rows.written', /^"pipeline" or "run_id" is required/],
      [`pipeline=${PIPELINE}&metric=rows.written&cursor=garbage`, /invalid cursor/],
      [`pipeline=${PIPELINE}&metric=rows.written&series_id=1`, /unknown parameter "series_id"/],
    ] as const) {
      const answer = await api(world.r.url, `/api/v1/series?${query}`, { key: world.key });
      expect([query, answer.status, answer.body.error]).toEqual([query, 400, expect.stringMatching(message)]);
    }
  });
});
