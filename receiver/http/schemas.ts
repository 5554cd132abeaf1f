/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 takes them) of every JSON answer: the OpenAPI document's
 * components, and the columns of each list's CSV (csv-stream.ts). Objects list every property and allow
 * no others, so the tests' validation catches a field added, renamed or retyped without the document.
 * They are also the answers' only statement as TypeScript: answer-types.ts generates the types the
 * query functions return and the web view reads from them.
 */
import { RESULTS, RUN_STATES } from '../../contract/vocabulary.js';
import { METRIC_KINDS } from '../model/records.js';
import { MAX_DEPTH, MAX_NODES } from '../query/lineage-walk.js';
import { MAX_METRIC_NAMES } from '../query/metric-names.js';
import { METRIC_AS } from '../query/metric-as.js';
import type { JsonSchema } from './params.js';

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });
const object = (properties: Record<string, JsonSchema>, description?: string): JsonSchema => ({
  type: 'object',
  ...(description ? { description } : {}),
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});
const string: JsonSchema = { type: 'string' };
const number: JsonSchema = { type: 'number' };
const integer: JsonSchema = { type: 'integer' };
const dateTime: JsonSchema = { type: 'string', format: 'date-time' };
/** OTLP attributes as stored: values of any JSON type (arrays and maps nest). */
const attributes: JsonSchema = { type: 'object', additionalProperties: true };
/** 64-bit integers (nanosecond times) as decimal strings: JSON numbers lose precision past 2^53. */
const int64: JsonSchema = { type: 'string', pattern: '^-?[0-9]+$' };
const hexId = (bytes: number): JsonSchema => ({ type: 'string', pattern: `^[0-9a-f]{${bytes * 2}}$` });

const page = (item: string, description: string): JsonSchema =>
  object({ items: { type: 'array', items: ref(item) }, next_cursor: nullable(string) }, description);

const resource = object({ attributes, schema_url: string });
const scope = object({ name: string, version: string, attributes, schema_url: string });

const runCommon = {
  pipeline: string,
  state: { type: 'string', enum: [...RUN_STATES] },
  result: nullable({ type: 'string', enum: [...RESULTS] }),
  started_at: nullable(dateTime),
  start_estimated: {
    type: 'boolean',
    description: 'No start record arrived: started_at is the earliest thing known of it (a stage start, a start its producer carried, its end minus its duration).',
  },
  ended_at: nullable(dateTime),
  duration_seconds: nullable(number),
  rows: object(
    { read: nullable(number), written: nullable(number), rejected: nullable(number) },
    "As reported; a run that reported none of a count shows the sum of its stages' counts.",
  ),
  error: nullable(object({ type: nullable(string), message: nullable(string) })),
  target: nullable(object({ namespace: nullable(string), collection: nullable(string) })),
  attributes,
};

const stuckRun: JsonSchema = {
  type: 'boolean',
  description: 'Running and silent (no heartbeat) for longer than the PipelineRunStuck threshold, now.',
};

const run = {
  run_id: string,
  ...runCommon,
  reported: nullable(
    object(
      { result: nullable({ type: 'string', enum: [...RESULTS] }), error: nullable(object({ type: nullable(string), message: nullable(string) })) },
      "The run's own end where it shows otherwise: a run that ended in success with a failed stage (not tolerated, not retried) shows that failure; a failed run whose own error is one word or none shows its first failed stage's error. Null when it shows its own.",
    ),
  ),
  service_name: nullable(string),
  source_system: nullable(string),
  trace_id: nullable(string),
  last_seen_at: nullable(dateTime),
  stuck: stuckRun,
};

const stage = {
  stage: string,
  stage_run_id: string,
  ...runCommon,
  span_id: nullable(string),
  failure_allowed: { type: 'boolean', description: 'Declared tolerated (pipemon.stage.failure_allowed): its failure does not fail its run.' },
};

const check = { timestamp: dateTime, name: nullable(string), passed: nullable({ type: 'boolean' }), details: {}, stage: nullable(string) };
const CHECK_DESCRIPTION =
  'A pipeline.check record: its pipemon.check.name, .passed (a boolean, or null when it sent neither a boolean nor "true" or "false") and .details (as sent).';

