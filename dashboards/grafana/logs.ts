/**
 * Logs: every log record pipemon stored, searched (substring or web-search syntax) and filtered by
 * tenant, pipeline, environment, severity and run.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { finish, pipemonDashboard } from './dashboard-base.js';
import { logEnvironmentIs, logPipelineIs, runIdIs, searchIs, severityIs, severityName, tenantIs } from './filters.js';
import { UID, linkTo } from './links.js';
import { sql, sqlText } from './queries-builders.js';
import { linkColumn, logsPanel, tablePanel, timeSeriesPanel } from './panels.js';
import {
  environmentVariable,
  pipelineVariable,
  runIdTextVariable,
  searchVariable,
  severityVariable,
  tenantVariable,
} from './variables.js';

/** The records `l` that the variables select, in the time range. */
const SELECTED = sqlText`
  FROM logs l
  JOIN tenants t ON t.tenant_id = l.tenant_id
  WHERE ${tenantIs('t')}
    AND ${logPipelineIs('l')}
    AND ${logEnvironmentIs('l')}
    AND ${severityIs('l')}
    AND ${runIdIs('l')}
    AND ${searchIs('l')}
    AND $__timeFilter(l.ts)`;

export function logsDashboard(): Dashboard {
  const builder = pipemonDashboard(UID.logs, 'Every log record, searched and filtered by pipeline, environment, severity and run.')
    .withVariable(tenantVariable(true))
    .withVariable(pipelineVariable({ multi: true, sqlAll: true }))
    .withVariable(environmentVariable())
    .withVariable(severityVariable())
    .withVariable(runIdTextVariable())
    .withVariable(searchVariable())

    .withPanel(
      timeSeriesPanel(
        'Records by severity',
        [
          sql(
            sqlText`
            SELECT $__timeGroupAlias(l.ts, $__interval),
                   ${severityName('l')} AS metric,
                   count(*) AS records
            ${SELECTED}
            GROUP BY 1, 2
            ORDER BY 1`,
            'time_series',
          ),
        ],
        { size: { w: 24, h: 6 } },
      )
        .drawStyle(common.GraphDrawStyle.Bars)
        .fillOpacity(80)
        .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal)),
    )
    .withPanel(
      logsPanel(
        'Log records',
        sql(sqlText`
          SELECT l.ts AS "time",
                 ${severityName('l')} AS level,
                 l.body AS body,
                 l.pipeline AS pipeline,
                 l.run_id AS run_id,
                 l.stage AS stage,
                 l.service_name AS service
          ${SELECTED}
          ORDER BY l.ts DESC
          LIMIT 1000`),
        { size: { w: 24, h: 16 }, description: 'Newest first, up to 1,000: narrow the search or the time range for older ones.' },
      ),
    )
    .withPanel(
      tablePanel(
        'Most frequent messages',
        sql(sqlText`
          SELECT t.name AS "Tenant",
                 l.pipeline AS "Pipeline",
                 ${severityName('l')} AS "Severity",
                 l.body AS "Message",
                 count(*) AS "Records",
                 max(l.ts) AS "Last",
                 (array_agg(l.run_id ORDER BY l.ts DESC))[1] AS "Latest run"
          ${SELECTED}
          GROUP BY 1, 2, 3, 4
          ORDER BY 5 DESC
          LIMIT 50`),
        { size: { w: 24, h: 8 } },
      ).overrideByName(
        'Latest run',
        linkColumn(linkTo(UID.run, 'Run ${__value.raw}', ['var-tenant=${__data.fields.Tenant:percentencode}', 'var-pipeline=${__data.fields.Pipeline:percentencode}', 'var-run_id=${__value.raw:percentencode}'])),
      ),
    );
  return finish(builder);
}
