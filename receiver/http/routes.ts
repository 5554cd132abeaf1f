/**
 * Every route of the JSON API, declared once: its parameters, scope, answer and handler. api.ts serves
 * them and openapi.ts describes them, both from this table, so the document cannot drift from the code.
 * Each handler must return the generated type of its declared answer (query/api-types.ts).
 */
import { RESULTS, RUN_STATES } from '../../contract/vocabulary.js';
import { createKey, isScope, listKeys, revokeKey, SCOPES, type Scope } from '../auth/keys.js';
import type { Tenant } from '../model/records.js';
import { Refusal } from '../model/outcome.js';
import type { Answers } from '../query/api-types.js';
import { listLogs, LOG_SORTS, type LogSort } from '../query/logs.js';
import { metricsOverview, metricsPerPipeline } from '../query/metrics.js';
import type { Page } from '../query/pages.js';
import { getRun, listRuns, RUN_SORTS, type RunSort } from '../query/runs.js';
import { latestChecks, latestStages } from '../query/latest-runs.js';
import { DATASET_ID, getDataset, listDatasets } from '../query/datasets.js';
import { lineageGraph, LINEAGE_DIRECTIONS } from '../query/lineage.js';
import { MAX_DEPTH } from '../query/lineage-walk.js';
import { getTrace } from '../query/traces.js';
import { METRIC_AS, type MetricAs } from '../query/metric-as.js';
import { listMetricNames } from '../query/metric-names.js';
import { metricPoints } from '../query/metric-points.js';
import { MAX_POINTS, MAX_READ, MAX_SERIES } from '../query/metric-reads.js';
import { MAX_RUN_SERIES } from '../query/metric-runs.js';
import type { MetricScope } from '../query/metric-scope.js';
import { isSeriesId, listSeries } from '../query/metric-series.js';
import type { Queryable } from '../storage/database.js';
import { cleanupTenant, effectiveRetentionDays, setTenantRetentionDays, tenantRetentionDays } from '../storage/retention.js';
import { cursor, format, fraction, integer, limit, oneOf, refuse, severity, text, time, traceId, type JsonSchema, type Param, type Params, type Parsed } from './params.js';

export interface RouteContext<Q extends Params, P extends Params> {
  db: Queryable;
  tenant: Tenant;
  query: Parsed<Q>;
  path: Parsed<P>;
  body: unknown;
  /** The server's --retention-days. */
  serverRetentionDays: number;
}

/** The name of an answer's schema (schemas.ts), whose generated type (query/api-types.ts) a handler must return. */
export type AnswerName = keyof Answers;

export interface ListAnswer<Q extends Params, P extends Params, R extends AnswerName, I extends AnswerName> {
  /** The component name of one item: the CSV's columns come from its schema. */
  item: I;
  /** Keyset-paginated (limit and cursor), or every item on one page. */
  paged: boolean;
  page(context: RouteContext<Q, P>, limit: number, cursor: string | undefined): Promise<Page<Answers[I]> & Answers[R]>;
}

export interface ApiRoute<Q extends Params = Params, P extends Params = Params, R extends AnswerName = AnswerName, I extends AnswerName = AnswerName> {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Under /api/v1, OpenAPI style: `/runs/{runId}`. */
  path: string;
  summary: string;
  scope: Scope;
  query: Q;
  pathParams: P;
  requestBody?: JsonSchema;
  status: number;
  /** The component name of the JSON answer. */
  response: R;
  /** Lists answer CSV too. */
  list?: ListAnswer<Q, P, R, I>;
  /** Answers 404 when what its query names is not found (a route with path parameters always may). */
  mayNotFind?: boolean;
  /** The answer (a Refusal for 404). Lists have `list` instead. */
  handle?(context: RouteContext<Q, P>): Promise<Answers[R]>;
}

/** The query parameters a route takes: its own, and for lists the format and, when paged, the page. */
export function queryParamsOf(route: ApiRoute): Params {
  if (!route.list) return route.query;
  return { ...route.query, ...(route.list.paged ? { limit, cursor } : {}), format };
}

/** Checks a route's handler against its declared answer, then files it among the others. */
const route = <Q extends Params, P extends Params, R extends AnswerName, I extends AnswerName>(definition: ApiRoute<Q, P, R, I>) =>
  definition as unknown as ApiRoute;

