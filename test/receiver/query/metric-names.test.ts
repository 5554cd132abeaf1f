/**
 * The metrics of a pipeline or a run (receiver/query/metric-names.ts) through GET /api/v1/metric-names,
 * from metrics posted to /v1/metrics: each name once per kind, with its unit, description, temporality and
 * series count; a run's by attribute, resource and trace; within since and until; CSV; another tenant's
 * never; what to give when a parameter is missing.
 */
import { describe, expect, it } from 'vitest';
import { api } from '../../helpers/api.js';
import { receiverBackends } from '../../helpers/receiver.js';
import { at, iso, metricWorld, PIPELINE, RUN_BY_ATTRIBUTE, RUN_BY_RESOURCE, RUN_BY_TRACE } from './metric-world.js';

describe.each(receiverBackends())('metric names on $name', (backend) => {
  const world = metricWorld(backend, 'names');

  const names = async (query: string, asKey = world.key) => {
    const answer = await api(world.r.url, `/api/v1/metric-names?${query}`, { key: asKey });
    expect([query, answer.status]).toEqual([query, 200]);
    expect(answer.body.next_cursor).toBeNull();
    return answer.body.items as any[];
  };

  it("lists a pipeline's metrics by name, each with its kind, unit, temporality and series", async () => {
    const items = await names(`pipeline=${PIPELINE}`);
    expect(items.map((item) => item.name)).toEqual([
      'batch.duration', 'files.seen', 'load.latency', 'memory.used', 'queue.depth', 'rows.rejected', 'rows.written', 'step.latency',
    ]);
    const byName = new Map(items.map((item) => [item.name, item]));
    expect(byName.get('rows.written')).toEqual({ name: 'rows.written', kind: 'sum', unit: '{row}', description: 'rows.written so far', temporality: 'cumulative', monotonic: true, series: 2 });
    expect(byName.get('rows.rejected')).toMatchObject({ temporality: 'delta', series: 1 });
    expect(byName.get('queue.depth')).toMatchObject({ kind: 'sum', monotonic: false });
    expect(byName.get('memory.used')).toMatchObject({ kind: 'gauge', temporality: null, monotonic: false });
    expect(byName.get('load.latency')).toMatchObject({ kind: 'exponential_histogram', temporality: 'delta' });
    expect(byName.get('step.latency')).toMatchObject({ kind: 'summary', temporality: null });
  });

  it("lists a run's metrics: by its id on the points, on the resource, and those its trace's exemplars measured", async () => {
    expect((await names(`run_id=${RUN_BY_ATTRIBUTE}`)).map((item) => [item.name, item.series])).toContainEqual(['rows.written', 2]);
    expect((await names(`run_id=${RUN_BY_RESOURCE}`)).map((item) => item.name)).toEqual(['files.seen']);
    expect((await names(`run_id=${RUN_BY_TRACE}`)).map((item) => [item.name, item.series])).toEqual([['queries.executed', 1]]);
    expect(await names('run_id=absent')).toEqual([]);
  });

  it('counts only the series with points within since and until, on the days they cut', async () => {
    // From just after midnight: rows.written of customers has its one point before it.
    const today = await names(`pipeline=${PIPELINE}&since=${iso(at(3) + 1)}`);
    expect(today.map((item) => [item.name, item.series])).toEqual([['rows.written', 1]]);
    const yesterday = await names(`pipeline=${PIPELINE}&until=${iso(at(2))}`);
    expect(yesterday.map((item) => item.name)).toEqual(['batch.duration', 'files.seen', 'memory.used', 'queue.depth', 'rows.written']);
  });

  it('answers CSV, one line per name', async () => {
    const answer = await api(world.r.url, `/api/v1/metric-names?pipeline=${PIPELINE}&format=csv`, { key: world.key });
    expect(answer.status).toBe(200);
    const lines = answer.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('name,kind,unit,description,temporality,monotonic,series');
    expect(lines).toContain('rows.written,sum,{row},rows.written so far,cumulative,true,2');
    expect(lines).toHaveLength(1 + (await names(`pipeline=${PIPELINE}`)).length);
  });

  it("never lists another tenant's metrics", async () => {
    expect((await names(`pipeline=${PIPELINE}`, world.otherKey)).map((item) => item.name)).toEqual(['rows.written', 'secret']);
    expect((await names(`pipeline=${PIPELINE}`)).map((item) => item.name)).not.toContain('secret');
  });

  it('refuses a read without a pipeline or run, or with both, saying what to give', async () => {
    for (const [query, message] of [
      ['', /^"pipeline" or "run_id" is required: give the pipeline \(cicd.pipeline.name\) or the run/],
      ['since=2024-01-01T00:00:00Z', /^"pipeline" or "run_id" is required/],
      [`pipeline=${PIPELINE}&run_id=r`, /^give one of "pipeline" and "run_id", not both/],
      [`pipeline=${PIPELINE}&metric=rows.written`, /unknown parameter "metric": this route takes pipeline, run_id, since, until, format/],
    ] as const) {
      const answer = await api(world.r.url, `/api/v1/metric-names?${query}`, { key: world.key });
      expect([query, answer.status, answer.body.error]).toEqual([query, 400, expect.stringMatching(message)]);
    }
  });
});