const span = {
  trace_id: string,
  span_id: string,
  parent_span_id: nullable(string),
  trace_state: string,
  flags: number,
  name: string,
  kind: integer,
  start_time_unix_nano: int64,
  end_time_unix_nano: int64,
  duration_ns: int64,
  status_code: integer,
  status_message: string,
  service_name: string,
  attributes,
  events: { type: 'array' },
  links: { type: 'array' },
  dropped_attributes_count: number,
  dropped_events_count: number,
  dropped_links_count: number,
  resource,
  scope,
};

const figures = {
  runs: integer,
  running: integer,
  ended: integer,
  successes: integer,
  errors: { type: 'integer', description: 'Ended runs whose result is failure, error or timeout.' },
  success_rate: nullable({ type: 'number', minimum: 0, maximum: 1, description: 'Successes over ended runs; null with none.' }),
  duration_seconds: object(
    { mean: nullable(number), p95: nullable(number) },
    'Over ended runs that report a duration; the p95 is read from duration buckets eight to a doubling, within 9 % of the exact one.',
  ),
  rows: object({ read: number, written: number, rejected: number }, 'Summed over the runs that reported them.'),
};

/** A pipeline's state now, as the alerts judge it: the pipelines list and the lineage graph's pipeline nodes show it alike. */
const pipelineNow = {
  last_success_at: nullable(dateTime),
  last_run_ended_at: nullable(dateTime),
  expected_interval_seconds: nullable(number),
  consecutive_failures: integer,
  late: { type: 'boolean', description: 'As the PipelineLate alert judges it now (without its for: wait).' },
  stuck: { type: 'boolean', description: 'As the PipelineRunStuck alert judges it now (without its for: wait).' },
  upstream_unhealthy: {
    type: 'array',
    items: string,
    description:
      'Its direct upstream pipelines (each writes a dataset it reads) that are failing, late or stuck now, as pipemon_pipeline_upstream_unhealthy judges them, sorted: what it waits on, and why it is likely late. Its own late and stuck alerts are inhibited meanwhile.',
  },
  warning: {
    type: 'boolean',
    description:
      'Its latest ended run failed a data-quality check, rejected rows, or wrote 0 rows (and the pipeline is not in zeroRows.allowedPipelines), as PipelineDataQualityCheckFailed, PipelineRowsRejected and PipelineZeroRowsWritten judge it now (without their for: wait); data_health says which.',
  },
  data_health: object(
    {
      run_id: nullable({ type: 'string', description: 'The latest ended run; null before any run ended.' }),
      failed_checks: { type: 'integer', description: 'Its data-quality checks that failed, counted as pipemon_pipeline_last_run_failed_checks counts them.' },
      failed_check_names: { type: 'array', items: string, description: 'Their names, each once, sorted.' },
      rows_rejected: nullable({ type: 'number', description: 'Rows it rejected; null when it reported none.' }),
      rows_written: nullable({ type: 'number', description: 'Rows it wrote; null when it reported none.' }),
      zero_rows_written: {
        type: 'boolean',
        description: 'It wrote 0 rows without a failure since the last success, and the pipeline is not allowed to (zeroRows.allowedPipelines), as PipelineZeroRowsWritten judges it.',
      },
      usual_rows_written: nullable({
        type: 'number',
        description: 'When it wrote 0 rows: the median rows written by its latest 8 earlier successful runs that reported some (0 when they wrote none either); null otherwise, or without such runs.',
      }),
    },
    'The latest ended run, as the data-health alerts read it.',
  ),
};

/** A dataset's id in the API: its key in /api/v1/datasets/{datasetId}, decimal digits. */
const datasetId: JsonSchema = { type: 'string', pattern: '^[0-9]+$' };
const direction: JsonSchema = { type: 'string', enum: ['read', 'write'] };
const stageName = nullable({ type: 'string', description: 'The stage (cicd.pipeline.task.name); null for the run itself, or for static lineage.' });
const lastRun = nullable({ type: 'string', description: 'The latest run that used it; null when only static lineage (an OpenLineage JobEvent) declared it.' });