const pipeline = text('The pipeline (cicd.pipeline.name).');
const days = integer(1, 366, 'The window: runs that started in the last this many days (default 7).');
const DEFAULT_DAYS = 7;
/** Enough for a sparkline of a pipeline's recent durations; more belongs to /runs?pipeline=. */
const MAX_RECENT_RUNS = 100;
const environment = text('The deployment.environment.name resource attribute (or the older deployment.environment).');

const logFilters = {
  pipeline,
  stage: text('The stage (cicd.pipeline.task.name).'),
  run_id: text('The run (cicd.pipeline.run.id).'),
  trace_id: traceId,
  severity_min: severity,
  service: text('The service.name resource attribute.'),
  environment,
  since: time('Records at or after this time.'),
  until: time('Records before this time.'),
  q: text('Words of the body (word search, web-search syntax: "a phrase", -excluded, or).', 500),
  sort: oneOf(Object.keys(LOG_SORTS) as LogSort[], '-timestamp (newest first, the default) or timestamp (oldest first).'),
};

const runFilters = {
  pipeline,
  result: oneOf(RESULTS, 'The run result.'),
  state: oneOf(RUN_STATES, 'running or ended.'),
  environment,
  since: time('Runs that started at or after this time.'),
  until: time('Runs that started before this time.'),
  sort: oneOf(Object.keys(RUN_SORTS) as RunSort[], '-started_at (newest first, the default), started_at, -duration (slowest ended runs first) or duration.'),
};

const DEFAULT_LATEST_RUNS = 10;
const MAX_LATEST_RUNS = 100;

/** The pipeline and how many of its latest runs (/runs?pipeline=, newest first) to list the stages or checks of. */
const latestRunsParams = {
  pipeline: text('The pipeline (cicd.pipeline.name): required.'),
  runs: integer(1, MAX_LATEST_RUNS, `Of its latest this many runs, as /runs?pipeline= lists them (default ${DEFAULT_LATEST_RUNS}, at most ${MAX_LATEST_RUNS}).`),
};

/** The pipeline and run count of a latest-runs read: a pipeline is required, as every pipeline's latest runs would be an export. */
function latestRuns(query: Parsed<typeof latestRunsParams>): [string, number] {
  if (query.pipeline === undefined) refuse('"pipeline" is required: give the pipeline (cicd.pipeline.name) whose latest runs to read; /runs lists every pipeline\'s runs');
  return [query.pipeline!, query.runs ?? DEFAULT_LATEST_RUNS];
}

/** A dataset's id, as /api/v1/datasets lists it: a 400 names what it takes, rather than a 404 for a typo. */
const datasetId = (description: string): Param<string> => ({
  description,
  schema: { type: 'string', pattern: DATASET_ID.source },
  parse: (raw, name) => (DATASET_ID.test(raw) ? raw : refuse(`"${name}" must be a dataset id as /api/v1/datasets lists it (digits), got "${raw}"`)),
});

const DEFAULT_DEPTH = 2;
const DEFAULT_WRITES = 100;
const MAX_WRITES = 1000;

const lineageParams = {
  pipeline: text('Start from this pipeline (cicd.pipeline.name); give it or dataset.'),
  dataset: datasetId('Start from this dataset, by its id; give it or pipeline.'),
  depth: integer(1, MAX_DEPTH, `How many pipeline hops to walk (default ${DEFAULT_DEPTH}, at most ${MAX_DEPTH}).`),
  direction: oneOf(LINEAGE_DIRECTIONS, 'up (what it is made from), down (who uses it) or both (the default).'),
};

/** The one node a lineage walk starts from: exactly one of pipeline and dataset. */
function lineageRoot(query: Parsed<typeof lineageParams>) {
  const { pipeline, dataset } = query;
  if ((pipeline === undefined) === (dataset === undefined)) {
    refuse('give exactly one of "pipeline" (a pipeline name) and "dataset" (a dataset id, as /api/v1/datasets lists them)');
  }
  return pipeline !== undefined ? { pipeline } : { datasetId: dataset! };
}

