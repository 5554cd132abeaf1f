/**
 * One run: its outcome, its stages on a timeline, the rows they moved, its checks, the metrics it
 * reported and its log records, all from PostgreSQL (a run id is never a Prometheus label).
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { ATTR } from '../../contract/vocabulary.js';
import { finish, pipemonDashboard } from './dashboard-base.js';
import { ONE_TENANT_ID, severityName, tenantIs } from './filters.js';
import { UID } from './links.js';
import { runLastValues } from './metrics.js';
import { sql, sqlText } from './queries-builders.js';
import {
  NO_END_REPORTED,
  RESULT_MAPPINGS,
  TOLERATED,
  barChartPanel,
  logsPanel,
  resultColumn,
  statPanel,
  tablePanel,
  unitColumn,
  zeroIsGood,
} from './panels.js';
import { pipelineVariable, runVariable, tenantVariable } from './variables.js';

/** The selected run `r`, joined to tenants `t`. */
const THE_RUN = sqlText`
  FROM pipeline_runs r
  JOIN tenants t ON t.tenant_id = r.tenant_id
  WHERE ${tenantIs('t')}
    AND r.run_id = \${run_id:sqlstring}`;

/** The selected run's stages `s`. */
/**
 * A stage's result in the web view's words: `no end reported` for a stage its run's end closed (it has no
 * result), `(tolerated)` after a failure its sender allowed (model/runs.ts isTolerated()).
 */
const STAGE_RESULT = `CASE WHEN s.state = 'running' THEN 'running' WHEN s.result IS NULL THEN '${NO_END_REPORTED}'
                      WHEN lower(s.attributes->>'${ATTR.failureAllowed}') = 'true' AND s.result <> 'success' THEN s.result || '${TOLERATED}'
                      ELSE s.result END`;

const ITS_STAGES = sqlText`
  FROM pipeline_stages s
  JOIN tenants t ON t.tenant_id = s.tenant_id
  WHERE ${tenantIs('t')}
    AND s.run_id = \${run_id:sqlstring}`;

/**
 * The selected run's log records `l`, whatever the time range: a run is the scope here, and the logs_run
 * index finds them in every daily partition.
 */
const ITS_LOGS = sqlText`
  FROM logs l
  JOIN tenants t ON t.tenant_id = l.tenant_id
  WHERE ${tenantIs('t')}
    AND l.run_id = \${run_id:sqlstring}`;

/** The run's data-quality checks `c` (pipeline_checks: the pipeline.check records, read once when stored). */
const ITS_CHECKS = sqlText`
  FROM pipeline_checks c
  WHERE c.tenant_id = ${ONE_TENANT_ID}
    AND c.run_id = \${run_id:sqlstring}`;

