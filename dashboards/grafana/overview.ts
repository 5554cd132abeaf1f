/**
 * Pipelines overview: every pipeline's health at a glance. What needs someone now (failing, late,
 * stuck) from Prometheus; each pipeline's status and history from PostgreSQL.
 */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { pipelineFacts } from '../../contract/pipeline-facts.js';
import {
  dataHealthWordsSql,
  failing,
  late,
  statusRankSql,
  statusSql,
  stuck,
  withOwner,
  LATE_AFTER_INTERVALS,
  STUCK_AFTER_SECONDS,
} from './attention.js';
import { finish, pipemonDashboard } from './dashboard-base.js';
import { FAILED_SQL, pipelineIs, pipelineLabel, promPipelines, runEnvironmentIs, runIs, SELECTED_TENANTS_PIPELINES } from './filters.js';
import { UID, linkTo } from './links.js';
import { prom, sql, sqlText } from './queries-builders.js';
import { binOf, RANGE_FIGURES_CTES } from './range-figures.js';
import {
  barGaugePanel,
  everyRow,
  linkColumn,
  resultColumn,
  statPanel,
  statusColumn,
  tablePanel,
  thresholds,
  timeSeriesPanel,
  unitColumn,
  zeroIsGood,
} from './panels.js';
import { environmentVariable, pipelineVariable, tenantVariable } from './variables.js';

const SELECTOR = promPipelines(true);

/** From a Prometheus table (labels as columns) or a SQL table with Tenant/Pipeline columns to the pipeline. */
const toPipeline = (tenant: string, pipeline: string) =>
  linkTo(UID.pipeline, 'Pipeline ${__value.text}', [`var-tenant=${tenant}`, `var-pipeline=${pipeline}`, '${environment:queryparam}']);

