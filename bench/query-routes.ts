/**
 * bench:query's API cases, generated from the route table (receiver/http/routes.ts), so that a filter
 * added to a route is measured without anyone remembering to: every GET route a read key may ask, bare,
 * then with each of its parameters alone (each value of a parameter that takes one of a list: a sort, a
 * result), each again within a day where the route takes since and until; then the combinations the web
 * view asks for (WEB_CASES). A parameter's values come from PICKERS, picked from the loaded data around
 * the busiest pipeline; a parameter that is no filter is in NOT_FILTERS with why. A parameter in neither
 * makes routeCases throw (and the bench's test fail), rather than go unmeasured.
 */
import { parseParams, type Params } from '../receiver/http/params.js';
import { queryParamsOf, ROUTES, type ApiRoute, type RouteContext } from '../receiver/http/routes.js';
import type { Queryable } from '../receiver/storage/database.js';
import { GOAL_MS } from './query-cases.js';
import type { BenchTenant } from './query-load.js';
import { pickLineage } from './query-lineage-cases.js';
import { BENCH_METRICS } from './query-metrics.js';
import type { Query } from './query-measure.js';
import { COMMON_WORD, RARE_WORD } from './query-records.js';
import type { Pipeline } from './query-world.js';

/** A page as the web view asks for it (its default) and as the API gives one without `limit`. */
const LIMIT = 100;
const HOUR_MS = 3_600_000;

interface PickedRun {
  run_id: string;
  started_at: Date;
  trace_id: string | null;
}

/** What the parameters' values are picked from: the busiest pipeline, its tenant, runs and datasets. */
export interface RoutePicks {
  tenant: BenchTenant;
  pipeline: Pipeline;
  /** Runs of the busiest pipeline, at random. */
  runs: PickedRun[];
  /** Datasets in the middle of its chains, the busiest pipeline's first (query-lineage-cases.ts). */
  datasets: string[];
  namespace: string;
  /** A word of dataset names. */
  word: string;
  /** A series of the busiest pipeline's counter (query-metrics.ts). */
  seriesId: string;
}

/** One value of a parameter, varying with the repetition; `search` when it is a body search (its own goal). */
interface Choice {
  label: string;
  value: (i: number) => string;
  search?: boolean;
  /** Other parameters the value needs: as=quantile a histogram and which quantile. */
  with?: Values;
}

type Picker = (p: RoutePicks) => Choice[];

/**
 * The picks around the busiest pipeline: `count` of its runs at random (those that started at or after
 * `sinceMs` if given: a fresh day's), and the datasets in the middle of its chains.
 */
export async function pickAround(db: Queryable, tenant: BenchTenant, pipeline: Pipeline, count: number, sinceMs = 0): Promise<RoutePicks> {
  const { rows: runs } = await db.query<PickedRun>(
    `SELECT run_id, started_at, trace_id FROM pipeline_runs WHERE tenant_id = $1 AND pipeline = $2 AND started_at >= $3 ORDER BY random() LIMIT $4`,
    [tenant.id, pipeline.name, new Date(sinceMs).toISOString(), count],
  );
  if (!runs.some((run) => run.trace_id)) throw new Error(`benchmark check failed: no run of ${pipeline.name} since ${new Date(sinceMs).toISOString()} with a trace`);
  const lineage = await pickLineage(db, tenant, pipeline.name, count);
  const { rows: series } = await db.query<{ series_id: string }>(
    'SELECT series_id::text FROM metric_streams WHERE tenant_id = $1 AND pipeline = $2 AND metric_name = $3 LIMIT 1',
    [tenant.id, pipeline.name, BENCH_METRICS.counter],
  );
  if (series.length === 0) throw new Error(`benchmark check failed: ${pipeline.name} has no ${BENCH_METRICS.counter} series (bench/query-metrics.ts)`);
  return { tenant, pipeline, runs, datasets: lineage.datasets, namespace: lineage.namespace, word: lineage.word, seriesId: series[0]!.series_id };
}

