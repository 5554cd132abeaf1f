/**
 * One pipeline: its state now (Prometheus), and its runs, stages, rows, errors, data-quality checks and
 * the metrics its applications reported in the time range (PostgreSQL).
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { pipelineFacts } from '../../contract/pipeline-facts.js';
import { ATTR, EVENT } from '../../contract/vocabulary.js';
import { dataHealthWordsSql, statusSql } from './attention.js';
import { finish, pipemonDashboard } from './dashboard-base.js';
import { FAILED_SQL, logEnvironmentIs, ofRunEnvironmentIs, ONE_TENANT_ID, promPipelines, runEnvironmentIs, tenantIs } from './filters.js';
import { UID, linkTo } from './links.js';
import { prom, sql, sqlText } from './queries-builders.js';
import {
  RESULT_MAPPINGS,
  STATUS_MAPPINGS,
  barGaugePanel,
  linkColumn,
  resultColumn,
  statPanel,
  tablePanel,
  thresholds,
  timeSeriesPanel,
  unitColumn,
  zeroIsGood,
} from './panels.js';
import { metricOverTime, pipelineLastValues } from './metrics.js';
import { environmentVariable, metricVariable, pipelineVariable, tenantVariable } from './variables.js';

const SELECTOR = promPipelines(false);

const toRun = linkTo(UID.run, 'Run ${__value.raw}', ['${tenant:queryparam}', '${pipeline:queryparam}', 'var-run_id=${__value.raw:percentencode}']);

/**
 * The runs `r` of the dashboard's one tenant and pipeline: by equalities, which let an index on (tenant,
 * pipeline, started_at) return them in start order where `= ANY(ARRAY[...])` and a join to tenants do not.
 */
const PIPELINE_RUNS = sqlText`
  FROM pipeline_runs r
  WHERE r.tenant_id = ${ONE_TENANT_ID}
    AND r.pipeline = \${pipeline:sqlstring}
    AND ${runEnvironmentIs('r')}`;

/** Those started in the time range. */
const RUNS_IN_RANGE = sqlText`
  ${PIPELINE_RUNS}
    AND $__timeFilter(r.started_at)`;

/** The pipeline's data-quality checks `c` in the time range (pipeline_checks: read once, when stored). */
const CHECKS_IN_RANGE = sqlText`
  FROM pipeline_checks c
  WHERE c.tenant_id = ${ONE_TENANT_ID}
    AND c.pipeline = \${pipeline:sqlstring}
    AND ${ofRunEnvironmentIs('c')}
    AND $__timeFilter(c.ts)`;

/** The log records `l` of the pipeline in the time range. */
const LOGS_IN_RANGE = sqlText`
  FROM logs l
  JOIN tenants t ON t.tenant_id = l.tenant_id
  WHERE ${tenantIs('t')}
    AND l.pipeline = \${pipeline:sqlstring}
    AND ${logEnvironmentIs('l')}
    AND $__timeFilter(l.ts)`;

