/**
 * WHERE-clause and label-selector fragments for the template variables, written once so that every
 * panel filters the same way.
 *
 * SQL lists use `= ANY(ARRAY[${v:sqlstring}]::text[])` rather than `IN (...)`: when a variable with All
 * has no options (an empty database), Grafana expands All to nothing, and `IN ()` is a syntax error
 * where `ARRAY[]::text[]` is an empty list.
 */
import { FAILED_RESULTS } from '../../contract/vocabulary.js';
import { environmentOf, pipelinesOfTenants, runEnvironmentOf } from '../../contract/run-sql.js';
import { sqlText } from './queries-builders.js';

/** OpenTelemetry severity ranges: number 1-4 is TRACE, ... 21-24 FATAL, 0 unspecified. */
export const SEVERITIES = [
  ['UNSPECIFIED', 0],
  ['TRACE', 1],
  ['DEBUG', 2],
  ['INFO', 3],
  ['WARN', 4],
  ['ERROR', 5],
  ['FATAL', 6],
] as const;

/** The severity range of a log record, as the severity variable's values number them. */
export const severityRange = (l: string) => `((${l}.severity_number + 3) / 4)`;

export const severityName = (l: string) =>
  `CASE ${severityRange(l)} ${SEVERITIES.filter(([, n]) => n > 0)
    .map(([name, n]) => `WHEN ${n} THEN '${name}'`)
    .join(' ')} ELSE 'UNSPECIFIED' END`;

/**
 * The custom allValue of the SQL-only variables (variables.ts). Grafana inserts it as is, so that
 * `'__all' IN (${v:sqlstring})` is true exactly when All is selected.
 */
export const SQL_ALL = "'__all'";

const listOf = (variable: string) => `ARRAY[\${${variable}:sqlstring}]::text[]`;

const anyOf = (expr: string, variable: string) => `${expr} = ANY(${listOf(variable)})`;

/** For the variables whose All is SQL_ALL (variables.ts): every row, including those without a value. */
const allOr = (expr: string, variable: string) => `(${SQL_ALL} IN (\${${variable}:sqlstring}) OR ${expr} IN (\${${variable}:sqlstring}))`;

/** `t` aliases tenants: the tenant variable holds names, the data tables ids. */
export const tenantIs = (t: string) => anyOf(`${t}.name`, 'tenant');

/**
 * The tenant id of a dashboard whose tenant variable takes one value: a constant to the planner, so that
 * an index on (tenant, pipeline, time) returns rows in time order, which a join to tenants prevents.
 */
export const ONE_TENANT_ID = `(SELECT tenant_id FROM tenants WHERE name = \${tenant:sqlstring})`;

export const pipelineIs = (column: string) => anyOf(column, 'pipeline');

/**
 * pipelineIs as a semi-join to the list, for a query that filters by it in many places: the planner weighs
 * an ANY list value by value against each table's statistics, and All lists every pipeline (at 500, about
 * 4 ms of planning at each place). Not where the column should bound an index scan, as pipelineIs does.
 */
export const pipelineAmong = (column: string) => `${column} IN (SELECT unnest(${listOf('pipeline')}))`;

/** A pipeline variable whose All is SQL_ALL: every row, whatever pipeline it names (or none). */
export const pipelineOrAllIs = (column: string) => allOr(column, 'pipeline');

/** The logs dashboard's pipeline, whose All also keeps records outside any pipeline. */
export const logPipelineIs = (l: string) => pipelineOrAllIs(`${l}.pipeline`);

export const logEnvironmentIs = (l: string) => allOr(environmentOf(l), 'environment');

/** The UTC day of a time macro's text ($__timeFrom(), $__timeTo()): metric_streams are kept per UTC day. */
const utcDay = (macro: string) => `(${macro}::timestamptz AT TIME ZONE 'UTC')::date`;