const at = <T>(values: readonly T[], i: number) => values[i % values.length]!;
const fixed = (label: string, value = label): Choice => ({ label, value: () => value });
/** A day around one of the busiest pipeline's runs: a window that has its records. */
const dayAround = (p: RoutePicks, i: number, edgeHours: number) => new Date(at(p.runs, i).started_at.getTime() + edgeHours * HOUR_MS).toISOString();
const runId: Picker = (p) => [{ label: 'a run of the busiest', value: (i) => at(p.runs, i).run_id }];
const traceId: Picker = (p) => [{ label: 'a trace of the busiest', value: (i) => at(p.runs.filter((run) => run.trace_id), i).trace_id! }];
const datasetId: Picker = (p) => [{ label: 'a dataset in the middle of chains', value: (i) => at(p.datasets, i) }];
/** The busiest pipeline's histogram's median: what as=quantile needs. */
const median: Values = { as: () => 'quantile', metric: () => BENCH_METRICS.histogram, quantile: () => '0.5' };

/**
 * Values for each parameter by name, or by `path name` where a route gives the name its own meaning. A
 * parameter that takes one of a list (schema enum: sort, result, state, direction) needs none: each of
 * its values is a case, read from the route.
 */
export const PICKERS: Record<string, Picker> = {
  pipeline: (p) => [fixed('the busiest', p.pipeline.name)],
  stage: (p) => [{ label: 'a stage of the busiest', value: (i) => at(p.pipeline.stages, i) }],
  run_id: runId,
  runId,
  trace_id: traceId,
  traceId,
  severity_min: () => [fixed('WARN'), fixed('ERROR')],
  service: (p) => [fixed("the busiest's", p.pipeline.service)],
  environment: (p) => [fixed("the busiest's", p.pipeline.environment)],
  since: (p) => [{ label: 'a day', value: (i) => dayAround(p, i, -12) }],
  until: (p) => [{ label: 'a day', value: (i) => dayAround(p, i, 12) }],
  '/logs q': () => [
    { label: 'rare words', value: (i) => at([RARE_WORD, 'timeout', 'permission', '"connection reset"'], i), search: true },
    { label: 'common words', value: (i) => at([COMMON_WORD, 'loaded', 'rejected', `${COMMON_WORD} -${RARE_WORD}`], i), search: true },
  ],
  '/datasets q': (p) => [fixed('part of a name', p.word)],
  namespace: (p) => [fixed('the commonest', p.namespace)],
  dataset: datasetId,
  datasetId,
  days: () => [fixed('1'), fixed('7'), fixed('30')],
  recent: () => [fixed('20')],
  depth: () => [fixed('1'), fixed('3'), fixed('10')],
  writes: () => [fixed('1000')],
  // The latest runs whose stages or checks are read: the pipeline page's 10, and the most the API takes.
  runs: () => [fixed('10'), fixed('100')],
  metric: () => [fixed("the busiest's counter", BENCH_METRICS.counter)],
  series_id: (p) => [fixed("a series of the busiest's counter", p.seriesId)],
  // A counter's as sent, increases and rates; a histogram's quantiles.
  '/metric-points as': () => [fixed('value'), fixed('increase'), fixed('rate'), { ...fixed('quantile'), with: median }],
  '/metric-points quantile': () => [{ ...fixed("the histogram's median", '0.5'), with: median }],
  // Each run's series added up: the counter's values, and the histogram's buckets before its median.
  '/metric-points by': () => [fixed('run'), { ...fixed("run, the histogram's median", 'run'), with: median }],
  step: () => [fixed('an hour', '3600')],
  // An hour around a run: a day of the busiest's runs is more than the API adds up by run.
  '/metric-points since': (p) => [{ label: 'an hour', value: (i) => dayAround(p, i, -0.5) }],
  '/metric-points until': (p) => [{ label: 'an hour', value: (i) => dayAround(p, i, 0.5) }],
};