export function pipelineDashboard(): Dashboard {
  const builder = pipemonDashboard(UID.pipeline, 'One pipeline: its state now, and its runs, stages, rows, errors, checks and reported metrics in the time range.')
    .withVariable(tenantVariable(false))
    .withVariable(pipelineVariable({ multi: false }))
    .withVariable(environmentVariable())
    .withVariable(metricVariable())

    .withRow(new RowBuilder('Now'))
    .withPanel(
      statPanel(
        'Status',
        // The one pipeline as the `pipelines` its facts are read for (receiver/query/pipeline-state.ts).
        sql(sqlText`
          WITH pipelines AS (
            SELECT t.tenant_id, t.name AS tenant, \${pipeline:sqlstring}::text AS pipeline
            FROM tenants t
            WHERE t.name = \${tenant:sqlstring}
          ),
          facts AS (
            ${pipelineFacts(runEnvironmentIs)}
          )
          SELECT ${statusSql('f')} AS "Status",
                 ${dataHealthWordsSql('f')} AS "Data health"
          FROM facts f`),
        {
          textField: 'Status',
          description:
            'Its status now, as the web view and the alerts judge it: failing, stuck, late, warning (its latest ended run failed a data-quality check, rejected rows or wrote 0 rows: see Failed checks and Rows rejected), running, ok.',
        },
      ).mappings(STATUS_MAPPINGS),
    )
    .withPanel(
      statPanel(
        'Latest run',
        // Newest start first, as pipeline_runs_pipeline orders them.
        sql(sqlText`
          SELECT CASE WHEN r.state = 'running' THEN 'running' ELSE r.result END AS "Result"
          ${PIPELINE_RUNS}
            AND r.started_at IS NOT NULL
          ORDER BY r.started_at DESC
          LIMIT 1`),
        { textField: 'Result', description: 'The result of the latest run, or running.' },
      ).mappings(RESULT_MAPPINGS),
    )
    .withPanel(
      statPanel('Failures in a row', prom(`max(pipemon_pipeline_consecutive_failures{${SELECTOR}})`, { instant: true }), {
        description: 'Ended runs that failed since the last success.',
      }).thresholds(zeroIsGood()),
    )
    .withPanel(
      statPanel('Since last success', prom(`time() - max(pipemon_pipeline_last_success_timestamp_seconds{${SELECTOR}})`, { instant: true }), {
        unit: 's',
      }),
    )
    .withPanel(
      statPanel('Expected interval', prom(`max(pipemon_pipeline_expected_interval_seconds{${SELECTOR}})`, { instant: true }), {
        unit: 's',
        description: `Declared by the pipeline (${ATTR.expectedIntervalSeconds}), or the median gap between its latest run starts.`,
      }),
    )
    .withPanel(
      statPanel('Latest run duration', prom(`max(pipemon_pipeline_last_run_duration_seconds{${SELECTOR}})`, { instant: true }), {
        unit: 's',
        description: 'Duration of the latest ended run.',
      }),
    )
    .withPanel(
      statPanel('Failed checks, latest run', prom(`sum(pipemon_pipeline_last_run_failed_checks{${SELECTOR}})`, { instant: true }), {
        description: 'Data-quality checks that failed in the latest ended run.',
      }).thresholds(zeroIsGood()),
    )

    .withRow(new RowBuilder('In the time range'))
    .withPanel(statPanel('Runs', sql(`SELECT count(*) AS "Runs"\n${RUNS_IN_RANGE}`), { description: 'Runs started in the time range.' }))
    .withPanel(
      statPanel('Success rate', sql(`SELECT avg((r.result = 'success')::int) AS "Success rate"\n${RUNS_IN_RANGE}\n  AND r.result IN ('success', ${FAILED_SQL})`), {
        unit: 'percentunit',
      }).thresholds(thresholds({ value: null, color: 'red' }, { value: 0.9, color: 'orange' }, { value: 0.99, color: 'green' })),
    )
    .withPanel(
      statPanel('p95 duration', sql(`SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY r.duration_seconds) AS "p95 duration"\n${RUNS_IN_RANGE}`), {
        unit: 's',
      }),
    )
    .withPanel(statPanel('Rows written', sql(`SELECT coalesce(sum(r.rows_written), 0) AS "Rows written"\n${RUNS_IN_RANGE}`), { unit: 'short' }))
    .withPanel(
      statPanel('Rows rejected', sql(`SELECT coalesce(sum(r.rows_rejected), 0) AS "Rows rejected"\n${RUNS_IN_RANGE}`), { unit: 'short' }).thresholds(
        zeroIsGood(),
      ),
    )
    .withPanel(
      statPanel(
        'Failed checks',
        sql(`SELECT count(*) AS "Failed checks"\n${CHECKS_IN_RANGE}\n  AND NOT c.passed`),
      ).thresholds(zeroIsGood()),
    )

    .withRow(new RowBuilder('Runs'))
    .withPanel(
      tablePanel(
        'Run history',
        sql(sqlText`
          SELECT r.started_at AS "Started",
                 r.run_id AS "Run",
                 CASE WHEN r.state = 'running' THEN 'running' ELSE r.result END AS "Result",
                 r.duration_seconds AS "Duration",
                 r.rows_read AS "Read",
                 r.rows_written AS "Written",
                 r.rows_rejected AS "Rejected",
                 r.error_type AS "Error type",
                 r.error_message AS "Error"
          ${RUNS_IN_RANGE}
          ORDER BY r.started_at DESC
          LIMIT 500`),
        { size: { w: 24, h: 10 }, description: 'Runs started in the time range, newest first; a run id opens the run.' },
      )
        .overrideByName('Run', linkColumn(toRun))
        .overrideByName('Result', resultColumn())
        .overrideByName('Duration', unitColumn('s')),
    )
    .withPanel(
      timeSeriesPanel(
        'Run durations',
        [
          sql(
            sqlText`
            SELECT r.started_at AS "time",
                   r.result AS metric,
                   r.duration_seconds AS duration
            ${RUNS_IN_RANGE}
              AND r.duration_seconds IS NOT NULL
            ORDER BY 1`,
            'time_series',
          ),
        ],
        { unit: 's', description: 'Each ended run at its start, by result.' },
      ).showPoints(common.VisibilityMode.Always),
    )
    .withPanel(
      timeSeriesPanel(
        'Stage durations',
        [
          sql(
            sqlText`
            SELECT s.started_at AS "time",
                   s.stage AS metric,
                   s.duration_seconds AS duration
            FROM pipeline_stages s
            JOIN tenants t ON t.tenant_id = s.tenant_id
            WHERE ${tenantIs('t')}
              AND s.pipeline = \${pipeline:sqlstring}
              AND ${ofRunEnvironmentIs('s')}
              AND s.duration_seconds IS NOT NULL
              AND $__timeFilter(s.started_at)
            ORDER BY 1`,
            'time_series',
          ),
        ],
        { unit: 's', description: 'Each ended stage at its start, by stage.' },
      ).showPoints(common.VisibilityMode.Always),
    )

    .withRow(new RowBuilder('Rows'))
    .withPanel(
      tablePanel(
        'Rows per stage and target',
        sql(sqlText`
          SELECT s.stage AS "Stage",
                 concat_ws('.', s.target_namespace, s.target_collection) AS "Target",
                 count(*) AS "Stage runs",
                 sum(s.rows_read) AS "Read",
                 sum(s.rows_written) AS "Written",
                 sum(s.rows_rejected) AS "Rejected"
          FROM pipeline_stages s
          JOIN tenants t ON t.tenant_id = s.tenant_id
          WHERE ${tenantIs('t')}
            AND s.pipeline = \${pipeline:sqlstring}
            AND ${ofRunEnvironmentIs('s')}
            AND $__timeFilter(s.started_at)
          GROUP BY 1, 2
          ORDER BY 1, 2`),
        { size: { w: 12, h: 8 }, description: 'Rows the stages reported in the time range, by stage and target (db.namespace.db.collection.name).' },
      ),
    )
    .withPanel(
      barGaugePanel('Latest run rows', prom(`sum by (kind) (pipemon_pipeline_last_run_rows{${SELECTOR}})`, { instant: true, legend: '{{kind}}' }), {
        unit: 'short',
        description: 'Rows read, written and rejected by the latest ended run.',
      }),
    )
    .withPanel(
      timeSeriesPanel(
        'Rows per run',
        [
          sql(
            sqlText`
            SELECT r.ended_at AS "time",
                   r.rows_read AS "read",
                   r.rows_written AS "written",
                   r.rows_rejected AS "rejected"
            ${RUNS_IN_RANGE}
              AND r.ended_at IS NOT NULL
            ORDER BY 1`,
            'time_series',
          ),
        ],
        { unit: 'short', size: { w: 24, h: 8 }, description: 'Each ended run\'s rows, at its end.' },
      ).showPoints(common.VisibilityMode.Always),
    )

    .withRow(new RowBuilder('Errors and checks'))
    .withPanel(
      tablePanel(
        'Recent errors',
        sql(sqlText`
          SELECT l.ts AS "Time",
                 l.run_id AS "Run",
                 l.stage AS "Stage",
                 coalesce(l.attributes->>'${ATTR.errorType}', l.attributes->>'${ATTR.exceptionType}') AS "Error type",
                 l.body AS "Message"
          ${LOGS_IN_RANGE}
            AND l.severity_number >= 17
          ORDER BY l.ts DESC
          LIMIT 200`),
        { size: { w: 12, h: 8 }, description: 'Log records of severity ERROR or above, newest first.' },
      ).overrideByName('Run', linkColumn(toRun)),
    )
    .withPanel(
      tablePanel(
        'Failures by error type',
        sql(sqlText`
          SELECT coalesce(r.error_type, r.result) AS "Error type",
                 count(*) AS "Runs",
                 max(r.ended_at) AS "Last",
                 (array_agg(r.error_message ORDER BY r.ended_at DESC))[1] AS "Latest message"
          ${RUNS_IN_RANGE}
            AND r.result IN (${FAILED_SQL})
          GROUP BY 1
          ORDER BY 2 DESC`),
        { size: { w: 12, h: 8 }, description: 'Failed runs started in the time range, by error.type.' },
      ),
    )
    .withPanel(
      tablePanel(
        'Checks',
        sql(sqlText`
          SELECT c.name AS "Check",
                 c.stage AS "Stage",
                 count(*) AS "Evaluations",
                 count(*) FILTER (WHERE NOT c.passed) AS "Failed",
                 max(c.ts) FILTER (WHERE NOT c.passed) AS "Last failure",
                 (array_agg(c.body ORDER BY c.ts DESC))[1] AS "Latest"
          ${CHECKS_IN_RANGE}
          GROUP BY 1, 2
          ORDER BY 4 DESC, 1, 2`),
        { size: { w: 24, h: 8 }, description: `Data-quality checks (${EVENT.check} records) in the time range, by check and stage; with an environment selected, the checks of its runs.` },
      ).overrideByName('Failed', [{ id: 'thresholds', value: zeroIsGood().build() }, { id: 'custom.cellOptions', value: { type: 'color-text' } }]),
    )

    .withRow(new RowBuilder('Metrics reported'))
    .withPanel(
      timeSeriesPanel('Metric: $metric', [metricOverTime()], {
        size: { w: 24, h: 8 },
        description:
          'The metric chosen above, as the pipeline\'s applications reported it (OTLP metrics), a line per run and attribute set: gauges and up-down sums by value, counters by their increase per interval, histograms and summaries by their mean.',
      }),
    )
    .withPanel(
      tablePanel('Metrics by run', pipelineLastValues(), {
        size: { w: 24, h: 8 },
        description:
          'Every metric series the pipeline reported in the time range, by run, with its last value (a delta sum: its total; a histogram or summary: its mean, and its count), latest first.',
      }).overrideByName('Run', linkColumn(toRun)),
    );
  return finish(builder);
}
