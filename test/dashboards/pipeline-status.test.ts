/**
 * One status per pipeline, wherever it is shown ("red means red"): a failing pipeline, two whose latest
 * run's data is suspect (a failed check with rejected rows; zero rows written where it writes some) and
 * a healthy one, sent as OTLP to a real receiver, then read back through the query API, the web view in
 * Debian's Chromium, the /metrics gauges as a real Prometheus evaluates the alert rules on them, and the
 * Grafana status SQL run on PostgreSQL. Each must show the same status, and say why.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Browser } from 'playwright-core';
import type { VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import { ALL, type VariableState } from '../../dashboards/grafana/interpolate.js';
import { sqlQueries } from '../../dashboards/grafana/queries.js';
import { expandSql } from '../../dashboards/grafana/sql-macros.js';
import { config, forEveryAlert, renderRules, type AlertName } from '../../dashboards/prometheus/rules.js';
import { ATTR, EVENT } from '../../contract/vocabulary.js';
import { conditions, STATUSES, type PipelineStatus } from '../../web/app/lib/status.js';
import type { PipelineFigures } from '../../web/app/lib/types.js';
import { api } from '../helpers/api.js';
import { until } from '../helpers/async.js';
import { createTestDatabase, testServerUrl } from '../helpers/backends.js';
import { CHROMIUM_HINT, launchChromium, openPage, ready, screenshot, seriousViolations } from '../helpers/browser.js';
import { logsRequest, post, SeverityNumber, startTestReceiver, type LogSpec, type TestReceiver } from '../helpers/receiver.js';
import { required, tool, warnSkipped, withTools } from '../helpers/tools.js';
import { instantQuery, PROMETHEUS_HINT, prometheusInstalled, startPrometheus, type Server } from '../helpers/prometheus.js';

const chromiumPath = tool('pipeline-status.test.ts', 'chromium', CHROMIUM_HINT);
const prometheusFound = prometheusInstalled();
if (!prometheusFound) warnSkipped('test/dashboards/pipeline-status.test.ts', 'Prometheus not found', PROMETHEUS_HINT);
const it = withTools(chromiumPath, prometheusFound);

const HOUR_MS = 3_600_000;
const NOW_MS = Date.now();

const FAILING = 'payments-sync';
const CHECKS_FAILED = 'customers-clean';
const WROTE_NOTHING = 'contacts-export';
const HEALTHY = 'orders-load';

/** What every view must show. */
const EXPECTED: Record<string, PipelineStatus> = { [FAILING]: 'failing', [CHECKS_FAILED]: 'warning', [WROTE_NOTHING]: 'warning', [HEALTHY]: 'ok' };

/** The start and end records of one run that ended `endedAgoHours` ago after 30 s (too short for a duration anomaly), declared daily. */
function run(pipeline: string, runId: string, endedAgoHours: number, result: string, rows: { written?: number; rejected?: number } = {}): LogSpec[] {
  const endMs = NOW_MS - endedAgoHours * HOUR_MS;
  const attributes = { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId, [ATTR.pipelineOwner]: 'team-data', [ATTR.expectedIntervalSeconds]: 86_400 };
  const counts = { ...(rows.written !== undefined && { [ATTR.rowsWritten]: rows.written }), ...(rows.rejected !== undefined && { [ATTR.rowsRejected]: rows.rejected }) };
  return [
    { eventName: EVENT.runStart, attributes, timestampMs: endMs - 30_000 },
    {
      eventName: EVENT.runEnd,
      severityNumber: result === 'success' ? SeverityNumber.INFO : SeverityNumber.ERROR,
      attributes: { ...attributes, ...counts, [ATTR.runResult]: result, [ATTR.durationSeconds]: 30 },
      timestampMs: endMs,
    },
  ];
}

function check(pipeline: string, runId: string, endedAgoHours: number, name: string, passed: boolean): LogSpec {
  return {
    eventName: EVENT.check,
    severityNumber: passed ? SeverityNumber.INFO : SeverityNumber.WARN,
    attributes: { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId, [ATTR.checkName]: name, [ATTR.checkPassed]: passed },
    timestampMs: NOW_MS - endedAgoHours * HOUR_MS - 10_000,
  };
}