/** Query parameters that choose no rows, with why they are not measured as filters. */
export const NOT_FILTERS: Record<string, string> = {
  limit: `the page size: every list case asks for ${LIMIT}, the web view's page`,
  cursor: 'the page after a given one: bench:query walks the lists page by page (query-pages.ts)',
  format: 'the answer as CSV rather than JSON: the same query, another encoding of its rows',
};

/** since and until, together: each case of a route that takes them once more within a day. */
const WINDOW = ['since', 'until'] as const;

/**
 * The parameters a route needs before it answers, and the alternatives that take their place: the
 * lineage graph starts from exactly one pipeline or dataset; the latest runs' stages and checks are a
 * pipeline's; metrics are a pipeline's or a run's, and their series and points one metric's.
 */
const REQUIRED: Record<string, { params: Record<string, string>; alternatives: string[] }> = {
  '/lineage': { params: { pipeline: 'pipeline' }, alternatives: ['pipeline', 'dataset'] },
  '/metric-names': { params: { pipeline: 'pipeline' }, alternatives: ['pipeline', 'run_id'] },
  '/series': { params: { pipeline: 'pipeline', metric: 'metric' }, alternatives: ['pipeline', 'run_id'] },
  // As the web view charts them: by run, over a span (a pipeline's runs each have their own series per stage and table).
  '/metric-points': { params: { pipeline: 'pipeline', metric: 'metric', by: 'by', since: 'since', until: 'until' }, alternatives: ['pipeline', 'run_id'] },
  '/stages': { params: { pipeline: 'pipeline' }, alternatives: [] },
  '/checks': { params: { pipeline: 'pipeline' }, alternatives: [] },
};

/** The GET routes a read key asks: the admin routes (keys, retention) read a tenant's own few rows. */
const measuredRoutes = () => ROUTES.filter((route) => route.method === 'get' && route.scope === 'read');

function pickerOf(route: ApiRoute, name: string): Picker | undefined {
  return PICKERS[`${route.path} ${name}`] ?? PICKERS[name];
}

/** `route name` of each parameter of a GET route that has no picker, is not listed as no filter, and takes no list of values. */
export function unpicked(routes: readonly ApiRoute[] = ROUTES.filter((route) => route.method === 'get')): string[] {
  return routes.flatMap((route) =>
    Object.entries({ ...queryParamsOf(route), ...route.pathParams })
      .filter(([name, param]) => !pickerOf(route, name) && !Object.hasOwn(NOT_FILTERS, name) && !Array.isArray(param.schema.enum))
      .map(([name]) => `${route.path} ${name}`),
  );
}

/** A parameter's values for these picks: its picker's, or each value of its list. */
function choicesOf(route: ApiRoute, name: string, picks: RoutePicks): Choice[] {
  const picker = pickerOf(route, name);
  if (picker) return picker(picks);
  const values = queryParamsOf(route)[name]?.schema.enum;
  if (Array.isArray(values)) return values.map((value) => fixed(String(value)));
  throw new Error(`bench:query has no value for parameter "${name}" of GET ${route.path}: add a picker for it to PICKERS in bench/query-routes.ts, or list it in NOT_FILTERS with why it chooses no rows`);
}

/** A parameter set of one case: each value a function of the repetition. */
type Values = Record<string, (i: number) => string>;

export interface RouteCase {
  name: string;
  route: ApiRoute;
  goalMs: number;
  values: Values;
}

const valuesOf = (picks: RoutePicks, route: ApiRoute, names: string[]): Values =>
  Object.fromEntries(names.map((name) => [name, choicesOf(route, name, picks)[0]!.value]));

