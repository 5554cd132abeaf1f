/**
 * Versioned schema migrations, applied in order at start by migrate.ts. Never edit a released
 * migration: add the next one. Some are built from constants of the code (the body search expression,
 * run-days.ts's figures): a change to those that changes a released migration's SQL is caught by the
 * digests in test/receiver/storage/migrations.test.ts, and needs a migration of its own.
 *
 * Every key and index starts with tenant_id so that the data tables can be distributed by tenant
 * (Citus) when one server is not enough. logs and spans are range-partitioned by day on `ts`
 * (partitions.ts creates them on demand), so retention is a partition drop.
 */
import { BODY_TSVECTOR } from './body-search.js';
import type { Queryable } from './database.js';
import { backfillLineage } from './lineage-backfill.js';
import { bucketOf, COMMON_SEVERITY_MAX } from './log-order.js';
import { fingerprintAsUuid } from './rows-csv.js';
import { addChangesSql, FIGURE_NAMES } from './run-days.js';
import { DAYS, HOURS, type SumWidth } from '../../contract/run-figures.js';
import { ATTR, EVENT } from '../../contract/vocabulary.js';

/**
 * The role dashboards read with (Grafana's PostgreSQL datasource): SELECT on the tables a dashboard shows,
 * nothing else (not api_keys). Migration 2 creates it without LOGIN where the migrating user may create
 * roles; the embedded server gives it a password and LOGIN, an operator does the same on their own server.
 */
export const READER_ROLE = 'pipemon_reader';
/** Read through their parents, logs' and spans' daily partitions need no grants of their own. */
const READABLE_TABLES = ['tenants', 'logs', 'spans', 'pipeline_runs', 'pipeline_stages'];
/** What the logs view reads since migration 4: granted too, for direct use (the view reads them as its owner). */
const LOG_TABLES = ['log_records', 'log_streams', 'logs_v1'];

/** SELECT on `tables` for the read-only role, where it exists (a migration after 2 adds tables dashboards show). */
const grantToReader = (tables: string[]) => `DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${READER_ROLE}') THEN
    GRANT SELECT ON ${tables.join(', ')} TO ${READER_ROLE};
  END IF;
END $$;
`;

/**
 * Migration 4. A log record took 1,123 bytes on disk (heap 1,024), 2.4 times its OTLP protobuf, mostly
 * for what every record of a batch repeats: the resource and scope (as jsonb, keys and all), the
 * attribute keys, and ids and fingerprint as text. Now:
 *
 * - log_streams holds, once per tenant, day, resource, scope and attribute key list, what records
 *   share; its id is a hash the writer computes (rows-csv.ts), so no round trip resolves it. It carries
 *   its day so that retention deletes streams with the partitions that used them.
 * - log_records holds each record: attribute values only (a JSON array in the stream's key order),
 *   the pipeline, run and stage attributes in their columns and not again among the values
 *   (moved_keys says which keys they came from), ids as bytea, an 8-byte fingerprint, the observed
 *   time NULL when equal to the time, the dropped count NULL when 0, flags as int4 (uint32 bits).
 * - logs, the relation everything reads, is a view with the columns and types it had: the records
 *   written before (logs_v1, the old table renamed, its partitions dropped by retention as before)
 *   and the new ones. The new arm reads the stream through scalar subqueries rather than a join: an
 *   arm of UNION ALL that is a join cannot be flattened, and ORDER BY ts LIMIT through it would then
 *   sort every row (measured), while subqueries run only for the rows returned.
 *
 * Indexes: the key (tenant, ts, fingerprint) lists newest first and makes a resend conflict; run and
 * pipeline lookups use deduplicated btrees (about 8 bytes a record, against 50-80 with ts in the key)
 * and sort what they find; a trace is found by its hex form, the view's; `q=` uses a GIN index on
 * BODY_TSVECTOR (body-search.ts), the exact expression the API matches (it costs most of the insert
 * time it adds: about 15 µs a record in the server, measured).
 */