const RECORDS: LogSpec[] = [
  // Succeeded, then failed: PipelineRunFailed.
  ...run(FAILING, 'p-1', 5, 'success', { written: 100 }),
  ...run(FAILING, 'p-2', 1, 'failure'),
  // Succeeded with a failed null_ratio check and 12 rows rejected: PipelineDataQualityCheckFailed and PipelineRowsRejected.
  ...run(CHECKS_FAILED, 'c-1', 3, 'success', { written: 100, rejected: 0 }),
  ...run(CHECKS_FAILED, 'c-2', 1, 'success', { written: 88, rejected: 12 }),
  check(CHECKS_FAILED, 'c-2', 1, 'null_ratio', false),
  check(CHECKS_FAILED, 'c-2', 1, 'duplicates', true),
  // Wrote 120 and 140, then succeeded writing nothing: PipelineZeroRowsWritten.
  ...run(WROTE_NOTHING, 'e-1', 5, 'success', { written: 120 }),
  ...run(WROTE_NOTHING, 'e-2', 3, 'success', { written: 140 }),
  ...run(WROTE_NOTHING, 'e-3', 1, 'success', { written: 0 }),
  // Writes, rejects nothing, passes its check: no alert.
  ...run(HEALTHY, 'o-1', 3, 'success', { written: 100, rejected: 0 }),
  ...run(HEALTHY, 'o-2', 1, 'success', { written: 100, rejected: 0 }),
  check(HEALTHY, 'o-2', 1, 'duplicates', true),
];

/** Why each warning pipeline is one, as the web view and the Grafana status say it. */
const WHY = {
  [CHECKS_FAILED]: { web: 'Latest run: check null_ratio failed; 12 rows rejected', grafana: 'failed checks: null_ratio; 12 rows rejected' },
  [WROTE_NOTHING]: { web: 'Latest run: 0 rows written; usually 130', grafana: '0 rows written; usually 130' },
};

/** The worst of `found`, in the web view's order; ok for none. */
const worst = (found: PipelineStatus[]): PipelineStatus => STATUSES.find((status) => found.includes(status)) ?? 'ok';

let r: TestReceiver;
let prometheus: Server | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!(chromiumPath && prometheusFound) && !process.env.CI) return;
  r = await startTestReceiver({ databaseUrl: await createTestDatabase(testServerUrl()) });
  expect((await post(r.url, '/v1/logs', logsRequest(RECORDS), { key: r.key })).status).toBe(200);
  if (!prometheusFound) throw new Error(`CI is set and Prometheus is missing: ${PROMETHEUS_HINT}`);
  // `for: 0s`: an alert fires at the first evaluation whose data holds its condition.
  prometheus = await startPrometheus({ targets: [new URL(r.url).host], rules: renderRules({ ...config, for: forEveryAlert('0s') }), intervalSeconds: 1 });
  browser = await launchChromium(required('chromium', chromiumPath, CHROMIUM_HINT));
});

afterAll(async () => {
  await browser?.close();
  await prometheus?.stop();
  await r?.close();
});

/** The query API: its judgments (failures in a row, late, stuck, warning) and the facts behind warning. */
async function apiStatuses(): Promise<Record<string, PipelineStatus>> {
  const { status, body } = await api<{ items: PipelineFigures[] }>(r.url, '/api/v1/metrics/pipelines?recent=5', { key: r.key });
  expect(status).toBe(200);
  const by = Object.fromEntries(body.items.map((p) => [p.pipeline, p]));
  expect(by[FAILING]).toMatchObject({ consecutive_failures: 1, late: false, stuck: false, warning: false });
  expect(by[CHECKS_FAILED]).toMatchObject({
    consecutive_failures: 0,
    warning: true,
    data_health: { run_id: 'c-2', failed_checks: 1, failed_check_names: ['null_ratio'], rows_rejected: 12, rows_written: 88, zero_rows_written: false, usual_rows_written: null },
  });
  expect(by[WROTE_NOTHING]).toMatchObject({
    warning: true,
    data_health: { run_id: 'e-3', failed_checks: 0, failed_check_names: [], rows_written: 0, zero_rows_written: true, usual_rows_written: 130 },
  });
  expect(by[HEALTHY]).toMatchObject({ consecutive_failures: 0, late: false, stuck: false, warning: false, data_health: { failed_checks: 0, rows_rejected: 0 } });
  return Object.fromEntries(body.items.map((p) => [p.pipeline, conditions(p)[0]!]));
}