/** A dataset's use by a pipeline (or a stage of it): one lineage edge, with the last run that used it. */
const edgeUse = {
  first_at: dateTime,
  last_at: dateTime,
  last_run_id: lastRun,
  rows: nullable({ type: 'number', description: 'Rows the last run reported for it; null when it reported none.' }),
  bytes: nullable(number),
};

/** A dataset, as the list and its detail show it. */
const dataset = {
  id: datasetId,
  dataset: { type: 'string', description: 'Its one name: postgres://host:5432/db.schema.table, bigquery://project.dataset.table, dw://orders.' },
  namespace: string,
  name: string,
  first_seen: dateTime,
  last_seen: dateTime,
  writers: { type: 'array', items: string, description: 'The pipelines that write it (in any run, or by static lineage), sorted.' },
  readers: { type: 'array', items: string, description: 'The pipelines that read it, sorted.' },
  last_write: nullable(
    object(
      { at: dateTime, run_id: string, pipeline: string, stage: stageName, rows: nullable(number) },
      'Its latest write that happened: by a run that ended in success (for a stage\'s write, a stage that did).',
    ),
  ),
  freshness: {
    type: 'string',
    enum: ['fresh', 'stale', 'unknown'],
    description:
      "Its last write that happened against its writer's expected interval, by the PipelineLate rule: stale when older than that rule allows or when no write of it ever happened, fresh otherwise; unknown when the writer (of that write, else any) has no expected interval or no ended run.",
  },
  expected_interval_seconds: nullable({ type: 'number', description: "The expected interval of the writer it is judged by (declared, or inferred from its runs' starts)." }),
};

/**
 * A measured value exactly: a number, an integer beyond 2^53 as its decimal string (JSON numbers lose
 * precision past it), or a double JSON cannot hold as "NaN", "Infinity" or "-Infinity".
 */
const exact: JsonSchema = { anyOf: [number, { type: 'string', pattern: '^(-?[0-9]+|NaN|-?Infinity)$' }] };
const exacts: JsonSchema = { type: 'array', items: exact };

/** What a metric's series share: the OTLP Metric's name, kind, unit, description, temporality and monotonicity. */
const metricKind = {
  kind: { type: 'string', enum: [...METRIC_KINDS] },
  unit: string,
  description: string,
  temporality: nullable({ type: 'string', enum: ['delta', 'cumulative'], description: "A sum's or histogram's aggregation temporality; null for gauges and summaries." }),
  monotonic: { type: 'boolean', description: "A sum's is_monotonic (a counter: a drop is a reset); false for the other kinds." },
};

const metricSeries = {
  series_id: { ...int64, description: 'The series (its metric, attributes, resource and scope) across days: what series_id= of /metric-points reads.' },
  metric: string,
  ...metricKind,
  service_name: string,
  pipeline: nullable(string),
  run_id: nullable(string),
  stage: nullable(string),
  attributes: { ...attributes, description: "Its points' attributes." },
  explicit_bounds: nullable({ ...exacts, description: "A histogram's bucket bounds: bucket i counts the values up to bound i (above the one before), the last bucket those above the last bound. Null for other kinds." }),
  resource,
  scope,
};

const exponentialBuckets = object({ offset: integer, bucket_counts: exacts });

const hops = (of: string): JsonSchema => ({ type: 'integer', minimum: 0, description: `Pipeline hops from ${of}.` });