const LOG_LAYOUT_SQL = `
ALTER TABLE logs RENAME TO logs_v1;

CREATE TABLE log_streams (
  tenant_id integer NOT NULL,
  stream_id bigint NOT NULL,
  day date NOT NULL,
  service_name text NOT NULL,
  resource_attributes jsonb NOT NULL,
  resource_schema_url text NOT NULL,
  scope_name text NOT NULL,
  scope_version text NOT NULL,
  scope_attributes jsonb NOT NULL,
  scope_schema_url text NOT NULL,
  -- JSON arrays: the keys of log_records.attribute_values, in order; and the attribute keys that the
  -- pipeline, run_id and stage columns came from (null where the column did not come from one).
  attribute_keys json NOT NULL,
  moved_keys json NOT NULL,
  PRIMARY KEY (tenant_id, stream_id)
);
CREATE INDEX log_streams_day ON log_streams (day);

-- Columns ordered widest first: no alignment padding between them.
CREATE TABLE log_records (
  ts timestamptz NOT NULL,
  fingerprint bigint NOT NULL,
  stream_id bigint NOT NULL,
  time_unix_nano bigint NOT NULL,
  observed_time_unix_nano bigint,
  dropped_attributes_count bigint,
  tenant_id integer NOT NULL,
  flags integer NOT NULL,
  severity_number smallint NOT NULL,
  severity_text text NOT NULL,
  event_name text NOT NULL,
  body text,
  trace_id bytea,
  span_id bytea,
  pipeline text,
  run_id text,
  stage text,
  attribute_values json NOT NULL,
  PRIMARY KEY (tenant_id, ts, fingerprint)
) PARTITION BY RANGE (ts);
CREATE INDEX log_records_run ON log_records (tenant_id, run_id) WHERE run_id IS NOT NULL;
-- Service and environment filters match the ids of the tenant's matching streams (query/logs.ts).
CREATE INDEX log_records_stream ON log_records (tenant_id, stream_id);
CREATE INDEX log_records_pipeline ON log_records (tenant_id, pipeline) WHERE pipeline IS NOT NULL;
CREATE INDEX log_records_trace ON log_records (tenant_id, encode(trace_id, 'hex')) WHERE trace_id IS NOT NULL;
-- A pending list of 64 kB (the least) rather than 4 MB: its pages stay allocated once flushed, and 4 MB
-- per daily partition was 130 bytes a record at 40,000 records against 30; inserts measured no slower.
CREATE INDEX log_records_body ON log_records USING gin (${BODY_TSVECTOR}) WITH (gin_pending_list_limit = 64);

CREATE FUNCTION pipemon_log_attributes(keys json, moved json, vals json, pipeline text, run_id text, stage text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT coalesce((SELECT jsonb_object_agg(k.key, v.value)
                     FROM json_array_elements_text(keys) WITH ORDINALITY AS k(key, n)
                     JOIN json_array_elements(vals) WITH ORDINALITY AS v(value, n) USING (n)), '{}'::jsonb)
      || coalesce((SELECT jsonb_object_agg(m.key, c.value)
                     FROM json_array_elements_text(moved) WITH ORDINALITY AS m(key, n)
                     JOIN unnest(ARRAY[pipeline, run_id, stage]) WITH ORDINALITY AS c(value, n) USING (n)
                    WHERE m.key IS NOT NULL), '{}'::jsonb)
$fn$;

CREATE VIEW logs AS
SELECT tenant_id, ts, fingerprint, time_unix_nano, observed_time_unix_nano, severity_number, severity_text, service_name,
       event_name, body, trace_id, span_id, flags, pipeline, run_id, stage, attributes, dropped_attributes_count,
       resource_attributes, resource_schema_url, scope_name, scope_version, scope_attributes, scope_schema_url,
       0::bigint AS stream_id
  FROM logs_v1
UNION ALL
SELECT l.tenant_id, l.ts, ${fingerprintAsUuid('l.fingerprint')}, l.time_unix_nano,
       coalesce(l.observed_time_unix_nano, l.time_unix_nano), l.severity_number, l.severity_text,
       (SELECT s.service_name FROM log_streams s WHERE s.tenant_id = l.tenant_id AND s.stream_id = l.stream_id),
       l.event_name, l.body, encode(l.trace_id, 'hex'), encode(l.span_id, 'hex'), l.flags::bigint & 4294967295,
       l.pipeline, l.run_id, l.stage,
       (SELECT pipemon_log_attributes(s.attribute_keys, s.moved_keys, l.attribute_values, l.pipeline, l.run_id, l.stage)
          FROM log_streams s WHERE s.tenant_id = l.tenant_id AND s.stream_id = l.stream_id),
       coalesce(l.dropped_attributes_count, 0),
       (SELECT s.resource_attributes FROM log_streams s WHERE s.tenant_id = l.tenant_id AND s.stream_id = l.stream_id),
       (SELECT s.resource_schema_url FROM log_streams s WHERE s.tenant_id = l.tenant_id AND s.stream_id = l.stream_id),
       (SELECT s.scope_name FROM log_streams s WHERE s.tenant_id = l.tenant_id AND s.stream_id = l.stream_id),
       (SELECT s.scope_version FROM log_streams s WHERE s.tenant_id = l.tenant_id AND s.stream_id = l.stream_id),
       (SELECT s.scope_attributes FROM log_streams s WHERE s.tenant_id = l.tenant_id AND s.stream_id = l.stream_id),
       (SELECT s.scope_schema_url FROM log_streams s WHERE s.tenant_id = l.tenant_id AND s.stream_id = l.stream_id),
       l.stream_id
  FROM log_records l;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${READER_ROLE}') THEN
    GRANT SELECT ON ${['logs', ...LOG_TABLES].join(', ')} TO ${READER_ROLE};
  END IF;
END $$;
`;

