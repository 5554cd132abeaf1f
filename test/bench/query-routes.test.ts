/**
 * bench:query's API cases, generated from the route table: every parameter of every GET route has a
 * value picker, a list of values of its own, or a reason it chooses no rows, so that a filter added to a
 * route cannot go unmeasured; and at a tiny size each case answers through HTTP exactly what the route's
 * own SQL gives the bench to time, with the rows its filter asks for.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Loaded } from '../../bench/query-load.js';
import { getApi } from '../../bench/query-measure.js';
import { apiPath, NOT_FILTERS, pickAround, PICKERS, routeCases, runCase, unpicked, type RouteCase, type RoutePicks } from '../../bench/query-routes.js';
import { pipelines, random } from '../../bench/query-world.js';
import { text } from '../../receiver/http/params.js';
import { ROUTES, type ApiRoute } from '../../receiver/http/routes.js';
import type { Receiver } from '../../receiver/serve.js';
import type { Database } from '../../receiver/storage/database.js';
import { benchWorld } from '../helpers/bench-world.js';

const RECORDS = 5000;

describe('the value pickers', () => {
  it('cover every query and path parameter of every GET route', () => {
    expect(unpicked()).toEqual([]);
  });

  it('report a parameter added to a route without a picker, and the cases refuse to go on without one', () => {
    const logs = ROUTES.find((route) => route.method === 'get' && route.path === '/logs')!;
    const grown: ApiRoute = { ...logs, query: { ...logs.query, colour: text('A filter the bench has never heard of.') } };
    expect(unpicked([grown])).toEqual(['/logs colour']);
    const picks: RoutePicks = {
      tenant: { id: 1, name: 'acme', key: 'pm_1' },
      pipeline: pipelines(random(10))[0]!,
      runs: [{ run_id: 'r', started_at: new Date(), trace_id: '5b8efff798038103'.repeat(2) }],
      datasets: ['1'],
      namespace: 'dw',
      word: 'orders',
      seriesId: '1',
    };
    expect(routeCases(picks, [logs]).length).toBeGreaterThan(10);
    expect(() => routeCases(picks, [grown])).toThrow(/parameter "colour" of GET \/logs: add a picker for it to PICKERS/);
  });

  it('say why each parameter that chooses no rows is left out, and none is both picked and left out', () => {
    for (const [name, why] of Object.entries(NOT_FILTERS)) {
      expect(why.length, name).toBeGreaterThan(20);
      expect(PICKERS[name], name).toBeUndefined();
    }
  });
});

describe.each(inject('databaseServers'))('bench:query route cases on $name', (server) => {
  const world = benchWorld(server.url, RECORDS);
  let db: Database;
  let receiver: Receiver;
  let loaded: Loaded;
  let picks: RoutePicks;
  let cases: RouteCase[];

  beforeAll(async () => {
    ({ db, receiver, loaded } = world());
    const busiest = loaded.pipelines[0]!;
    picks = await pickAround(db, loaded.tenants[busiest.tenant]!, busiest, 5);
    cases = routeCases(picks);
  });

  it('asks each list route with each filter alone and in a day, each sort, and what the web view asks', () => {
    const names = cases.map((c) => c.name);
    for (const name of ['stage=', 'run_id=', 'trace_id=', 'service=', 'environment=', 'severity_min=ERROR', 'q=rare words']) {
      expect(names.filter((n) => n.startsWith(`api: /logs ${name}`)).map((n) => n.endsWith(', in a day')), name).toEqual([false, true]);
    }
    // The sorts are read from the route: each value of its `sort` parameter.
    const sorts = ROUTES.find((route) => route.path === '/runs')!.query.sort!.schema.enum as string[];
    for (const sort of sorts) expect(names).toContain(`api: /runs sort=${sort}`);
    expect(names.filter((name) => name.includes('web: ')).length).toBeGreaterThan(5);
    expect(names.some((name) => name.startsWith('api: /logs pipeline=the busiest = web: pipeline'))).toBe(true);
    expect(new Set(names).size).toBe(names.length);
  });

  it('answers each case through HTTP with what the route gives the bench as SQL', async () => {
    for (const c of cases) {
      for (const i of [0, 1]) {
        const fromApi = await getApi(receiver.url, picks.tenant, apiPath(c, i));
        const fromSql = JSON.parse(JSON.stringify(await runCase(db, picks.tenant, c, i))) as unknown;
        // A run's `stuck` and a pipeline's status are read against the clock: the same at the same moment.
        expect(stable(fromApi), `${c.name} (${i})`).toEqual(stable(fromSql));
      }
    }
  });

  it('finds rows for each value picked from the data, and only rows that match it', async () => {
    const picked = (name: string) => cases.find((c) => c.name === `api: /logs ${name}` || c.name.startsWith(`api: /logs ${name} = `))!;
    const items = async (name: string) => ((await getApi(receiver.url, picks.tenant, apiPath(picked(name), 0))) as { items: Record<string, unknown>[] }).items;
    const run = picks.runs[0]!;
    const checks: [string, (item: Record<string, unknown>) => boolean][] = [
      ['pipeline=the busiest', (item) => item.pipeline === picks.pipeline.name],
      ['stage=a stage of the busiest', (item) => item.stage === picks.pipeline.stages[0]],
      ['run_id=a run of the busiest', (item) => item.run_id === run.run_id],
      ['severity_min=ERROR', (item) => (item.severity_number as number) >= 17],
      ['service=the busiest\'s', (item) => item.service_name === picks.pipeline.service],
    ];
    for (const [name, match] of checks) {
      const found = await items(name);
      expect(found.length, name).toBeGreaterThan(0);
      expect(found.every(match), name).toBe(true);
    }
  });

  it("reads the busiest pipeline's metrics by run: each run's series of every stage and table added up, and a run's names by its id", async () => {
    const answer = async (name: string) => (await getApi(receiver.url, picks.tenant, apiPath(cases.find((c) => c.name.startsWith(name))!, 0))) as any;
    const { runs } = await answer('api: /metric-points');
    expect(runs.length).toBeGreaterThan(0);
    // A counter series per run, stage and table (bench/query-metrics.ts TABLES), its run's id among its point attributes.
    expect(runs.every((r: any) => r.run_id.startsWith(picks.pipeline.name) && r.series === picks.pipeline.stages.length * 8)).toBe(true);
    expect(runs.every((r: any) => r.points.length > 0 && r.points.every((p: any) => typeof p.value === 'number'))).toBe(true);
    const names = await answer('api: /metric-names run_id=');
    expect(names.items.map((item: any) => item.name)).toEqual(['bench.batch.duration', 'bench.rows.processed']);
  });
});

/** What an answer judges against the clock at the moment it is asked: the window's start, a run's or pipeline's state. */
const JUDGED_NOW = ['since', 'stuck', 'status', 'late'];

/** An answer without what is judged against the clock at the moment it is asked. */
function stable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (JUDGED_NOW.includes(key) ? undefined : v)));
}