/** The web view: each pipeline's status on the overview and on its own page, with the words saying why. */
async function webStatuses(): Promise<Record<string, PipelineStatus>> {
  const overview = await openPage(browser!, { savedKey: r.key });
  await overview.page.goto(`${r.url}/#/`);
  await ready(overview.page, 'overview');
  const rows = await overview.page.$$eval('table.pipelines tbody tr', (trs) =>
    trs.map((tr) => ({
      pipeline: tr.querySelector('[data-pipeline]')!.getAttribute('data-pipeline')!,
      status: tr.querySelector('[data-status]')!.getAttribute('data-status') as PipelineStatus,
      why: tr.querySelector('.why')?.textContent ?? null,
    })),
  );
  // What needs attention first: failing, then the warnings (by name), then ok.
  expect(rows.map((row) => row.pipeline)).toEqual([FAILING, WROTE_NOTHING, CHECKS_FAILED, HEALTHY]);
  for (const row of rows) expect(row.why, row.pipeline).toBe(WHY[row.pipeline as keyof typeof WHY]?.web ?? null);
  expect(overview.problems).toEqual([]);
  await overview.context.close();
  for (const pipeline of Object.keys(EXPECTED)) {
    const page = await openPage(browser!, { savedKey: r.key });
    await page.page.goto(`${r.url}/#/pipelines/${pipeline}`);
    await ready(page.page, 'pipeline');
    expect(await page.page.getAttribute('.tile [data-status]', 'data-status'), `${pipeline}'s page`).toBe(rows.find((row) => row.pipeline === pipeline)!.status);
    await page.context.close();
  }
  return Object.fromEntries(rows.map((row) => [row.pipeline, row.status]));
}

/** The warning colour and words read in light and dark, without a serious accessibility violation. */
async function webAccessible(): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    const { page, context, problems } = await openPage(browser!, { colorScheme, savedKey: r.key });
    await page.goto(`${r.url}/#/`);
    await ready(page, 'overview');
    await screenshot(page, `status-overview-${colorScheme}`);
    expect(await seriousViolations(page), colorScheme).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }
}