/**
 * The checks of the records stored before migration 6, as the write path derives them from new ones
 * (model/derive.ts deriveCheck; test/receiver/storage/migrations.test.ts holds the two to the same rows).
 */
export const CHECKS_FROM_LOGS = `
SELECT tenant_id, ts, fingerprint, pipeline, run_id, stage, NULLIF(attributes->>'${ATTR.checkName}', '') AS name,
       CASE lower(attributes->>'${ATTR.checkPassed}') WHEN 'true' THEN true WHEN 'false' THEN false END AS passed,
       NULLIF(attributes->'${ATTR.checkDetails}', 'null'::jsonb) AS details, body
  FROM logs WHERE event_name = '${EVENT.check}'`;

/** The two tables of a width's sums (run-days.ts), filled from the runs stored before. */
const sumTablesSql = (width: SumWidth) => `
CREATE TABLE ${width.sums} (
  tenant_id integer NOT NULL,
  pipeline text NOT NULL,
  ${width.column} ${width.type} NOT NULL,
  ${FIGURE_NAMES.map((name) => `${name} ${name.startsWith('rows_') || name === 'duration_sum' ? 'double precision' : 'bigint'} NOT NULL`).join(',\n  ')},
  PRIMARY KEY (${width.key.join(', ')})
);
CREATE TABLE ${width.durations} (
  tenant_id integer NOT NULL,
  pipeline text NOT NULL,
  ${width.column} ${width.type} NOT NULL,
  bucket smallint NOT NULL,
  runs bigint NOT NULL,
  PRIMARY KEY (${width.key.join(', ')}, bucket)
);
${addChangesSql('(SELECT 1 AS sign, * FROM pipeline_runs WHERE started_at IS NOT NULL) AS c', width).join(';\n')};
`;

/**
 * Figures of each pipeline's runs by the UTC day they started, and their durations by bucket
 * (run-days.ts); data-quality checks (CHECKS_FROM_LOGS): both kept by the write path, filled here from
 * what is stored before.
 */
