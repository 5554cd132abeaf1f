/**
 * Versioned schema migrations, applied in order at start by migrate.ts. Never edit a released
 * migration: add the next one.
 *
 * Every key and index starts with tenant_id so that the data tables can be distributed by tenant
 * (Citus) when one server is not enough. logs and spans are range-partitioned by day on `ts`
 * (partitions.ts creates them on demand), so retention is a partition drop.
 */

/**
 * The role dashboards read with (Grafana's PostgreSQL datasource): SELECT on the tables a dashboard shows,
 * nothing else (not api_keys). Migration 2 creates it without LOGIN where the migrating user may create
 * roles; the embedded server gives it a password and LOGIN, an operator does the same on their own server.
 */
export const READER_ROLE = 'pipemon_reader';
/** Read through their parents, logs' and spans' daily partitions need no grants of their own. */
const READABLE_TABLES = ['tenants', 'logs', 'spans', 'pipeline_runs', 'pipeline_stages'];

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

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
    name: 'a run or stage whose start is an estimate says so',
    // Runs are listed by start, so a run first seen from its end gets an estimated one; knowing which
    // starts are estimates lets the real start replace it and the duration be measured (model/runs.ts).
    sql: `
ALTER TABLE pipeline_runs ADD COLUMN start_estimated boolean NOT NULL DEFAULT false;
ALTER TABLE pipeline_stages ADD COLUMN start_estimated boolean NOT NULL DEFAULT false;
`,
  },
  {
    version: 5,
    name: 'retention per tenant; runs by duration',
    // Version 4 is the storage layout's (issue 10), built beside this one.
    // retention_days null: the server's --retention-days. The index serves GET /api/v1/runs?sort=duration
    // (either direction): without it, that sort reads every run of the tenant.
    sql: `
ALTER TABLE tenants ADD COLUMN retention_days integer CHECK (retention_days >= 1);
CREATE INDEX pipeline_runs_duration ON pipeline_runs (tenant_id, duration_seconds, run_id) WHERE duration_seconds IS NOT NULL;
`,
  },
];