/** The route bare (with what it needs), then each parameter's each value alone; each again in a day where it takes one. */
function casesOfRoute(route: ApiRoute, picks: RoutePicks): RouteCase[] {
  const query = queryParamsOf(route);
  const required = REQUIRED[route.path] ?? { params: {}, alternatives: [] };
  const base: Values = { ...valuesOf(picks, route, Object.keys(route.pathParams)), ...valuesOf(picks, route, Object.values(required.params)) };
  // A route that always asks a window (REQUIRED) is not asked again within a day.
  const windowed = WINDOW.every((name) => Object.hasOwn(query, name) && !Object.hasOwn(required.params, name));
  const isFilter = (name: string) =>
    !Object.hasOwn(NOT_FILTERS, name) && !(windowed && (WINDOW as readonly string[]).includes(name)) && !Object.hasOwn(required.params, name);
  const variants = [
    { label: '', values: {} as Values, search: false, replaces: [] as string[] },
    ...Object.keys(query)
      .filter(isFilter)
      .flatMap((name) =>
        choicesOf(route, name, picks).map((choice) => ({
          label: `${name}=${choice.label}`,
          values: { [name]: choice.value, ...choice.with },
          search: Boolean(choice.search),
          // An alternative to what the route needs takes its place: the graph of a dataset instead of the pipeline's.
          replaces: required.alternatives.includes(name) ? required.alternatives : [],
        })),
      ),
  ];
  const paged: Values = route.list?.paged ? { limit: () => String(LIMIT) } : {};
  return variants.flatMap((variant): RouteCase[] => {
    const kept = Object.fromEntries(Object.entries(base).filter(([name]) => !variant.replaces.includes(name)));
    const values = { ...kept, ...variant.values, ...paged };
    const goalMs = variant.search ? GOAL_MS.search : GOAL_MS.query;
    const name = `api: ${route.path}${variant.label ? ` ${variant.label}` : ''}`;
    const one = { name, route, goalMs, values };
    return windowed ? [one, { ...one, name: `${name}, in a day`, values: { ...values, ...valuesOf(picks, route, [...WINDOW]) } }] : [one];
  });
}

/** What each page of the web view (web/app/pages) asks beyond one parameter alone, as it asks it. */
const WEB_CASES: { page: string; path: string; picked: string[]; given?: Record<string, string> }[] = [
  { page: 'overview: runs, success and errors', path: '/metrics/overview', picked: [], given: { days: '7' } },
  { page: 'overview: every pipeline with its recent runs', path: '/metrics/pipelines', picked: [], given: { days: '7', recent: '20' } },
  { page: 'pipeline: its latest runs', path: '/runs', picked: ['pipeline'], given: { limit: String(LIMIT) } },
  { page: 'pipeline: its figures', path: '/metrics/pipelines', picked: ['pipeline'], given: { days: '7' } },
  { page: 'pipeline: the stages of its latest runs', path: '/stages', picked: ['pipeline'], given: { runs: '10' } },
  { page: 'pipeline: the checks of its latest runs', path: '/checks', picked: ['pipeline'], given: { runs: '10' } },
  { page: "pipeline: the link to its logs (no time range)", path: '/logs', picked: ['pipeline'] },
  { page: 'run: the link to its logs', path: '/logs', picked: ['run_id'] },
  { page: 'logs: a pipeline and a stage', path: '/logs', picked: ['pipeline', 'stage'] },
  { page: 'logs: errors of a pipeline', path: '/logs', picked: ['pipeline'], given: { severity_min: 'ERROR' } },
  { page: 'logs: a rare word in a pipeline', path: '/logs', picked: ['pipeline', 'q'] },
  { page: 'logs: warnings of a run', path: '/logs', picked: ['run_id'], given: { severity_min: 'WARN' } },
  { page: 'logs: errors of a stage', path: '/logs', picked: ['stage'], given: { severity_min: 'ERROR' } },
  { page: 'dataset: its detail and latest writes', path: '/datasets/{datasetId}', picked: ['datasetId'], given: { writes: '100' } },
  { page: 'lineage: the graph of a pipeline, as first drawn', path: '/lineage', picked: ['pipeline'], given: { direction: 'both' } },
];