export function runDashboard(): Dashboard {
  const builder = pipemonDashboard(UID.run, 'One pipeline run: its outcome, stages, rows, checks, reported metrics and log records.')
    .withVariable(tenantVariable(false))
    .withVariable(pipelineVariable({ multi: false }))
    .withVariable(runVariable())

    .withPanel(
      statPanel('Result', sql(`SELECT CASE WHEN r.state = 'running' THEN 'running' ELSE r.result END AS "Result"\n${THE_RUN}`), {
        textField: 'Result',
      }).mappings(RESULT_MAPPINGS),
    )
    .withPanel(
      statPanel(
        'Duration',
        sql(`SELECT coalesce(r.duration_seconds, extract(epoch FROM now() - r.started_at)) AS "Duration"\n${THE_RUN}`),
        { unit: 's', description: 'So far, while it runs.' },
      ),
    )
    .withPanel(statPanel('Rows read', sql(`SELECT r.rows_read AS "Rows read"\n${THE_RUN}`), { unit: 'short' }))
    .withPanel(statPanel('Rows written', sql(`SELECT r.rows_written AS "Rows written"\n${THE_RUN}`), { unit: 'short' }))
    .withPanel(statPanel('Rows rejected', sql(`SELECT r.rows_rejected AS "Rows rejected"\n${THE_RUN}`), { unit: 'short' }).thresholds(zeroIsGood()))
    .withPanel(
      statPanel(
        'Failed checks',
        sql(`SELECT count(*) AS "Failed checks"\n${ITS_CHECKS}\n  AND NOT c.passed`),
      ).thresholds(zeroIsGood()),
    )
    .withPanel(
      tablePanel(
        'Run',
        sql(sqlText`
          SELECT r.started_at AS "Started",
                 r.ended_at AS "Ended",
                 r.last_seen_at AS "Last record",
                 r.error_type AS "Error type",
                 r.error_message AS "Error",
                 r.attributes->>'${ATTR.pipelineOwner}' AS "Owner",
                 r.service_name AS "Service",
                 r.source_system AS "Source",
                 r.trace_id AS "Trace id"
          ${THE_RUN}`),
        { size: { w: 24, h: 4 } },
      ),
    )
    .withPanel(
      barChartPanel(
        'Stages timeline',
        sql(sqlText`
          SELECT s.stage AS "Stage",
                 extract(epoch FROM s.started_at - coalesce(r.started_at, min(s.started_at) OVER ())) AS "Started after",
                 coalesce(s.duration_seconds, extract(epoch FROM coalesce(s.ended_at, now()) - s.started_at)) AS "Duration"
          FROM pipeline_stages s
          JOIN tenants t ON t.tenant_id = s.tenant_id
          LEFT JOIN pipeline_runs r ON r.tenant_id = s.tenant_id AND r.run_id = s.run_id
          WHERE ${tenantIs('t')}
            AND s.run_id = \${run_id:sqlstring}
          ORDER BY s.started_at`),
        'Stage',
        {
          unit: 's',
          size: { w: 24, h: 8 },
          description: 'Each stage as a bar from its start to its end, from the start of the run (a stage still running ends now).',
        },
      )
        .orientation(common.VizOrientation.Horizontal)
        .stacking(common.StackingMode.Normal)
        // A Gantt chart: the offset is an invisible bar that the duration stacks on.
        .overrideByName('Started after', [
          { id: 'color', value: { mode: 'fixed', fixedColor: 'transparent' } },
          { id: 'custom.hideFrom', value: { legend: true, tooltip: false, viz: false } },
        ]),
    )
    .withPanel(
      tablePanel(
        'Stages',
        sql(sqlText`
          SELECT s.stage AS "Stage",
                 ${STAGE_RESULT} AS "Result",
                 s.started_at AS "Started",
                 s.ended_at AS "Ended",
                 s.duration_seconds AS "Duration",
                 s.rows_read AS "Read",
                 s.rows_written AS "Written",
                 s.rows_rejected AS "Rejected",
                 concat_ws('.', s.target_namespace, s.target_collection) AS "Target",
                 s.error_type AS "Error type",
                 s.error_message AS "Error"
          ${ITS_STAGES}
          ORDER BY s.started_at`),
        { size: { w: 24, h: 7 } },
      )
        .overrideByName('Result', resultColumn())
        .overrideByName('Duration', unitColumn('s')),
    )
    .withPanel(
      barChartPanel(
        'Rows by stage',
        sql(sqlText`
          SELECT s.stage AS "Stage",
                 sum(s.rows_read) AS "read",
                 sum(s.rows_written) AS "written",
                 sum(s.rows_rejected) AS "rejected"
          ${ITS_STAGES}
          GROUP BY s.stage
          ORDER BY min(s.started_at)`),
        'Stage',
        { unit: 'short' },
      ),
    )
    .withPanel(
      tablePanel(
        'Checks',
        sql(sqlText`
          SELECT c.ts AS "Time",
                 c.stage AS "Stage",
                 c.name AS "Check",
                 CASE WHEN c.passed THEN 'passed' WHEN NOT c.passed THEN 'failed' ELSE 'unknown' END AS "Outcome",
                 c.details #>> '{}' AS "Details"
          ${ITS_CHECKS}
          ORDER BY c.ts`),
        { size: { w: 12, h: 8 } },
      ).overrideByName('Outcome', [
        { id: 'mappings', value: [{ type: 'value', options: { passed: { color: 'green', index: 0 }, failed: { color: 'red', index: 1 }, unknown: { color: 'orange', index: 2 } } }] },
        { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorText } },
      ]),
    )
    .withPanel(
      tablePanel('Metrics reported', runLastValues(), {
        size: { w: 24, h: 8 },
        description:
          'Every metric series the run reported (OTLP metrics naming its run id), with its last value (a delta sum: its total; a histogram or summary: its mean, and its count), latest first.',
      }),
    )
    .withPanel(
      logsPanel(
        'Log records',
        sql(sqlText`
          SELECT l.ts AS "time",
                 ${severityName('l')} AS level,
                 l.body AS body,
                 l.stage AS stage,
                 l.event_name AS event
          ${ITS_LOGS}
          ORDER BY l.ts DESC
          LIMIT 1000`),
        { description: 'Every record of the run (up to 1,000, newest first); the logs dashboard searches further.' },
      ),
    );
  return finish(builder);
}