/** Whose metrics a read is about: a pipeline's or a run's, within since and until. */
const metricScopeParams = {
  pipeline: text('The pipeline (cicd.pipeline.name) whose metrics to read; give it or run_id.'),
  run_id: text(
    "The run (cicd.pipeline.run.id) whose metrics to read, give it or pipeline: its series (its id among their point or resource attributes) and, of other series, the points whose exemplar names the run's trace.",
  ),
  since: time('Points at or after this time.'),
  until: time('Points before this time.'),
};

const metricName = text('The metric (its OTLP name, as /api/v1/metric-names lists them): required.');

const metricPointParams = {
  ...metricScopeParams,
  metric: text('The metric (its OTLP name, as /api/v1/metric-names lists them): required unless series_id is given.'),
  series_id: {
    description: 'One series, as /api/v1/series lists it: alone, or within the pipeline or run.',
    schema: { type: 'string', pattern: '^-?[0-9]{1,19}$' },
    parse: (raw: string, name: string) => (isSeriesId(raw) ? raw : refuse(`"${name}" must be a series id as /api/v1/series lists them (a 64-bit integer), got "${raw}"`)),
  } satisfies Param<string>,
  as: oneOf(
    Object.keys(METRIC_AS) as MetricAs[],
    'value (the default): each point as sent, any kind. ' +
      "increase, rate (sums): what each interval between consecutive points counted, or that per second; a delta point's is its own value over its start time; " +
      "of a cumulative series, the point less the one before it, where a monotonic sum that dropped was reset (it counts from 0 again) and a new start time is a restart (counted from it), as Prometheus' increase() reads counters. " +
      "quantile (histograms, exponential histograms, summaries): the quantile of each interval's observations, with quantile=: a cumulative histogram's of its bucket counts less the previous point's, a delta one's of its own; " +
      "explicit buckets interpolated linearly within the bucket, exponential ones on their logarithmic scale, as Prometheus' histogram_quantile() does; a summary's is the value it sent for that quantile (null when it sent none).",
  ),
  quantile: fraction('With as=quantile: which one, above 0 and at most 1 (0.5 the median, 0.99).'),
  step: integer(
    1,
    366 * 86_400,
    `One point per step of this many seconds, counted from the Unix epoch: a step's last point (as=value, and a summary's quantile), or its intervals added up (their increase, rate over their span, quantile of their observations together). Without it, a series of more than ${MAX_POINTS} points in the range is refused.`,
  ),
  by: oneOf(
    ['run'],
    `run: one line per run (in runs, not series), its series of the metric added up: gauges' and sums' values at each time (at a time some series lack, those that have a point there; with step=, each series' last of the step), ` +
      "sums' increases and rates per time or step, histograms' bucket increases per time or step before the quantile (every series of a run of the same bounds). " +
      `Series that name no run are one line, run_id null. Not for exponential histograms and summaries, nor a histogram's as=value. At most ${MAX_SERIES} runs, added up from at most ${MAX_RUN_SERIES} series.`,
  ),
};

/** The pipeline or the run of a metric read: one of them, or for points a series_id alone. */
function metricScope(query: Parsed<typeof metricPointParams>, metricRequired: boolean): MetricScope {
  const { pipeline, run_id: runId, series_id: seriesId, metric, since, until } = query;
  if (pipeline !== undefined && runId !== undefined) refuse('give one of "pipeline" and "run_id", not both: a run\'s metrics are read by its id alone');
  if (pipeline === undefined && runId === undefined && seriesId === undefined) {
    refuse(`"pipeline" or "run_id" is required: give the pipeline (cicd.pipeline.name) or the run (cicd.pipeline.run.id) whose metrics to read`);
  }
  if (metricRequired && metric === undefined && seriesId === undefined) refuse('"metric" is required: give a metric name, as /api/v1/metric-names lists them');
  return { pipeline, runId, seriesId, metric, since, until };
}

/** as=quantile and quantile= go together. */
function quantileOf(query: Parsed<typeof metricPointParams>): number | undefined {
  if (query.as === 'quantile' && query.quantile === undefined) refuse('"quantile" is required with as=quantile: give one above 0 and at most 1, such as 0.5 or 0.99');
  if (query.as !== 'quantile' && query.quantile !== undefined) refuse('"quantile" goes with as=quantile: add it, or leave quantile out');
  return query.quantile;
}

const noParams = {};
const keyIdParam = { keyId: text('A key id, as listed.', 100) };