/**
 * metric_streams `ms` of the dashboard's one tenant and pipeline, in the selected environments (its
 * resource's, as a log record's), on the days of the time range: what the metric_streams_pipeline index
 * finds by equalities and a day range.
 */
export const pipelineStreamsIs = (ms: string) => sqlText`
  ${ms}.tenant_id = ${ONE_TENANT_ID}
    AND ${ms}.pipeline = \${pipeline:sqlstring}
    AND ${ms}.day BETWEEN ${utcDay('$__timeFrom()')} AND ${utcDay('$__timeTo()')}
    AND ${logEnvironmentIs(ms)}`;

/**
 * Run `r` (pipeline_runs) in the selected environments, by the API's rule of a run's environment
 * (receiver/query/shape.ts): as the run stores it (what the environment variable lists), for runs
 * stored before migration 3 as its records tell it.
 */
export const runEnvironmentIs = (r: string) => `(${SQL_ALL} IN (\${environment:sqlstring}) OR ${runEnvironmentOf(r)} IN (\${environment:sqlstring}))`;

/** A stage's or check's row `x` (naming its run by tenant_id and run_id) whose run is in the selected environments. */
export const ofRunEnvironmentIs = (x: string) =>
  `(${SQL_ALL} IN (\${environment:sqlstring}) OR (
  SELECT ${runEnvironmentOf('run')} FROM pipeline_runs run WHERE run.tenant_id = ${x}.tenant_id AND run.run_id = ${x}.run_id
  ) IN (\${environment:sqlstring}))`;

/** tenant, pipeline (by `pipelineFilter`) and environment of pipeline_runs `r` joined to tenants `t`. */
export const runIs = (r: string, t: string, pipelineFilter = pipelineIs) => sqlText`
  ${tenantIs(t)}
    AND ${pipelineFilter(`${r}.pipeline`)}
    AND ${runEnvironmentIs(r)}`;

export const severityIs = (l: string) => `${severityRange(l)} = ANY(ARRAY[\${severity:sqlstring}]::int[])`;

/** An empty search matches everything; otherwise a substring of body or attributes, or a web search query. */
export const searchIs = (l: string) =>
  `(\${search:sqlstring} = ''
  OR ${l}.body ILIKE '%' || \${search:sqlstring} || '%'
  OR ${l}.attributes::text ILIKE '%' || \${search:sqlstring} || '%'
  OR to_tsvector('simple', coalesce(${l}.body, '')) @@ websearch_to_tsquery('simple', \${search:sqlstring}))`;

/** The logs dashboard's run id text box: empty for every run. */
export const runIdIs = (l: string) => `(\${run_id:sqlstring} = '' OR ${l}.run_id = \${run_id:sqlstring})`;

/**
 * PromQL matchers for tenant and pipeline: regex matches where the variables take several values
 * (Grafana then formats them as `(a|b)`, regex-escaped), equality where they take one.
 */
export const promPipelines = (multi: boolean) =>
  multi ? 'tenant=~"$tenant", pipeline=~"$pipeline"' : 'tenant="$tenant", pipeline="$pipeline"';

/** FAILED_RESULTS as a SQL list: the results that count as a failed run. */
export const FAILED_SQL = FAILED_RESULTS.map((result) => `'${result}'`).join(', ');

/** `text` followed by its tenant when several tenants are selected (pipeline and dataset names repeat across tenants). */
export const withTenant = (text: string, tenant: string) =>
  `CASE WHEN cardinality(ARRAY[\${tenant:sqlstring}]::text[]) > 1 THEN ${text} || ' (' || ${tenant} || ')' ELSE ${text} END`;

/** A pipeline's name, with its tenant when several tenants are selected. */
export const pipelineLabel = (r: string, t: string) => withTenant(`${r}.pipeline`, `${t}.name`);

/** `WITH RECURSIVE pipelines (tenant_id, tenant, pipeline)`: the selected tenants' pipelines, one index probe each. */
export const SELECTED_TENANTS_PIPELINES = pipelinesOfTenants(tenantIs('t'));
