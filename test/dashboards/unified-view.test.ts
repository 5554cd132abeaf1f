/**
 * The unified view end to end, with real parts: `pipemon demo` feeds a real receiver; a real Prometheus
 * (Debian's) scrapes it and evaluates the mixin's rules (test-sized `for:`); a real Alertmanager, on the
 * committed configuration with its webhooks pointed here, routes what fires and inhibits what waits on
 * a failing upstream. Every PromQL expression of the rules and the dashboards must parse and return
 * data, or be listed below with the reason it is empty on the demo's data.
 */
import fs from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { promQueries, expandPromQL } from '../../dashboards/grafana/queries.js';
import { buildRules, config, forEveryAlert, renderRules } from '../../dashboards/prometheus/rules.js';
import { ATTR, EVENT } from '../../contract/vocabulary.js';
import { DEMO_PIPELINES, runDemo, SCENARIOS, type DemoSummary } from '../../demo/index.js';
import { until } from '../helpers/async.js';
import { createTestDatabase, testServerUrl } from '../helpers/backends.js';
import { listenOnLoopback } from '../helpers/net.js';
import { getJson, logsRequest, post, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { instantQuery, PROMETHEUS_HINT, prometheusInstalled, startAlertmanager, startPrometheus, type Server } from '../helpers/prometheus.js';
import { warnSkipped } from '../helpers/tools.js';
import { repoPath } from '../helpers/repo.js';

const installed = prometheusInstalled();
if (!installed) {
  if (process.env.CI) throw new Error(`CI is set and Prometheus or Alertmanager is missing: ${PROMETHEUS_HINT}`);
  warnSkipped('test/dashboards/unified-view.test.ts', 'Prometheus or Alertmanager not found', PROMETHEUS_HINT);
}

/** Expressions with no series on the demo's data, and why; everything else must return some. */
const EXPECTED_EMPTY: Record<string, string> = {
  PipemonDown: 'the receiver is up',
  PipemonRefusingRecords: 'the demo sends nothing invalid',
  PipemonWriteFailures: 'the database never fails here',
  PipemonQueueNearlyFull: 'the writer queue stays near empty',
  PipelineDurationAnomaly: "Prometheus has only minutes of history: the drifting pipeline's 7-day median is its own last duration",
  PipelineErrorRateHigh: "the runs counters only count runs ended since this receiver started: the backfill's, before the first scrape",
  'tenant_pipeline:pipemon_pipeline_runs_failed:ratio1d': 'the same: no run ended while Prometheus watched, so no ratio',
};

/** Dashboard panels (by title) with no series on the demo's data, and why. */
const EXPECTED_EMPTY_PANELS: Record<string, string> = {
  'Refused and failed records': 'the demo sends nothing invalid, and the database never fails here',
  'Database errors': 'the database never fails here',
};

const WEBHOOK_PLACEHOLDER = 'https://webhook.example.invalid/pipemon/';

interface Notification {
  receiver: string;
  alerts: { status: string; labels: Record<string, string> }[];
}

/** An alert as Alertmanager's API lists it. */
interface ManagedAlert {
  fingerprint: string;
  labels: Record<string, string>;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; inhibitedBy: string[] };
}