function requireFound<T>(value: T | null, what: string): T {
  if (value === null) throw new Refusal('not_found', `${what} not found for this tenant`);
  return value;
}

async function retentionOf(context: { db: Queryable; tenant: Tenant; serverRetentionDays: number }) {
  const own = await tenantRetentionDays(context.db, context.tenant.id);
  return {
    retention_days: effectiveRetentionDays(own, context.serverRetentionDays),
    tenant_retention_days: own,
    server_retention_days: context.serverRetentionDays,
  };
}

function retentionBody(body: unknown, serverDays: number): number | null {
  const days = (body as { retention_days?: unknown } | null)?.retention_days;
  if (days === null) return null;
  if (!Number.isInteger(days) || (days as number) < 1 || (days as number) > serverDays) {
    throw new Refusal(
      'invalid',
      `"retention_days" must be an integer from 1 to ${serverDays} (the server's --retention-days), or null for the server's`,
    );
  }
  return days as number;
}

function keyInfo(key: Awaited<ReturnType<typeof listKeys>>[number]) {
  return {
    key_id: key.keyId,
    scopes: key.scopes,
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt ? key.revokedAt.toISOString() : null,
  };
}

export const ROUTES: readonly ApiRoute[] = [
  route({
    method: 'get',
    path: '/logs',
    summary: 'Log records, newest first unless sorted otherwise',
    scope: 'read',
    query: logFilters,
    pathParams: noParams,
    status: 200,
    response: 'LogPage',
    list: {
      item: 'Log',
      paged: true,
      page: ({ db, tenant, query: q }, limit, cursor) =>
        listLogs(
          db,
          tenant.id,
          {
            pipeline: q.pipeline,
            stage: q.stage,
            runId: q.run_id,
            traceId: q.trace_id,
            severityMin: q.severity_min,
            service: q.service,
            environment: q.environment,
            since: q.since,
            until: q.until,
            q: q.q,
          },
          limit,
          cursor,
          q.sort,
        ),
    },
  }),
  route({
    method: 'get',
    path: '/runs',
    summary: 'Pipeline runs',
    scope: 'read',
    query: runFilters,
    pathParams: noParams,
    status: 200,
    response: 'RunPage',
    list: {
      item: 'Run',
      paged: true,
      page: ({ db, tenant, query: q }, limit, cursor) =>
        listRuns(
          db,
          tenant.id,
          { pipeline: q.pipeline, result: q.result, state: q.state, environment: q.environment, since: q.since, until: q.until },
          limit,
          cursor,
          q.sort,
        ),
    },
  }),
  route({
    method: 'get',
    path: '/runs/{runId}',
    summary: 'A run with its stages, data-quality checks, first page of logs, span tree, the datasets it read and wrote, and, failed or stuck, who it leaves without data',
    scope: 'read',
    query: noParams,
    pathParams: { runId: text('A run id.') },
    status: 200,
    response: 'RunDetail',
    handle: async ({ db, tenant, path }) => requireFound(await getRun(db, tenant.id, path.runId!), `run ${path.runId}`),
  }),
  route({
    method: 'get',
    path: '/stages',
    summary: "The stages of a pipeline's latest runs, newest run first: what their details show of them, in one read",
    scope: 'read',
    query: latestRunsParams,
    pathParams: noParams,
    status: 200,
    response: 'RunStagePage',
    list: {
      item: 'RunStage',
      paged: false,
      page: ({ db, tenant, query }) => latestStages(db, tenant.id, ...latestRuns(query)),
    },
  }),
  route({
    method: 'get',
    path: '/checks',
    summary: "The data-quality checks of a pipeline's latest runs, newest run first: what their details show of them, in one read",
    scope: 'read',
    query: latestRunsParams,
    pathParams: noParams,
    status: 200,
    response: 'RunCheckPage',
    list: {
      item: 'RunCheck',
      paged: false,
      page: ({ db, tenant, query }) => latestChecks(db, tenant.id, ...latestRuns(query)),
    },
  }),
  route({
    method: 'get',
    path: '/datasets',
    summary: 'Datasets the pipelines read and write, by name, with who writes and reads them, their last write and freshness',
    scope: 'read',
    query: {
      q: text('Part of the dataset name (case-insensitive).', 500),
      namespace: text('The namespace, exactly (postgres://host:5432, bigquery, dw).'),
      pipeline: text('Datasets this pipeline reads or writes.'),
    },
    pathParams: noParams,
    status: 200,
    response: 'DatasetPage',
    list: {
      item: 'Dataset',
      paged: true,
      page: ({ db, tenant, query: q }, limit, cursor) => listDatasets(db, tenant.id, { q: q.q, namespace: q.namespace, pipeline: q.pipeline }, limit, cursor),
    },
  }),
  route({
    method: 'get',
    path: '/datasets/{datasetId}',
    summary: 'A dataset with who writes and reads it, its facets (schema, column lineage) and its writes over time',
    scope: 'read',
    query: {
      since: time('Writes at or after this time.'),
      until: time('Writes before this time.'),
      writes: integer(1, MAX_WRITES, `The latest this many writes (default ${DEFAULT_WRITES}, at most ${MAX_WRITES}).`),
    },
    pathParams: { datasetId: datasetId('A dataset id, as /api/v1/datasets lists it.') },
    status: 200,
    response: 'DatasetDetail',
    handle: async ({ db, tenant, path, query }) =>
      requireFound(
        await getDataset(db, tenant.id, path.datasetId!, { since: query.since, until: query.until, limit: query.writes ?? DEFAULT_WRITES }),
        `dataset ${path.datasetId}`,
      ),
  }),
  route({
    method: 'get',
    path: '/lineage',
    summary: 'The lineage graph around a pipeline or a dataset: pipelines and datasets, and who writes and reads what',
    scope: 'read',
    query: lineageParams,
    pathParams: noParams,
    status: 200,
    response: 'LineageGraph',
    mayNotFind: true,
    handle: async ({ db, tenant, query }) => {
      const root = lineageRoot(query);
      const graph = await lineageGraph(db, tenant.id, root, query.direction ?? 'both', query.depth ?? DEFAULT_DEPTH);
      return requireFound(graph, 'pipeline' in root ? `pipeline ${root.pipeline}` : `dataset ${root.datasetId}`);
    },
  }),
  route({
    method: 'get',
    path: '/traces/{traceId}',
    summary: 'A trace: its spans and logs',
    scope: 'read',
    query: noParams,
    pathParams: { traceId },
    status: 200,
    response: 'Trace',
    handle: async ({ db, tenant, path }) => requireFound(await getTrace(db, tenant.id, path.traceId!), `trace ${path.traceId}`),
  }),
  route({
    method: 'get',
    path: '/metrics/overview',
    summary: 'Runs, success rate, mean and p95 duration and errors over the last days',
    scope: 'read',
    query: { days },
    pathParams: noParams,
    status: 200,
    response: 'Overview',
    handle: ({ db, tenant, query }) => metricsOverview(db, tenant.id, query.days ?? DEFAULT_DAYS),
  }),
  route({
    method: 'get',
    path: '/metrics/pipelines',
    summary: 'The overview per pipeline, with its last success, rows moved, and whether it is late or stuck',
    scope: 'read',
    query: {
      days,
      recent: integer(0, MAX_RECENT_RUNS, `Each pipeline's latest this many runs in recent_runs, newest first (default 0, at most ${MAX_RECENT_RUNS}).`),
      pipeline: text('Only this pipeline (cicd.pipeline.name): an empty list when it has no runs.'),
    },
    pathParams: noParams,
    status: 200,
    response: 'PipelinePage',
    list: {
      item: 'PipelineFigures',
      paged: false,
      page: ({ db, tenant, query }) => metricsPerPipeline(db, tenant.id, query.days ?? DEFAULT_DAYS, query.recent ?? 0, Date.now(), query.pipeline ?? null),
    },
  }),
  route({
    method: 'get',
    path: '/metric-names',
    summary: "The OTLP metrics of a pipeline or a run: each name with its kind, unit, description, temporality and how many series it has",
    scope: 'read',
    query: metricScopeParams,
    pathParams: noParams,
    status: 200,
    response: 'MetricNamePage',
    list: {
      item: 'MetricName',
      paged: false,
      page: ({ db, tenant, query }) => listMetricNames(db, tenant.id, metricScope(query, false)),
    },
  }),
  route({
    method: 'get',
    path: '/series',
    summary: "The series of a pipeline's or a run's metric: each attribute set with its resource, scope, histogram bounds, and first and last point",
    scope: 'read',
    query: { ...metricScopeParams, metric: metricName },
    pathParams: noParams,
    status: 200,
    response: 'MetricSeriesPage',
    list: {
      item: 'MetricSeries',
      paged: true,
      page: ({ db, tenant, query }, limit, cursor) => listSeries(db, tenant.id, metricScope(query, true), limit, cursor),
    },
  }),
  route({
    method: 'get',
    path: '/metric-points',
    summary: `The points of a pipeline's or a run's metric, or of one series, by series (or added up by run), oldest first: as sent, or each interval's increase, rate or quantile (at most ${MAX_SERIES} series or runs of ${MAX_POINTS} points, read from ${MAX_READ} stored ones; step= thins)`,
    scope: 'read',
    query: metricPointParams,
    pathParams: noParams,
    status: 200,
    response: 'MetricPoints',
    handle: ({ db, tenant, query }) =>
      metricPoints(db, tenant.id, { scope: metricScope(query, true), as: query.as ?? 'value', quantile: quantileOf(query), stepSeconds: query.step, by: query.by }),
  }),
  route({
    method: 'get',
    path: '/keys',
    summary: "The tenant's API keys (never the keys themselves)",
    scope: 'admin',
    query: noParams,
    pathParams: noParams,
    status: 200,
    response: 'KeyPage',
    list: {
      item: 'Key',
      paged: false,
      page: async ({ db, tenant }) => ({ items: (await listKeys(db, tenant.id)).map(keyInfo), next_cursor: null }),
    },
  }),
  route({
    method: 'post',
    path: '/keys',
    summary: 'Creates a key for this tenant: the answer is the only time the key is shown',
    scope: 'admin',
    query: noParams,
    pathParams: noParams,
    requestBody: {
      type: 'object',
      properties: { scopes: { type: 'array', items: { type: 'string', enum: [...SCOPES] }, minItems: 1 } },
      required: ['scopes'],
    },
    status: 201,
    response: 'CreatedKey',
    handle: async ({ db, tenant, body }) => {
      const scopes: unknown = (body as { scopes?: unknown } | null)?.scopes;
      if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every(isScope)) {
        throw new Refusal('invalid', `"scopes" must be a non-empty array of ${SCOPES.join(', ')}`);
      }
      const created = await createKey(db, tenant.name, scopes);
      return { key: created.key, key_id: created.keyId, tenant: tenant.name, scopes };
    },
  }),
  route({
    method: 'delete',
    path: '/keys/{keyId}',
    summary: 'Revokes a key of this tenant',
    scope: 'admin',
    query: noParams,
    pathParams: keyIdParam,
    status: 200,
    response: 'Revoked',
    handle: async ({ db, tenant, path }) => {
      if (!(await revokeKey(db, path.keyId!, tenant.id))) throw new Refusal('not_found', `key ${path.keyId} not found for this tenant`);
      return { revoked: path.keyId! };
    },
  }),
  route({
    method: 'get',
    path: '/retention',
    summary: "How many days of this tenant's data are kept",
    scope: 'admin',
    query: noParams,
    pathParams: noParams,
    status: 200,
    response: 'Retention',
    handle: retentionOf,
  }),
  route({
    method: 'put',
    path: '/retention',
    summary: "Sets this tenant's retention (at most the server's), or null for the server's",
    scope: 'admin',
    query: noParams,
    pathParams: noParams,
    requestBody: {
      type: 'object',
      properties: { retention_days: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] } },
      required: ['retention_days'],
    },
    status: 200,
    response: 'Retention',
    handle: async (context) => {
      await setTenantRetentionDays(context.db, context.tenant.id, retentionBody(context.body, context.serverRetentionDays));
      return retentionOf(context);
    },
  }),
  route({
    method: 'post',
    path: '/retention/cleanup',
    summary: "Deletes this tenant's records, runs and stages past its retention now (the server also does so hourly)",
    scope: 'admin',
    query: noParams,
    pathParams: noParams,
    status: 200,
    response: 'Cleanup',
    handle: ({ db, tenant, serverRetentionDays }) => cleanupTenant(db, tenant.id, serverRetentionDays),
  }),
];