const DAYS_AND_CHECKS_SQL = `${sumTablesSql(DAYS)}
-- Data-quality checks (pipeline.check records), kept by the write path with their records (under the
-- record's key), filled here from the records stored before.
CREATE TABLE pipeline_checks (
  tenant_id integer NOT NULL,
  ts timestamptz NOT NULL,
  fingerprint uuid NOT NULL,
  pipeline text,
  run_id text,
  stage text,
  name text,
  passed boolean,
  details jsonb,
  body text,
  PRIMARY KEY (tenant_id, ts, fingerprint)
);
CREATE INDEX pipeline_checks_pipeline ON pipeline_checks (tenant_id, pipeline, ts);
CREATE INDEX pipeline_checks_run ON pipeline_checks (tenant_id, run_id, ts);
INSERT INTO pipeline_checks ${CHECKS_FROM_LOGS};

-- The dashboards' panels over a time range (dashboards/grafana): runs by end, a pipeline's stages by start.
CREATE INDEX pipeline_runs_ended_at ON pipeline_runs (tenant_id, ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX pipeline_stages_pipeline ON pipeline_stages (tenant_id, pipeline, started_at);

${grantToReader(['pipeline_days', 'pipeline_day_durations', 'pipeline_checks'])}`;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Fills what the migration adds from the rows stored before, with the write path's own code. */
  backfill?: (tx: Queryable) => Promise<void>;
}

/**
 * Lineage (lineage-rows.ts): datasets by their one name, each run's and stage's reads and writes, and
 * the edges between pipelines and datasets, kept by the write path and filled from the records stored
 * before (lineage-backfill.ts). A dataset's id is the key the API names it by.
 */
const LINEAGE_SQL = `
CREATE TABLE datasets (
  tenant_id integer NOT NULL,
  dataset_id bigint GENERATED ALWAYS AS IDENTITY,
  dataset text NOT NULL,
  namespace text NOT NULL,
  name text NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  facets jsonb,
  facets_at timestamptz,
  PRIMARY KEY (tenant_id, dataset_id),
  UNIQUE (tenant_id, dataset)
);
CREATE TABLE run_datasets (
  tenant_id integer NOT NULL,
  pipeline text NOT NULL,
  run_id text NOT NULL,
  stage_run_id text NOT NULL,
  stage text NOT NULL,
  direction text NOT NULL CHECK (direction IN ('read', 'write')),
  dataset_id bigint NOT NULL,
  first_at timestamptz NOT NULL,
  at timestamptz NOT NULL,
  rows bigint,
  bytes bigint,
  PRIMARY KEY (tenant_id, pipeline, run_id, stage_run_id, direction, dataset_id)
);
CREATE INDEX run_datasets_run ON run_datasets (tenant_id, run_id);
CREATE INDEX run_datasets_dataset ON run_datasets (tenant_id, dataset_id, direction, at DESC);
CREATE TABLE lineage_edges (
  tenant_id integer NOT NULL,
  pipeline text NOT NULL,
  stage text NOT NULL,
  direction text NOT NULL CHECK (direction IN ('read', 'write')),
  dataset_id bigint NOT NULL,
  first_at timestamptz NOT NULL,
  last_at timestamptz NOT NULL,
  last_run_id text NOT NULL,
  rows bigint,
  bytes bigint,
  PRIMARY KEY (tenant_id, pipeline, stage, direction, dataset_id)
);
CREATE INDEX lineage_edges_dataset ON lineage_edges (tenant_id, dataset_id, direction);

${grantToReader(['datasets', 'run_datasets', 'lineage_edges'])}`;

/**
 * Migration 9: the filters of the logs API walk an index in time order (log-order.ts), so that a page
 * reads about its own records, from the first page to the last, instead of sorting all of a pipeline's.
 * The pipeline index gains the ten minutes of the time (replacing migration 4's, which listed a pipeline's
 * records in storage order), the stage gets one, and the records above INFO get two partial ones (all of
 * them, and by pipeline). A run's records stay found by migration 4's index and sorted: a run has tens of
 * them, and by the minute that index took 48 bytes a record where it takes 19 (bench:query's world). On a
 * partitioned table each statement reaches every partition, and ensure() makes new partitions with them.
 */