describe.runIf(installed)('the unified view on a real Prometheus and Alertmanager', () => {
  let receiver: TestReceiver;
  let demo: DemoSummary;
  let webhook: HttpServer;
  const notifications: Notification[] = [];
  let alertmanager: Server;
  let prometheus: Server;

  // Each server is registered for afterAll as soon as it runs, so that a setup that fails halfway leaves
  // none behind. A beforeAll that outlives its timeout goes on after afterAll: what it starts then is
  // stopped at once (and helpers/prometheus.ts kills its servers when the test process ends).
  const stops: (() => unknown)[] = [];
  let tornDown = false;
  async function own<T>(starting: Promise<T>, stop: (server: T) => unknown): Promise<T> {
    const server = await starting;
    if (tornDown) {
      await stop(server);
      throw new Error('the unified view setup went on after its timeout and afterAll: stopped what it had just started');
    }
    stops.push(() => stop(server));
    return server;
  }

  beforeAll(async () => {
    receiver = await own(startTestReceiver({ databaseUrl: await createTestDatabase(testServerUrl()) }), (r) => r.close());
    demo = await runDemo({ endpoint: receiver.url, key: receiver.key, days: 7, seed: 7 });

    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        notifications.push(JSON.parse(body) as Notification);
        res.end();
      });
    });
    const webhookPort = await own(listenOnLoopback(webhook), () => {
      webhook.closeAllConnections();
      webhook.close();
    });
    // The committed configuration, its webhooks pointed here and its waits made test-sized.
    const committed = fs.readFileSync(repoPath('dashboards/alertmanager/alertmanager.yml'), 'utf8');
    const amConfig = parse(committed.replaceAll(WEBHOOK_PLACEHOLDER, `http://127.0.0.1:${webhookPort}/`));
    Object.assign(amConfig.route, { group_wait: '1s', group_interval: '1s' });
    alertmanager = await own(startAlertmanager(stringify(amConfig)), (server) => server.stop());

    prometheus = await own(
      startPrometheus({
        targets: [new URL(receiver.url).host],
        rules: renderRules({ ...config, for: forEveryAlert('3s') }),
        alertmanagerUrl: alertmanager.url,
        intervalSeconds: 1,
      }),
      (server) => server.stop(),
    );
    // A few scrapes and rule evaluations, so that recording rules have values.
    await until(async () => {
      const [up] = await instantQuery(prometheus.url, 'count_over_time(up{job="pipemon"}[1m])');
      return Number(up?.value[1] ?? 0) >= 3;
    }, 'Prometheus scraped the receiver three times', 60_000);
  }, 120_000);

  afterAll(async () => {
    tornDown = true;
    // The latest started first: Prometheus, Alertmanager, the webhook, the receiver.
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('the receiver is up and the demo data is in /metrics', async () => {
    expect(await instantQuery(prometheus.url, 'up{job="pipemon"}')).toEqual([expect.objectContaining({ value: [expect.any(Number), '1'] })]);
    const owners = await instantQuery(prometheus.url, 'pipemon_pipeline_info');
    expect(owners.map((s) => s.metric.pipeline).sort()).toEqual(Object.values(DEMO_PIPELINES).sort());
  });

  it('every expression of the rules parses and returns series, or is expected empty for a stated reason', async () => {
    const { alerts, recordingRules } = buildRules({ ...config, for: forEveryAlert('3s') });
    const expressions = [
      ...recordingRules.groups.flatMap((g) => g.rules.map((rule) => ({ name: rule.record, expr: rule.expr }))),
      ...alerts.groups.flatMap((g) => g.rules.map((rule) => ({ name: rule.alert, expr: rule.expr }))),
    ];
    const empty: string[] = [];
    for (const { name, expr } of expressions) {
      const result = await instantQuery(prometheus.url, expr);
      if (result.length === 0) empty.push(name);
    }
    expect(empty.sort()).toEqual(Object.keys(EXPECTED_EMPTY).sort());
  });

  it('every PromQL query of the dashboards parses and returns series, for All, one and several values', async () => {
    const options: Record<string, string[]> = { tenant: ['acme'], pipeline: Object.values(DEMO_PIPELINES), environment: ['demo'] };
    const failures: string[] = [];
    for (const query of promQueries()) {
      // Each variable as All (where it may be), as one value, and as several (where it may be).
      const selections = ['all', 'one', 'several'].map((kind) =>
        Object.fromEntries(
          query.variables
            .filter((v) => options[v.name])
            .map((v) => {
              const values = options[v.name]!;
              if (kind === 'all' && v.includeAll) return [v.name, '$__all'];
              if (kind === 'several' && v.multi) return [v.name, values.slice(0, 2)];
              return [v.name, values[0]!];
            }),
        ),
      );
      // Every selection must parse and run; the broadest one must return series, unless expected empty.
      for (const [i, values] of selections.entries()) {
        const expr = expandPromQL(query, { values, options, scrapeIntervalSeconds: 1, intervalSeconds: 5 });
        try {
          const series = await instantQuery(prometheus.url, expr);
          if (i === 0 && series.length === 0 && !EXPECTED_EMPTY_PANELS[query.panel]) failures.push(`${query.dashboard} / ${query.panel}: no series for ${expr}`);
        } catch (err) {
          failures.push(`${query.dashboard} / ${query.panel}: ${(err as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('shows as warning in the query API exactly the pipelines whose data-health alerts fire: the zero-rows and the quality pipelines', async () => {
    const DATA_HEALTH = 'PipelineDataQualityCheckFailed|PipelineRowsRejected|PipelineZeroRowsWritten';
    const expected = [DEMO_PIPELINES.quality, DEMO_PIPELINES.zeroRows].sort();
    const alerted = async () => {
      const firing = await instantQuery(prometheus.url, `ALERTS{alertstate="firing", alertname=~"${DATA_HEALTH}"}`);
      return [...new Set(firing.map((series) => series.metric.pipeline!))].sort();
    };
    await until(async () => {
      const names = await alerted();
      return expected.every((pipeline) => names.includes(pipeline));
    }, 'the data-health alerts fire', 30_000);
    const { status, body } = await getJson(receiver.url, '/api/v1/metrics/pipelines', receiver.key);
    expect(status).toBe(200);
    const warned = body.items.filter((p: { warning: boolean }) => p.warning).map((p: { pipeline: string }) => p.pipeline).sort();
    expect(warned).toEqual(expected);
    expect(await alerted()).toEqual(expected);
  });

  it("routes the flaky pipeline's failure, the stopped pipeline being late and the hung run to their owners, and nothing for the healthy pipeline", async () => {
    const firing = (alertname: string, pipeline: string) =>
      notifications.find((n) => n.alerts.some((a) => a.status === 'firing' && a.labels.alertname === alertname && a.labels.pipeline === pipeline));
    const expected = [
      { alertname: 'PipelineRunFailed', pipeline: DEMO_PIPELINES.flaky, receiver: 'team-finance' },
      { alertname: 'PipelineRunFailed', pipeline: DEMO_PIPELINES.loader, receiver: 'team-data' },
      { alertname: 'PipelineLate', pipeline: DEMO_PIPELINES.stopped, receiver: 'team-finance' },
      { alertname: 'PipelineRunStuck', pipeline: DEMO_PIPELINES.hanging, receiver: 'pipemon-operators' },
    ];
    await until(() => expected.every((e) => firing(e.alertname, e.pipeline)), `Alertmanager notified ${expected.map((e) => e.alertname).join(', ')}`, 60_000);
    for (const e of expected) expect(firing(e.alertname, e.pipeline)?.receiver, `${e.alertname} for ${e.pipeline}`).toBe(e.receiver);
    expect(demo.backfill.hungRunId).not.toBeNull();
    const healthy = notifications.flatMap((n) => n.alerts).filter((a) => a.labels.pipeline === DEMO_PIPELINES.healthy);
    expect(healthy).toEqual([]);
  }, 90_000);

  it("pages the failed loader, not the late report and export that wait on it; once the loader, then the report, succeed, their late alerts page", async () => {
    const { loader, report, export: exporter } = DEMO_PIPELINES;
    const alerts = async () => (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as ManagedAlert[];
    const find = (all: ManagedAlert[], alertname: string, pipeline: string) => all.find((a) => a.labels.alertname === alertname && a.labels.pipeline === pipeline);
    const notified = (alertname: string, pipeline: string) =>
      notifications.filter((n) => n.alerts.some((a) => a.status === 'firing' && a.labels.alertname === alertname && a.labels.pipeline === pipeline));

    // Prometheus fires all of them; Alertmanager holds back the late alerts of the two waiting pipelines,
    // each inhibited by the PipelineUpstreamUnhealthy alert of the same pipeline, naming its upstream.
    let all: ManagedAlert[] = [];
    await until(async () => {
      all = await alerts();
      return (
        find(all, 'PipelineRunFailed', loader)?.status.state === 'active' &&
        [report, exporter].every((pipeline) => find(all, 'PipelineLate', pipeline)?.status.state === 'suppressed')
      );
    }, "Alertmanager has the loader's failure active and the report's and export's late alerts suppressed", 60_000);
    for (const [pipeline, upstream] of [[report, loader], [exporter, report]] as const) {
      const cause = find(all, 'PipelineUpstreamUnhealthy', pipeline)!;
      expect(cause.labels, pipeline).toMatchObject({ upstream, severity: 'warning' });
      expect(find(all, 'PipelineLate', pipeline)!.status.inhibitedBy, pipeline).toEqual([cause.fingerprint]);
    }
    expect(find(all, 'PipelineLate', loader)?.status).toMatchObject({ state: 'active', inhibitedBy: [] });
    expect(notified('PipelineLate', report)).toEqual([]);
    expect(notified('PipelineLate', exporter)).toEqual([]);

    // Without the upstream failure they would page: the loader succeeds, and the report, still late, pages
    // its owner; the export now waits on the report, which is late, and stays held back.
    await succeed(loader);
    await until(() => notified('PipelineLate', report).length > 0, "the report's late alert is sent once the loader succeeded", 60_000);
    expect(notified('PipelineLate', report).map((n) => n.receiver)).toContain('team-finance');
    all = await alerts();
    expect(find(all, 'PipelineRunFailed', loader)).toBeUndefined();
    expect(find(all, 'PipelineLate', exporter)?.status.state).toBe('suppressed');
    expect(notified('PipelineLate', exporter)).toEqual([]);

    // And once the report succeeds too, the export's own late alert pages.
    await succeed(report);
    await until(() => notified('PipelineLate', exporter).length > 0, "the export's late alert is sent once the report succeeded", 60_000);
  }, 150_000);

  /** A successful run of a demo pipeline ending now, sent as its scheduler would start it. */
  async function succeed(pipeline: string): Promise<void> {
    const scenario = SCENARIOS.find((s) => s.pipeline === pipeline)!;
    const attributes = {
      [ATTR.pipelineName]: pipeline,
      [ATTR.runId]: `recovered-${pipeline}`,
      [ATTR.pipelineOwner]: scenario.owner,
      [ATTR.expectedIntervalSeconds]: scenario.expectedIntervalSeconds!,
    };
    const now = Date.now();
    const records = [
      { eventName: EVENT.runStart, attributes, timestampMs: now - 60_000 },
      { eventName: EVENT.runEnd, attributes: { ...attributes, [ATTR.runResult]: 'success' }, timestampMs: now },
    ];
    expect((await post(receiver.url, '/v1/logs', logsRequest(records), { key: receiver.key })).status).toBe(200);
  }
});
