/**
 * The dashboards' template variables. Tenant and pipeline lists come from PostgreSQL (every pipeline
 * that ever reported, not only those Prometheus saw since the receiver started); the receiver's own
 * instances from Prometheus.
 *
 * "All" is expanded by Grafana into every option unless the variable has a custom allValue, which
 * Grafana inserts as is, unformatted. Tenant and pipeline keep the expansion, because PromQL and SQL
 * both read them; environment (and pipeline on the logs dashboard) are SQL-only and use SQL_ALL, so
 * that All also keeps the records that carry no environment (or no pipeline).
 */
import {
  CustomVariableBuilder,
  QueryVariableBuilder,
  TextBoxVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { POSTGRES, PROMETHEUS } from './datasources.js';
import { sqlText } from './queries-builders.js';
import { SELECTED_TENANTS_PIPELINES, SEVERITIES, SQL_ALL, pipelineStreamsIs, tenantIs } from './filters.js';
import { ALL } from './interpolate.js';

const ALL_SELECTED = { text: 'All', value: ALL };

function sqlVariable(name: string, label: string, text: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(POSTGRES)
    .query(text)
    .definition(text)
    .allowCustomValue(false)
    .sort(VariableSort.Disabled);
}

/** Multi-value with All on the overview and logs; one tenant on the pipeline and run dashboards. */
export function tenantVariable(multi: boolean): QueryVariableBuilder {
  const variable = sqlVariable('tenant', 'Tenant', 'SELECT name FROM tenants ORDER BY name').refresh(VariableRefresh.OnDashboardLoad);
  return multi ? variable.multi(true).includeAll(true).current(ALL_SELECTED) : variable.multi(false).includeAll(false);
}

export interface PipelineVariableOptions {
  multi: boolean;
  /** All as SQL_ALL rather than the list of pipelines: for SQL-only dashboards whose records may have no pipeline. */
  sqlAll?: boolean;
}

export function pipelineVariable({ multi, sqlAll = false }: PipelineVariableOptions): QueryVariableBuilder {
  const variable = sqlVariable(
    'pipeline',
    'Pipeline',
    sqlText`
    ${SELECTED_TENANTS_PIPELINES}
    SELECT DISTINCT pipeline FROM pipelines ORDER BY 1`,
  ).refresh(VariableRefresh.OnDashboardLoad);
  if (!multi) return variable.multi(false).includeAll(false);
  variable.multi(true).includeAll(true).current(ALL_SELECTED);
  return sqlAll ? variable.allValue(SQL_ALL) : variable;
}

/**
 * `deployment.environment.name` of the runs started in the time range, as each run keeps it (the resource
 * attribute of its records, stored with the run since migration 3): read from the runs, through their
 * start index, not from their records.
 */
export function environmentVariable(): QueryVariableBuilder {
  return sqlVariable(
    'environment',
    'Environment',
    sqlText`
    SELECT DISTINCT r.environment
    FROM pipeline_runs r
    JOIN tenants t ON t.tenant_id = r.tenant_id
    WHERE ${tenantIs('t')}
      AND $__timeFilter(r.started_at)
      AND r.environment IS NOT NULL
    ORDER BY 1`,
  )
    .description('deployment.environment.name of the runs; All includes runs that declare none')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .multi(true)
    .includeAll(true)
    .allValue(SQL_ALL)
    .current(ALL_SELECTED);
}

/** The runs of the selected pipeline in the time range, newest first, labelled with start and result. */
export function runVariable(): QueryVariableBuilder {
  return sqlVariable(
    'run_id',
    'Run',
    sqlText`
    SELECT r.run_id AS __value,
           concat_ws(' ', to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), coalesce(r.result, r.state), r.run_id) AS __text
    FROM pipeline_runs r
    JOIN tenants t ON t.tenant_id = r.tenant_id
    WHERE ${tenantIs('t')}
      AND r.pipeline = \${pipeline:sqlstring}
      AND $__timeFilter(r.started_at)
    ORDER BY r.started_at DESC
    LIMIT 500`,
  )
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .multi(false)
    .includeAll(false);
}

/** The names of the metrics the selected pipeline reported on the days of the time range (metric_streams). */
export function metricVariable(): QueryVariableBuilder {
  return sqlVariable(
    'metric',
    'Metric',
    sqlText`
    SELECT DISTINCT ms.metric_name
    FROM metric_streams ms
    WHERE ${pipelineStreamsIs('ms')}
    ORDER BY 1`,
  )
    .description('An application metric of the pipeline (OTLP metrics), for the Metrics reported row')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .multi(false)
    .includeAll(false);
}

/** OpenTelemetry severity ranges (1-4 TRACE ... 21-24 FATAL), by their range number. */
export function severityVariable(): CustomVariableBuilder {
  return new CustomVariableBuilder('severity')
    .label('Severity')
    .values(SEVERITIES.map(([name, bucket]) => `${name} : ${bucket}`).join(','))
    .multi(true)
    .includeAll(true)
    .allowCustomValue(false)
    .current(ALL_SELECTED);
}

export function searchVariable(): TextBoxVariableBuilder {
  return new TextBoxVariableBuilder('search')
    .label('Search')
    .description('Text in the message or attributes (ILIKE, % and _ are wildcards), or a web search expression: "disk full" -retry')
    .defaultValue('')
    .current({ text: '', value: '' });
}

export function runIdTextVariable(): TextBoxVariableBuilder {
  return new TextBoxVariableBuilder('run_id').label('Run id').description('Only the records of this run').defaultValue('').current({ text: '', value: '' });
}

/** The receivers Prometheus scrapes; `.+` as All so that PromQL needs no list of them. */
export function instanceVariable(): QueryVariableBuilder {
  const query = 'label_values(pipemon_writer_queue_limit_bytes, instance)';
  return new QueryVariableBuilder('instance')
    .label('Receiver')
    .datasource(PROMETHEUS)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.+')
    .allowCustomValue(false)
    .current(ALL_SELECTED);
}