const LOG_ORDER_SQL = `
DROP INDEX log_records_pipeline;
CREATE INDEX log_records_pipeline_bucket ON log_records (tenant_id, pipeline, ${bucketOf('ts')}) WHERE pipeline IS NOT NULL;
CREATE INDEX log_records_stage_bucket ON log_records (tenant_id, stage, ${bucketOf('ts')}) WHERE stage IS NOT NULL;
CREATE INDEX log_records_severe_bucket ON log_records (tenant_id, ${bucketOf('ts')}) WHERE severity_number > ${COMMON_SEVERITY_MAX};
CREATE INDEX log_records_severe_pipeline_bucket ON log_records (tenant_id, pipeline, ${bucketOf('ts')})
  WHERE severity_number > ${COMMON_SEVERITY_MAX} AND pipeline IS NOT NULL;
`;

/**
 * Migration 14: OTLP metrics, laid out as log records are (migration 4). metric_streams holds, once per
 * tenant, day and series, what a series' points share: resource, scope, the metric's name, kind, unit and
 * temporality, the point attributes, a histogram's bounds, and the pipeline, run and stage the attributes or
 * the resource name (metric-csv.ts). Its id is a hash the writer computes, and series_id the same hash
 * without the day, which the API names a series by across days.
 *
 * metric_points holds each point: its stream, times, and the value columns of its kind, with NULL where
 * the kind has none. Its key (tenant, stream, time) lists a series in time order and makes a resent point
 * conflict, so it is stored once. Partitions are UTC days of time_unix_nano itself: a timestamptz column
 * beside it would cost 16 bytes a point with its index entry. A point whose exemplar names a trace keeps
 * that trace, so that a run finds the points its trace measured without its id on them.
 */