/** A gauge's value in the /metrics text; undefined when it is not exported. */
function gauge(text: string, name: string, pipeline: string, extra = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{tenant="acme",pipeline="${pipeline}"${extra}} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/** The statuses the alerts say: a real Prometheus scrapes /metrics and evaluates the rules on its gauges. */
async function alertStatuses(): Promise<Record<string, PipelineStatus>> {
  const text = await (await fetch(`${r.url}/metrics`)).text();
  const figures = (pipeline: string) => [
    gauge(text, 'pipemon_pipeline_consecutive_failures', pipeline),
    gauge(text, 'pipemon_pipeline_last_run_failed_checks', pipeline),
    gauge(text, 'pipemon_pipeline_last_run_rows', pipeline, ',kind="rejected"'),
    gauge(text, 'pipemon_pipeline_last_run_rows', pipeline, ',kind="written"'),
  ];
  expect(figures(FAILING)).toEqual([1, 0, undefined, undefined]);
  expect(figures(CHECKS_FAILED)).toEqual([0, 1, 12, 88]);
  expect(figures(WROTE_NOTHING)).toEqual([0, 0, undefined, 0]);
  expect(figures(HEALTHY)).toEqual([0, 0, 0, 100]);

  const STATUS_OF: Partial<Record<AlertName, PipelineStatus>> = {
    PipelineRunFailed: 'failing',
    PipelineRunStuck: 'stuck',
    PipelineLate: 'late',
    PipelineDataQualityCheckFailed: 'warning',
    PipelineRowsRejected: 'warning',
    PipelineZeroRowsWritten: 'warning',
  };
  // Three scrapes and evaluations: every rule has seen the gauges.
  await until(async () => {
    const [up] = await instantQuery(prometheus!.url, 'count_over_time(up{job="pipemon"}[1m])');
    return Number(up?.value[1] ?? 0) >= 3;
  }, 'Prometheus scraped the receiver three times', 30_000);
  const firing = await instantQuery(prometheus!.url, 'ALERTS{alertstate="firing", pipeline!=""}');
  const alerts = (pipeline: string) => firing.filter((s) => s.metric.pipeline === pipeline).map((s) => s.metric.alertname as AlertName);
  expect(alerts(CHECKS_FAILED).sort()).toEqual(['PipelineDataQualityCheckFailed', 'PipelineRowsRejected']);
  expect(alerts(WROTE_NOTHING)).toEqual(['PipelineZeroRowsWritten']);
  return Object.fromEntries(Object.keys(EXPECTED).map((pipeline) => [pipeline, worst(alerts(pipeline).flatMap((name) => STATUS_OF[name] ?? []))]));
}

/** Grafana's variables as a user leaves them: tenant acme, every pipeline, every environment. */
function selections(variables: VariableModel[], pipeline: string | null): VariableState[] {
  const chosen: Record<string, VariableState['selection']> = { tenant: ['acme'], pipeline: pipeline ?? ALL, environment: ALL };
  const options: Record<string, string[]> = { tenant: ['acme'], pipeline: Object.keys(EXPECTED), environment: ['test'] };
  return variables.map((definition) => ({
    definition,
    selection: definition.multi ? chosen[definition.name]! : [chosen[definition.name]!].flat()[0]!,
    options: options[definition.name],
  }));
}

/** A panel's SQL as Grafana's PostgreSQL datasource sends it, run on the receiver's database. */
async function grafanaRows(dashboard: string, panel: string, pipeline: string | null): Promise<Record<string, unknown>[]> {
  const query = sqlQueries().find((q) => q.dashboard === dashboard && q.panel === panel)!;
  const sql = expandSql(query.rawSql, { from: new Date(NOW_MS - 7 * 24 * HOUR_MS), to: new Date(NOW_MS + 60_000), intervalMs: 300_000, variables: selections(query.variables, pipeline) });
  return (await r.receiver.db.query<Record<string, unknown>>(sql)).rows;
}

/** The Grafana overview's Status per pipeline, each the same as the pipeline dashboard's Status. */
async function grafanaStatuses(): Promise<Record<string, PipelineStatus>> {
  const rows = await grafanaRows('pipemon-overview', 'Status per pipeline', null);
  expect(rows.map((row) => row.Pipeline)).toEqual([FAILING, WROTE_NOTHING, CHECKS_FAILED, HEALTHY]);
  for (const row of rows) {
    const pipeline = row.Pipeline as string;
    expect(row['Data health'], pipeline).toBe(WHY[pipeline as keyof typeof WHY]?.grafana ?? null);
    const [one] = await grafanaRows('pipemon-pipeline', 'Status', pipeline);
    expect(one, `${pipeline}'s dashboard`).toEqual({ Status: row.Status, 'Data health': row['Data health'] });
  }
  return Object.fromEntries(rows.map((row) => [row.Pipeline as string, row.Status as PipelineStatus]));
}

describe('a pipeline has one status everywhere', () => {
  it('failing, warning and ok alike in the API, the web view, the alerts on /metrics and the Grafana status', async () => {
    const shown = {
      api: await apiStatuses(),
      web: await webStatuses(),
      alerts: await alertStatuses(),
      grafana: await grafanaStatuses(),
    };
    expect(shown).toEqual({ api: EXPECTED, web: EXPECTED, alerts: EXPECTED, grafana: EXPECTED });
    await webAccessible();
  });
});