export function overviewDashboard(): Dashboard {
  const builder = pipemonDashboard(UID.overview, 'Every pipeline at a glance: what needs someone now, and each pipeline\'s status and history.')
    .withVariable(tenantVariable(true))
    .withVariable(pipelineVariable({ multi: true }))
    .withVariable(environmentVariable())

    .withRow(new RowBuilder('Now'))
    .withPanel(
      statPanel('Failing', prom(`count(${failing(SELECTOR)}) or vector(0)`, { instant: true }), {
        description: 'Pipelines whose latest ended runs failed, with no success since.',
      }).thresholds(zeroIsGood()),
    )
    .withPanel(
      statPanel('Late', prom(`count(${late(SELECTOR)}) or vector(0)`, { instant: true }), {
        description: `Pipelines without a success for more than ${LATE_AFTER_INTERVALS} expected intervals (declared, or inferred from their history).`,
      }).thresholds(zeroIsGood()),
    )
    .withPanel(
      statPanel('Stuck', prom(`count(${stuck(SELECTOR)}) or vector(0)`, { instant: true }), {
        description: `Pipelines with a running run that sent nothing (no heartbeat) for ${STUCK_AFTER_SECONDS / 60} minutes.`,
      }).thresholds(zeroIsGood()),
    )
    .withPanel(
      statPanel('Runs in progress', prom(`sum(pipemon_pipeline_runs_in_progress{${SELECTOR}}) or vector(0)`, { instant: true }), {
        description: 'Runs started and not ended, now.',
      }),
    )
    .withPanel(
      statPanel(
        'Success rate',
        sql(sqlText`
          SELECT avg((r.result = 'success')::int) AS "Success rate"
          FROM pipeline_runs r
          JOIN tenants t ON t.tenant_id = r.tenant_id
          WHERE ${runIs('r', 't')}
            AND r.result IN ('success', ${FAILED_SQL})
            AND $__timeFilter(r.started_at)`),
        { unit: 'percentunit', description: 'Runs started in the time range that succeeded, of those that succeeded or failed (skipped and cancelled runs do not count).' },
      ).thresholds(thresholds({ value: null, color: 'red' }, { value: 0.9, color: 'orange' }, { value: 0.99, color: 'green' })),
    )
    .withPanel(
      statPanel(
        'Rows written',
        sql(sqlText`
          SELECT coalesce(sum(r.rows_written), 0) AS "Rows written"
          FROM pipeline_runs r
          JOIN tenants t ON t.tenant_id = r.tenant_id
          WHERE ${runIs('r', 't')}
            AND $__timeFilter(r.ended_at)`),
        { unit: 'short', description: 'Rows written by the runs that ended in the time range.' },
      ),
    )

    .withRow(new RowBuilder('Pipelines'))
    .withPanel(
      tablePanel(
        'Status per pipeline',
        // Each pipeline by index lookups (its latest runs, last success, running runs), not by reading its
        // whole history; its status from the facts the API judges its own from (receiver/query/pipeline-state.ts);
        // its figures in the range from the per-day sums and the runs of the range's partial days.
        sql(sqlText`
          ${SELECTED_TENANTS_PIPELINES},
          facts AS (
            ${pipelineFacts(runEnvironmentIs)}
          ),
          judged AS (
            SELECT f.*, ${statusSql('f')} AS status
            FROM facts f
            WHERE ${pipelineIs('f.pipeline')}
          ),
          ${RANGE_FIGURES_CTES}
          SELECT f.pipeline AS "Pipeline",
                 f.tenant AS "Tenant",
                 f.status AS "Status",
                 ${dataHealthWordsSql('f')} AS "Data health",
                 coalesce(f.owner, '') AS "Owner",
                 CASE WHEN f.latest_state = 'running' THEN 'running' ELSE f.latest_result END AS "Last result",
                 f.latest_started_at AS "Last run",
                 f.last_success AS "Last success",
                 extract(epoch FROM now() - f.last_success) AS "Since success",
                 coalesce(i.runs, 0) AS "Runs",
                 coalesce(i.failed, 0) AS "Failed",
                 i.success_rate AS "Success rate",
                 i.p95 AS "p95 duration",
                 i.rows_written AS "Rows written",
                 f.running AS "Running"
          FROM judged f
          LEFT JOIN range_figures i ON i.tenant_id = f.tenant_id AND i.pipeline = f.pipeline
          ORDER BY ${statusRankSql('f.status')}, f.tenant, f.pipeline`),
        {
          size: { w: 24, h: 10 },
          description:
            'Each pipeline\'s status now (failing, stuck, late, warning, running, ok, idle; worst first, as the web view and the alerts judge it), what makes its data suspect (warning), its latest run and last success (all history), and its runs started in the time range.',
        },
      )
        .overrideByName('Pipeline', linkColumn(toPipeline('${__data.fields.Tenant:percentencode}', '${__value.raw:percentencode}')))
        .overrideByName('Status', statusColumn())
        .overrideByName('Last result', resultColumn())
        .overrideByName('Since success', unitColumn('s'))
        .overrideByName('Success rate', unitColumn('percentunit'))
        .overrideByName('p95 duration', unitColumn('s')),
    )

    .withRow(new RowBuilder('Needs attention'))
    .withPanel(
      tablePanel('Failing pipelines', prom(withOwner(failing(SELECTOR), SELECTOR), { instant: true, table: true }), {
        size: { w: 8, h: 8 },
        description: 'Failed runs in a row since the last success, with the owner alerts route to.',
      })
        .overrideByName('pipeline', linkColumn(toPipeline('${__data.fields.tenant:percentencode}', '${__value.raw:percentencode}')))
        .overrideByName('Value', [{ id: 'displayName', value: 'Failures in a row' }]),
    )
    .withPanel(
      tablePanel('Late pipelines', prom(withOwner(late(SELECTOR), SELECTOR), { instant: true, table: true }), {
        size: { w: 8, h: 8 },
        description: `Expected intervals since the last success, past ${LATE_AFTER_INTERVALS}.`,
      })
        .overrideByName('pipeline', linkColumn(toPipeline('${__data.fields.tenant:percentencode}', '${__value.raw:percentencode}')))
        .overrideByName('Value', [{ id: 'displayName', value: 'Intervals since success' }, { id: 'decimals', value: 1 }]),
    )
    .withPanel(
      tablePanel('Pipelines with stuck runs', prom(withOwner(stuck(SELECTOR), SELECTOR), { instant: true, table: true }), {
        size: { w: 8, h: 8 },
        description: `Running runs silent for more than ${STUCK_AFTER_SECONDS / 60} minutes: seconds since their last heartbeat.`,
      })
        .overrideByName('pipeline', linkColumn(toPipeline('${__data.fields.tenant:percentencode}', '${__value.raw:percentencode}')))
        .overrideByName('Value', [{ id: 'displayName', value: 'Silent for' }, { id: 'unit', value: 's' }]),
    )
    .withPanel(
      barGaugePanel(
        'Time since last success',
        prom(`sort_desc(time() - pipemon_pipeline_last_success_timestamp_seconds{${SELECTOR}})`, { instant: true, legend: '{{pipeline}}' }),
        { unit: 's', description: 'Now minus the end of each pipeline\'s latest successful run.' },
      ),
    )
    .withPanel(
      barGaugePanel(
        'Slowest by p95 duration',
        sql(sqlText`
          WITH ${RANGE_FIGURES_CTES}
          SELECT ${pipelineLabel('f', 't')} AS "Pipeline",
                 f.p95 AS "p95 duration"
          FROM range_p95 f
          JOIN tenants t ON t.tenant_id = f.tenant_id
          WHERE f.p95 IS NOT NULL
          ORDER BY 2 DESC
          LIMIT 10`),
        { unit: 's', description: '95th percentile of the durations of the ended runs started in the time range, within 9 % (read from duration buckets, as the API reads it).' },
      ).reduceOptions(everyRow()),
    )

    .withRow(new RowBuilder('History'))
    .withPanel(
      timeSeriesPanel(
        'Runs by result',
        [
          sql(
            sqlText`
            SELECT $__timeGroupAlias(b.bin, $__interval), b.metric, sum(b.runs) AS runs
            FROM (
              SELECT ${binOf('r.started_at')} AS bin,
                     coalesce(r.result, r.state) AS metric,
                     count(*) AS runs
              FROM pipeline_runs r
              JOIN tenants t ON t.tenant_id = r.tenant_id
              WHERE ${runIs('r', 't')}
                AND $__timeFilter(r.started_at)
              GROUP BY 1, 2
            ) b
            GROUP BY 1, 2
            ORDER BY 1`,
            'time_series',
          ),
        ],
        { description: 'Runs by the time they started, by result (running when not ended).' },
      ),
    )
    .withPanel(
      timeSeriesPanel(
        'Rows moved',
        [
          sql(
            sqlText`
            SELECT $__timeGroupAlias(b.bin, $__interval), sum(b.read) AS "read", sum(b.written) AS "written", sum(b.rejected) AS "rejected"
            FROM (
              SELECT ${binOf('r.ended_at')} AS bin,
                     sum(r.rows_read) AS read,
                     sum(r.rows_written) AS written,
                     sum(r.rows_rejected) AS rejected
              FROM pipeline_runs r
              JOIN tenants t ON t.tenant_id = r.tenant_id
              WHERE ${runIs('r', 't')}
                AND $__timeFilter(r.ended_at)
              GROUP BY 1
            ) b
            GROUP BY 1
            ORDER BY 1`,
            'time_series',
          ),
        ],
        { unit: 'short', description: 'Rows reported by the runs, by the time they ended.' },
      ),
    )
    .withPanel(
      timeSeriesPanel(
        'Failures by error type',
        [
          sql(
            sqlText`
            SELECT $__timeGroupAlias(b.bin, $__interval), b.metric, sum(b.failures) AS failures
            FROM (
              SELECT ${binOf('r.ended_at')} AS bin,
                     coalesce(r.error_type, r.result) AS metric,
                     count(*) AS failures
              FROM pipeline_runs r
              JOIN tenants t ON t.tenant_id = r.tenant_id
              WHERE ${runIs('r', 't')}
                AND r.result IN (${FAILED_SQL})
                AND $__timeFilter(r.ended_at)
              GROUP BY 1, 2
            ) b
            GROUP BY 1, 2
            ORDER BY 1`,
            'time_series',
          ),
        ],
        { description: 'Failed runs by the time they ended, by error.type (the result when none was given).' },
      ),
    )
    .withPanel(
      timeSeriesPanel('Runs in progress over time', [prom(`sum by (pipeline) (pipemon_pipeline_runs_in_progress{${SELECTOR}})`, { legend: '{{pipeline}}' })], {
        description: 'Runs started and not ended, by pipeline.',
      }),
    );
  return finish(builder);
}