const METRICS_SQL = `
CREATE TABLE metric_streams (
  tenant_id integer NOT NULL,
  stream_id bigint NOT NULL,
  day date NOT NULL,
  series_id bigint NOT NULL,
  service_name text NOT NULL,
  metric_name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('gauge', 'sum', 'histogram', 'exponential_histogram', 'summary')),
  -- OTLP AggregationTemporality: 0 unspecified (gauges, summaries), 1 delta, 2 cumulative.
  temporality smallint NOT NULL,
  monotonic boolean NOT NULL,
  unit text NOT NULL,
  description text NOT NULL,
  pipeline text,
  run_id text,
  stage text,
  attributes jsonb NOT NULL,
  explicit_bounds double precision[],
  metadata jsonb NOT NULL,
  resource_attributes jsonb NOT NULL,
  resource_schema_url text NOT NULL,
  scope_name text NOT NULL,
  scope_version text NOT NULL,
  scope_attributes jsonb NOT NULL,
  scope_schema_url text NOT NULL,
  PRIMARY KEY (tenant_id, stream_id)
);
CREATE INDEX metric_streams_day ON metric_streams (day);
CREATE INDEX metric_streams_run ON metric_streams (tenant_id, run_id, metric_name) WHERE run_id IS NOT NULL;
CREATE INDEX metric_streams_pipeline ON metric_streams (tenant_id, pipeline, metric_name, day) WHERE pipeline IS NOT NULL;
CREATE INDEX metric_streams_name ON metric_streams (tenant_id, metric_name, day);
-- A series' streams, day by day: the API's series_id filter, and a point's predecessor for increases.
CREATE INDEX metric_streams_series ON metric_streams (tenant_id, series_id, day);

-- Columns ordered widest first after the two int4s: no alignment padding between them.
CREATE TABLE metric_points (
  tenant_id integer NOT NULL,
  flags integer,
  stream_id bigint NOT NULL,
  time_unix_nano bigint NOT NULL,
  start_time_unix_nano bigint,
  -- A gauge's or sum's as_double, a histogram's or summary's sum.
  value double precision,
  int_value bigint,
  count bigint,
  min double precision,
  max double precision,
  -- Against the stream's explicit_bounds.
  bucket_counts bigint[],
  trace_id bytea,
  -- {"scale", "zero_count", "zero_threshold", "positive": {"offset", "bucket_counts"}, "negative": ...}
  exponential json,
  -- [[quantile, value], ...]
  quantile_values json,
  exemplars json,
  PRIMARY KEY (tenant_id, stream_id, time_unix_nano)
) PARTITION BY RANGE (time_unix_nano);
CREATE INDEX metric_points_trace ON metric_points (tenant_id, trace_id) WHERE trace_id IS NOT NULL;

${grantToReader(['metric_streams', 'metric_points'])}`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tenants, keys, logs, spans, pipeline runs and stages',
    sql: `
CREATE TABLE tenants (
  tenant_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A key reads pm_<tenant_id>_<key_id>_<secret>; only the SHA-256 of the whole key is stored.
CREATE TABLE api_keys (
  tenant_id integer NOT NULL REFERENCES tenants,
  key_id text NOT NULL,
  key_hash bytea NOT NULL,
  scopes text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, key_id)
);

-- Close to the OTLP data model (and the Collector's ClickHouse otel_logs table).
-- fingerprint: a hash of the record's content, so that a resent record conflicts instead of
-- being stored twice. pipeline, run_id and stage are copied out of the attributes for queries.
CREATE TABLE logs (
  tenant_id integer NOT NULL,
  ts timestamptz NOT NULL,
  fingerprint uuid NOT NULL,
  time_unix_nano bigint NOT NULL,
  observed_time_unix_nano bigint NOT NULL,
  severity_number smallint NOT NULL,
  severity_text text NOT NULL,
  service_name text NOT NULL,
  event_name text NOT NULL,
  body text,
  trace_id text,
  span_id text,
  flags bigint NOT NULL,
  pipeline text,
  run_id text,
  stage text,
  attributes jsonb NOT NULL,
  dropped_attributes_count bigint NOT NULL,
  resource_attributes jsonb NOT NULL,
  resource_schema_url text NOT NULL,
  scope_name text NOT NULL,
  scope_version text NOT NULL,
  scope_attributes jsonb NOT NULL,
  scope_schema_url text NOT NULL,
  PRIMARY KEY (tenant_id, ts, fingerprint)
) PARTITION BY RANGE (ts);
CREATE INDEX logs_trace ON logs (tenant_id, trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX logs_run ON logs (tenant_id, run_id, ts) WHERE run_id IS NOT NULL;
CREATE INDEX logs_pipeline ON logs (tenant_id, pipeline, ts) WHERE pipeline IS NOT NULL;

-- ts is the span's start: a resent span carries the same start, so the key conflicts.
CREATE TABLE spans (
  tenant_id integer NOT NULL,
  ts timestamptz NOT NULL,
  trace_id text NOT NULL,
  span_id text NOT NULL,
  parent_span_id text,
  trace_state text NOT NULL,
  flags bigint NOT NULL,
  name text NOT NULL,
  kind smallint NOT NULL,
  start_time_unix_nano bigint NOT NULL,
  end_time_unix_nano bigint NOT NULL,
  duration_ns bigint NOT NULL,
  status_code smallint NOT NULL,
  status_message text NOT NULL,
  service_name text NOT NULL,
  pipeline text,
  run_id text,
  stage text,
  attributes jsonb NOT NULL,
  events jsonb NOT NULL,
  links jsonb NOT NULL,
  dropped_attributes_count bigint NOT NULL,
  dropped_events_count bigint NOT NULL,
  dropped_links_count bigint NOT NULL,
  resource_attributes jsonb NOT NULL,
  resource_schema_url text NOT NULL,
  scope_name text NOT NULL,
  scope_version text NOT NULL,
  scope_attributes jsonb NOT NULL,
  scope_schema_url text NOT NULL,
  PRIMARY KEY (tenant_id, ts, trace_id, span_id)
) PARTITION BY RANGE (ts);
CREATE INDEX spans_trace ON spans (tenant_id, trace_id);

-- Derived in the same transaction as the records they come from (derive.ts).
CREATE TABLE pipeline_runs (
  tenant_id integer NOT NULL,
  run_id text NOT NULL,
  pipeline text NOT NULL,
  service_name text,
  state text NOT NULL CHECK (state IN ('running', 'ended')),
  result text CHECK (result IN ('success', 'failure', 'error', 'timeout', 'cancellation', 'skip')),
  started_at timestamptz,
  ended_at timestamptz,
  duration_seconds double precision,
  last_seen_at timestamptz NOT NULL,
  rows_read bigint,
  rows_written bigint,
  rows_rejected bigint,
  error_type text,
  error_message text,
  target_namespace text,
  target_collection text,
  source_system text,
  trace_id text,
  attributes jsonb NOT NULL,
  PRIMARY KEY (tenant_id, run_id)
);
CREATE INDEX pipeline_runs_pipeline ON pipeline_runs (tenant_id, pipeline, started_at DESC);
CREATE INDEX pipeline_runs_started ON pipeline_runs (tenant_id, started_at DESC);
CREATE INDEX pipeline_runs_running ON pipeline_runs (tenant_id, pipeline) WHERE state = 'running';

CREATE TABLE pipeline_stages (
  tenant_id integer NOT NULL,
  run_id text NOT NULL,
  stage_run_id text NOT NULL,
  stage text NOT NULL,
  pipeline text NOT NULL,
  state text NOT NULL CHECK (state IN ('running', 'ended')),
  result text CHECK (result IN ('success', 'failure', 'error', 'timeout', 'cancellation', 'skip')),
  started_at timestamptz,
  ended_at timestamptz,
  duration_seconds double precision,
  rows_read bigint,
  rows_written bigint,
  rows_rejected bigint,
  error_type text,
  error_message text,
  target_namespace text,
  target_collection text,
  span_id text,
  attributes jsonb NOT NULL,
  PRIMARY KEY (tenant_id, run_id, stage_run_id)
);
`,
  },
  {
    version: 2,
    name: 'a read-only role for dashboards',
    sql: `
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${READER_ROLE}') THEN
    IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
      RAISE NOTICE 'pipemon: no role ${READER_ROLE}, and % may not create roles: ask an administrator to CREATE ROLE ${READER_ROLE} LOGIN PASSWORD ... and GRANT SELECT ON ${READABLE_TABLES.join(', ')} TO ${READER_ROLE}', current_user;
      RETURN;
    END IF;
    BEGIN
      CREATE ROLE ${READER_ROLE} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      -- Roles belong to the whole server: another database's migration created it at the same moment.
      NULL;
    END;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO ${READER_ROLE}', current_schema());
  GRANT SELECT ON ${READABLE_TABLES.join(', ')} TO ${READER_ROLE};
END $$;
`,
  },
  {
    version: 3,
    name: 'a run or stage whose start is an estimate says so; a run keeps its environment',
    // Runs are listed by start, so a run first seen from its end gets an estimated one; knowing which
    // starts are estimates lets the real start replace it and the duration be measured (model/runs.ts).
    sql: `
ALTER TABLE pipeline_runs ADD COLUMN start_estimated boolean NOT NULL DEFAULT false;
ALTER TABLE pipeline_stages ADD COLUMN start_estimated boolean NOT NULL DEFAULT false;
-- The environment of a run's records, for GET /api/v1/runs?environment= (null for runs stored before).
ALTER TABLE pipeline_runs ADD COLUMN environment text;
`,
  },
  {
    version: 4,
    name: 'log records in a slimmer layout, their resource, scope and attribute keys stored once per stream',
    sql: LOG_LAYOUT_SQL,
  },
  {
    version: 5,
    name: 'retention per tenant; runs by duration; ended runs by pipeline',
    // retention_days null: the server's --retention-days. The index serves GET /api/v1/runs?sort=duration
    // (either direction): without it, that sort reads every run of the tenant.
    sql: `
ALTER TABLE tenants ADD COLUMN retention_days integer CHECK (retention_days >= 1);
CREATE INDEX pipeline_runs_duration ON pipeline_runs (tenant_id, duration_seconds, run_id) WHERE duration_seconds IS NOT NULL;
-- Each pipeline's ended runs by end: its latest run, last success and failures since (pipeline-state.ts).
CREATE INDEX pipeline_runs_ended ON pipeline_runs (tenant_id, pipeline, ended_at DESC) WHERE state = 'ended' AND ended_at IS NOT NULL;
`,
  },
  {
    version: 6,
    name: "each pipeline's runs summed by day; data-quality checks kept apart from their records; indexes for the dashboards' ranges",
    sql: DAYS_AND_CHECKS_SQL,
  },
  {
    version: 7,
    name: "a run keeps what it reported itself where it shows its stages' failure, rows or start",
    // The row shows a run as model/runs.ts rollUp() completes it from its stages; this column keeps the
    // run's own figures that it replaced (and a producer's start hint), so that the next merge starts
    // from what the run reported, not from what it showed. Null for nearly every run.
    sql: `ALTER TABLE pipeline_runs ADD COLUMN reported jsonb;`,
  },
  {
    version: 8,
    name: 'lineage: datasets, what each run read and wrote, and the edges between pipelines and datasets',
    sql: LINEAGE_SQL,
    backfill: backfillLineage,
  },
  {
    version: 9,
    name: "the logs filters find their records in time order: a pipeline's and a stage's by ten minutes, and the records above INFO",
    sql: LOG_ORDER_SQL,
  },
  {
    version: 10,
    name: "the read-only role's sessions compile no plans (JIT off), as pipemon's own do",
    // Grafana connects as the reader with the server's defaults: on a server built with JIT (Debian's),
    // compiling the plan of the overview's status panel took 210 ms of its 340 at 10 M records.
    sql: `
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${READER_ROLE}') THEN
    ALTER ROLE ${READER_ROLE} SET jit = off;
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'pipemon: % may not alter role ${READER_ROLE}: ask an administrator to ALTER ROLE ${READER_ROLE} SET jit = off, or the dashboards compile their plans', current_user;
END $$;
`,
  },
  {
    version: 11,
    name: "each pipeline's runs summed by hour, as by day: the partial days of a range read hours rather than runs",
    // Grafana's default range, the last 24 hours, holds no whole day: its figures read every run (33 K at
    // 10 M records); by hour they read 23 hours' sums and the runs of the two partial hours.
    sql: `${sumTablesSql(HOURS)}
${grantToReader([HOURS.sums, HOURS.durations])}`,
  },
  {
    version: 12,
    name: "a pipeline's records of one stage are counted, and found when few, through an index of the pair",
    // Without the time, the pair's records share one key a partition, deduplicated: a few bytes a record
    // (log-order.ts says what reads it).
    sql: `CREATE INDEX log_records_pipeline_stage ON log_records (tenant_id, pipeline, stage) WHERE stage IS NOT NULL;`,
  },
  {
    version: 13,
    name: 'the runs that did not succeed, by result and start: a runs list by result finds them rather than walking every run',
    // Without it, a result that is rare or absent (error, timeout, skip) walked all of a tenant's runs
    // newest first: 490 ms for none of a million runs, 0.05 ms with it. Successes are most runs and
    // are found at once by the start index, so they stay out of this one.
    sql: `CREATE INDEX pipeline_runs_unsuccessful ON pipeline_runs (tenant_id, result, started_at DESC) WHERE result <> 'success';`,
  },
  {
    version: 14,
    name: 'OTLP metrics: series once per day in metric_streams, their points in metric_points by day',
    sql: METRICS_SQL,
  },
];