export const SCHEMAS: Record<string, JsonSchema> = {
  Error: object({ error: string }),
  Log: object({
    timestamp: dateTime,
    time_unix_nano: int64,
    observed_time_unix_nano: int64,
    severity_number: integer,
    severity_text: string,
    body: nullable(string),
    event_name: string,
    service_name: string,
    trace_id: nullable(string),
    span_id: nullable(string),
    flags: number,
    pipeline: nullable(string),
    run_id: nullable(string),
    stage: nullable(string),
    attributes,
    dropped_attributes_count: number,
    resource,
    scope,
  }),
  LogPage: page('Log', 'Log records, newest first.'),
  Run: object(run),
  RunPage: page('Run', 'Pipeline runs, in the requested sort.'),
  Stage: object(stage),
  Check: object(check, CHECK_DESCRIPTION),
  RunStage: object({ run_id: string, ...stage }, "A stage, with its run: as the run's detail shows it."),
  RunStagePage: page('RunStage', "The stages of a pipeline's latest runs, newest run first, each run's in the order they started."),
  RunCheck: object({ run_id: string, ...check }, `A data-quality check, with its run. ${CHECK_DESCRIPTION}`),
  RunCheckPage: page('RunCheck', "The data-quality checks of a pipeline's latest runs, newest run first, each run's in the order they ran."),
  Span: object(span),
  SpanNode: object({ ...span, children: { type: 'array', items: ref('SpanNode') } }),
  RunDetail: object({
    ...run,
    stages: { type: 'array', items: ref('Stage') },
    checks: { type: 'array', items: ref('Check') },
    logs: ref('LogPage'),
    spans: { type: 'array', items: ref('SpanNode'), description: "The run's trace as a tree: roots first, each span's children under it." },
    datasets: { type: 'array', items: ref('RunDataset'), description: 'What it and its stages read and wrote, by dataset name.' },
    impact: nullable({ ...ref('Impact'), description: 'Only for a failed or stuck run: the datasets it left unwritten and the pipelines downstream of them.' }),
  }),
  Trace: object({ trace_id: hexId(16), spans: { type: 'array', items: ref('Span') }, logs: { type: 'array', items: ref('Log') } }),
  Overview: object({ days: integer, since: dateTime, ...figures }),
  PipelineFigures: object({
    pipeline: string,
    owner: string,
    ...figures,
    ...pipelineNow,
    recent_runs: { type: 'array', items: ref('RecentRun'), description: 'Its latest runs, newest first, as many as `recent` asks (none by default).' },
  }),
  RecentRun: object({
    run_id: string,
    state: runCommon.state,
    result: runCommon.result,
    started_at: dateTime,
    duration_seconds: nullable(number),
    stuck: stuckRun,
  }),
  PipelinePage: object({
    days: integer,
    since: dateTime,
    items: { type: 'array', items: ref('PipelineFigures') },
    next_cursor: { type: 'null', description: 'Always null: every pipeline is on one page.' },
  }),
  Dataset: object(dataset),
  DatasetPage: page('Dataset', 'Datasets, by name.'),
  DatasetEdge: object({ pipeline: string, stage: stageName, ...edgeUse }, 'A pipeline (or a stage of it) writing or reading the dataset.'),
  SchemaField: object({ name: string, type: nullable(string), description: nullable(string) }),
  DatasetWrite: object(
    {
      run_id: string,
      pipeline: string,
      stages: { type: 'array', items: string, description: 'The stages that wrote it; empty when the run itself reported the write.' },
      at: dateTime,
      rows: nullable({ type: 'number', description: "The run's own count, else the sum of its stages' counts (as a run's rows roll up); null when none was reported." }),
      bytes: nullable(number),
      counted: { type: 'boolean', description: 'A write that happened: its run (for stages\' writes, a stage that wrote it) ended in success. Freshness counts only these.' },
    },
    'One run writing the dataset.',
  ),
  DatasetDetail: object({
    ...dataset,
    written_by: { type: 'array', items: ref('DatasetEdge'), description: 'Who writes it, per pipeline and stage, latest first.' },
    read_by: { type: 'array', items: ref('DatasetEdge'), description: 'Who reads it, per pipeline and stage, latest first.' },
    facets: nullable({ type: 'object', additionalProperties: true, description: 'Its latest OpenLineage dataset facets (schema, columnLineage, ...), as sent.' }),
    facets_at: nullable(dateTime),
    schema_fields: { type: 'array', items: ref('SchemaField'), description: "The schema facet's fields, in order; empty without one." },
    column_lineage: nullable({ type: 'object', additionalProperties: true, description: "The columnLineage facet's fields as sent: each column's input fields." }),
    writes: { type: 'array', items: ref('DatasetWrite'), description: 'Its writes per run, newest first, within since and until, at most `writes` of them.' },
  }),
  RunDataset: object(
    { dataset_id: datasetId, dataset: string, direction, stage: stageName, stage_run_id: nullable(string), at: dateTime, rows: nullable(number), bytes: nullable(number) },
    'A dataset the run (or a stage of it) read or wrote, as it reported.',
  ),
  Impact: object(
    {
      datasets: {
        type: 'array',
        items: object({ dataset_id: datasetId, dataset: string, hops: hops('the run') }),
        description: "Datasets its pipeline writes that no succeeded stage of this run wrote (hops 0), then those the pipelines below write, by hops.",
      },
      pipelines: {
        type: 'array',
        items: object({ pipeline: string, hops: hops("the run's pipeline") }),
        description: 'The pipelines that read those datasets, directly (1) or through others, by hops.',
      },
      truncated: { type: 'boolean', description: `The walk stopped at its bound (${MAX_DEPTH} hops, ${MAX_NODES} nodes): more may be affected.` },
    },
    'Who a failed or stuck run leaves without data.',
  ),
  PipelineStatus: object({ pipeline: string, owner: string, running: { type: 'integer', description: 'Its runs running now.' }, ...pipelineNow }),
  LineageNode: {
    oneOf: [
      object({ kind: { const: 'pipeline' }, id: string, hops: hops('the root'), pipeline: ref('PipelineStatus') }),
      object({ kind: { const: 'dataset' }, id: string, hops: hops('the root'), dataset: ref('Dataset') }),
    ],
    description: 'A pipeline (id pipeline:<name>) or a dataset (id dataset:<id>).',
  },
  LineageEdge: object(
    {
      source: string,
      target: string,
      direction,
      pipeline: string,
      dataset_id: datasetId,
      stages: { type: 'array', items: string, description: 'The stages of the pipeline that use it; empty for the run itself or static lineage.' },
      ...edgeUse,
    },
    'A pipeline writing a dataset (pipeline → dataset) or reading one (dataset → pipeline), over all its stages.',
  ),
  LineageGraph: object({
    root: { type: 'string', description: 'The id of the node the walk started from.' },
    direction: { type: 'string', enum: ['up', 'down', 'both'] },
    depth: integer,
    nodes: { type: 'array', items: ref('LineageNode') },
    edges: { type: 'array', items: ref('LineageEdge') },
    truncated: { type: 'boolean', description: `The walk stopped at its bound of ${MAX_NODES} nodes before reaching the depth.` },
  }),
  MetricName: object(
    { name: string, ...metricKind, series: { type: 'integer', description: 'Its series (attribute sets, resources) in the range.' } },
    'A metric of the pipeline or run, once per name, kind, unit, description and temporality.',
  ),
  MetricNamePage: object({
    items: { type: 'array', items: ref('MetricName') },
    next_cursor: { type: 'null', description: `Always null: every name is on one page (at most ${MAX_METRIC_NAMES}).` },
  }),
  MetricSeries: object(
    {
      ...metricSeries,
      first_time: dateTime,
      first_time_unix_nano: int64,
      last_time: dateTime,
      last_time_unix_nano: int64,
    },
    'A series of the metric: its first and last points in the range (of a run: those of the run).',
  ),
  MetricSeriesPage: page('MetricSeries', 'The series of a metric, by service name, then series id.'),
  MetricPoint: object(
    {
      time: dateTime,
      time_unix_nano: int64,
      start_time_unix_nano: nullable(int64),
      flags: { type: 'integer', description: 'OTLP DataPointFlags: 1 is a point without a recorded value.' },
      value: nullable({ ...exact, description: "A gauge's or sum's value (as_double or as_int); null for the other kinds." }),
      count: nullable({ ...exact, description: "A histogram's or summary's count; null for gauges and sums." }),
      sum: nullable(exact),
      min: nullable(exact),
      max: nullable(exact),
      bucket_counts: nullable({ ...exacts, description: "A histogram's counts per bucket of the series' explicit_bounds." }),
      exponential: nullable(
        object(
          { scale: integer, zero_count: exact, zero_threshold: exact, positive: exponentialBuckets, negative: exponentialBuckets },
          "An exponential histogram's buckets: bucket index i of scale s counts values in (base^i, base^(i+1)], base = 2^(2^-s).",
        ),
      ),
      quantile_values: nullable({ type: 'array', items: object({ quantile: exact, value: exact }), description: "A summary's quantiles, as sent." }),
      exemplars: { type: 'array', items: object({ filtered_attributes: attributes, time_unix_nano: int64, value: nullable(exact), trace_id: string, span_id: string }) },
    },
    'A point as sent (as=value).',
  ),
  MetricChange: object(
    {
      from_time: nullable(dateTime),
      from_time_unix_nano: nullable({ ...int64, description: 'Where the interval starts: the previous point, or the start time of a delta or restarted point; null when unknown.' }),
      time: dateTime,
      time_unix_nano: int64,
      value: nullable({ ...exact, description: 'The increase, the rate per second or the quantile over the interval; null when it has none (no observations, an unknown start).' }),
      reset: { type: 'boolean', description: 'A cumulative series restarted in the interval (a new start time, or a counter that dropped): its value counts from the restart.' },
    },
    'An interval ending at a point (as=increase, rate or quantile), or one step of them.',
  ),
  MetricPointSeries: object({
    ...metricSeries,
    points: { type: 'array', items: { anyOf: [ref('MetricPoint'), ref('MetricChange')] }, description: 'Oldest first: MetricPoints for as=value, MetricChanges otherwise.' },
  }),
  MetricSum: object(
    {
      time: dateTime,
      time_unix_nano: int64,
      value: nullable({ ...exact, description: "The run's series' values at this time (with step=, each one's last of the step) added up: exact while all are integers." }),
      summed: { type: 'integer', description: "How many of the run's series had a value at this time (or in this step): a series without one adds nothing." },
    },
    "A run's series' values added up (as=value by=run).",
  ),
  MetricRunPoints: object(
    {
      run_id: nullable({ ...string, description: 'The run; null for the series that name no run.' }),
      metric: string,
      ...metricKind,
      explicit_bounds: nullable({ ...exacts, description: "A histogram's bucket bounds, the same on every series added up. Null for other kinds." }),
      series: { type: 'integer', description: 'How many series of the run were added up.' },
      points: {
        type: 'array',
        items: { anyOf: [ref('MetricSum'), ref('MetricChange')] },
        description: "Oldest first: MetricSums for as=value; MetricChanges otherwise, the series' increases or rates of each time (or step) added up, or the quantile of their bucket increases added up. from_time is the earliest series' start, reset true when any series reset.",
      },
    },
    "A run's series of the metric added up (by=run): one line per run, and per kind, unit and temporality where the metric was sent with more than one.",
  ),
  MetricPoints: object({
    as: { type: 'string', enum: Object.keys(METRIC_AS) },
    quantile: nullable(number),
    step_seconds: nullable(integer),
    by: nullable({ type: 'string', enum: ['run'] }),
    series: { type: 'array', items: ref('MetricPointSeries'), description: 'Each series, without by=; empty with by=run.' },
    runs: { type: 'array', items: ref('MetricRunPoints'), description: 'Each run, with by=run, runs by their first point; empty without it.' },
  }),
  Key: object({ key_id: string, scopes: { type: 'array', items: string }, created_at: dateTime, revoked_at: nullable(dateTime) }),
  KeyPage: object({ items: { type: 'array', items: ref('Key') }, next_cursor: { type: 'null', description: 'Always null: every key is on one page.' } }),
  CreatedKey: object({ key: string, key_id: string, tenant: string, scopes: { type: 'array', items: string } }),
  Revoked: object({ revoked: string }),
  Retention: object({
    retention_days: { type: 'integer', description: 'Days kept for this tenant now.' },
    tenant_retention_days: nullable({ type: 'integer', description: "The tenant's own setting; null keeps the server's." }),
    server_retention_days: { type: 'integer', description: "The server's --retention-days: no tenant keeps longer." },
  }),
  Cleanup: object({
    retention_days: integer,
    cutoff: dateTime,
    deleted: object({ logs: integer, spans: integer, points: integer, runs: integer, stages: integer }),
  }),
  OtlpExportResponse: {
    type: 'object',
    description: 'ExportLogsServiceResponse / ExportTraceServiceResponse / ExportMetricsServiceResponse in OTLP/JSON: empty, or the partial success.',
    properties: {
      partialSuccess: {
        type: 'object',
        properties: { rejectedLogRecords: int64, rejectedSpans: int64, rejectedDataPoints: int64, errorMessage: string },
        additionalProperties: false,
      },
    },
    additionalProperties: false,
  },
  OtlpStatus: object({ code: integer, message: string }, 'google.rpc.Status in OTLP/JSON: the body of a refused request.'),
  Health: object({ status: string }),
  Ready: { type: 'object', properties: { status: string, database: string, error: string }, required: ['status'] },
};