function webCase(picks: RoutePicks, web: (typeof WEB_CASES)[number]): RouteCase {
  const route = measuredRoutes().find((r) => r.path === web.path);
  if (!route) throw new Error(`bench:query's web case "${web.page}" asks ${web.path}, which the route table no longer has: update WEB_CASES in bench/query-routes.ts`);
  const given = Object.fromEntries(Object.entries(web.given ?? {}).map(([name, value]) => [name, () => value]));
  // Without limit=, a list answers the API's default page, which LIMIT is: the same query as with it.
  const paged: Values = route.list?.paged ? { limit: () => String(LIMIT) } : {};
  const search = web.picked.includes('q');
  return { name: `web: ${web.page}`, route, goalMs: search ? GOAL_MS.search : GOAL_MS.query, values: { ...valuesOf(picks, route, web.picked), ...given, ...paged } };
}

/** The same request, parameters in any order. */
const requestKey = (c: RouteCase) => `${c.route.path} ${Object.keys(c.values).sort().map((name) => `${name}=${c.values[name]!(0)}`).join('&')}`;

/**
 * Every case: each route's, then the web view's that no route case asks already; a route case the web
 * view also asks is named for both.
 */
export function routeCases(picks: RoutePicks, routes: readonly ApiRoute[] = measuredRoutes()): RouteCase[] {
  const cases = routes.flatMap((route) => casesOfRoute(route, picks));
  const byRequest = new Map(cases.map((c) => [requestKey(c), c]));
  const web = WEB_CASES.map((w) => webCase(picks, w)).filter((w) => {
    const same = byRequest.get(requestKey(w));
    if (same) same.name = `${same.name} = ${w.name}`;
    return !same;
  });
  return [...cases, ...web];
}

/** The case's parameters at repetition i, split as the route takes them. */
function paramsAt(c: RouteCase, i: number): { path: Record<string, string>; query: Record<string, string> } {
  const all = Object.entries(c.values).map(([name, value]) => [name, value(i)] as const);
  const isPath = ([name]: readonly [string, string]) => Object.hasOwn(c.route.pathParams, name);
  return { path: Object.fromEntries(all.filter(isPath)), query: Object.fromEntries(all.filter((entry) => !isPath(entry))) };
}

/** The API path of a case at repetition i: its route with the path parameters filled in, and its query. */
export function apiPath(c: RouteCase, i: number, extra: Record<string, string> = {}): string {
  const { path, query } = paramsAt(c, i);
  const filled = c.route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(path[name]!));
  const search = new URLSearchParams({ ...query, ...extra }).toString();
  return search ? `${filled}?${search}` : filled;
}

/**
 * The case as the receiver runs it, on `db`: its parameters parsed as the API parses them, then the
 * route's own list page or handler. So the SQL timed (and run without its indexes) is the API's.
 */
export function runCase(db: Queryable, tenant: BenchTenant, c: RouteCase, i: number, extra: Record<string, string> = {}): Promise<unknown> {
  const { path, query } = paramsAt(c, i);
  const parsed = parseParams({ ...query, ...extra }, queryParamsOf(c.route));
  const context: RouteContext<Params, Params> = { db, tenant, query: parsed, path: parseParams(path, c.route.pathParams), body: undefined, serverRetentionDays: 0 };
  if (c.route.list) return c.route.list.page(context, (parsed.limit as number | undefined) ?? LIMIT, parsed.cursor as string | undefined);
  return c.route.handle!(context);
}

/** Each case (of those `which` keeps) as bench:query measures it: through the API, and as the route's SQL on one connection. */
export function routeQueries(picks: RoutePicks, which: (c: RouteCase) => boolean = () => true): Query[] {
  return routeCases(picks).filter(which).map((c) => ({
    name: c.name,
    goalMs: c.goalMs,
    api: (i) => ({ tenant: picks.tenant, path: apiPath(c, i) }),
    sql: (db, i) => runCase(db, picks.tenant, c, i),
  }));
}