/** An object whose `optional` properties may be absent (object() requires every property it lists). */
const partly = (properties: Record<string, JsonSchema>, optional: string[], description?: string): JsonSchema => ({
  ...object(properties, description),
  required: Object.keys(properties).filter((name) => !optional.includes(name)),
});

/** As Python's isoformat() writes it: an offset is optional (none means UTC). */
const isoTime: JsonSchema = { type: 'string', description: 'ISO 8601; without an offset, UTC' };
const createdActivity = { id: string, pipeline: string, stage: string, unknown_fields: { type: 'array', items: string } };
const refusedAt = object({ index: integer, error: string });

/** The answers and bodies of the JSON ingest routes (http/activity.ts, http/lineage.ts). */
export const INGEST_SCHEMAS: Record<string, JsonSchema> = {
  ActivityRecord: {
    type: 'object',
    description:
      "An activity record as notebook and workflow loggers post it (receiver/decode/activity.ts maps each field): a " +
      "notebook record's logged_at, or a workflow record's executed_at, tells which. Fields neither defines are kept and listed in unknown_fields.",
    properties: {
      source_system: string, stage: string, notebook_name: string, status: string, logged_at: isoTime, duration: number,
      capabilities: { type: 'array', items: string }, entity_name: string, target_table: string, row_count: integer,
      workspace_id: string, lakehouse_id: string, additional_metadata: { type: 'object' },
      environment: string, executed_at: isoTime, ticket_id: string, execution_time_seconds: number, category: string,
      resolution_status: string, workflow_version: string, metrics: { type: 'object' }, payload: {},
    },
    required: ['status'],
    additionalProperties: true,
  },
  ActivityCreated: partly(createdActivity, ['stage', 'unknown_fields'], 'The run the record became: GET /api/v1/runs/{id}.'),
  ActivityBatch: partly(
    {
      error: string,
      accepted: integer,
      rejected: integer,
      ids: { type: 'array', items: string },
      results: {
        type: 'array',
        description: 'One per record, by index.',
        items: {
          oneOf: [
            partly({ index: integer, status: { const: 'created' }, ...createdActivity }, ['stage', 'unknown_fields']),
            object({ index: integer, status: { const: 'rejected' }, error: string }),
          ],
        },
      },
    },
    ['error'],
    'error only when no record was stored (400).',
  ),
  LineageEvent: {
    type: 'object',
    description: 'An OpenLineage RunEvent, JobEvent or DatasetEvent (https://openlineage.io/spec): receiver/decode/openlineage.ts maps it.',
    properties: {
      eventType: { enum: ['START', 'RUNNING', 'COMPLETE', 'FAIL', 'ABORT', 'OTHER'] },
      eventTime: dateTime,
      run: { type: 'object', properties: { runId: { type: 'string', format: 'uuid' }, facets: { type: 'object' } }, required: ['runId'] },
      job: { type: 'object', properties: { namespace: string, name: string, facets: { type: 'object' } }, required: ['namespace', 'name'] },
      dataset: { type: 'object' },
      inputs: { type: 'array', items: { type: 'object' } },
      outputs: { type: 'array', items: { type: 'object' } },
      producer: string,
      schemaURL: string,
    },
    required: ['eventTime'],
    additionalProperties: true,
  },
  LineageAnswer: partly(
    { error: string, accepted: integer, rejected: integer, errors: { type: 'array', items: refusedAt } },
    ['error', 'errors'],
    'errors lists the refused events of an array, by index; error only when none was stored (400).',
  ),
};

export { ref };
