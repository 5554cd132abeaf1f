/**
 * The Prometheus mixin (dashboards/prometheus/) and the Alertmanager config (dashboards/alertmanager/),
 * checked by the tools that run them: promtool (Debian's `prometheus`), amtool and Alertmanager itself
 * (Debian's `prometheus-alertmanager`). Without them, these tests fail when CI is set and are skipped
 * with a loud warning otherwise.
 */
import fs from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generatedFiles } from '../../../dashboards/prometheus/generated-files.js';
import { ALERT_NAMES, buildRules, config, durationSeconds, forEveryAlert, REBUILD_COMMAND, renderRules } from '../../../dashboards/prometheus/rules.js';
import { sleep } from '../../helpers/async.js';
import { PROMETHEUS_HINT, prometheusInstalled, startAlertmanager, type Server } from '../../helpers/prometheus.js';
import { listenOnLoopback } from '../../helpers/net.js';
import { readRepoFile, repoPath } from '../../helpers/repo.js';
import { required as baseRequired, run, tool as baseTool, withTools } from '../../helpers/tools.js';

const RULES_DIR = repoPath('dashboards/prometheus');
const ALERTMANAGER_CONFIG = repoPath('dashboards/alertmanager/alertmanager.yml');
/** The committed config's webhook URLs start with this; a test's Alertmanager sends to loopback instead. */
const WEBHOOK_PLACEHOLDER = 'https://webhook.example.invalid/pipemon/';
const PROMTOOL_TESTS = fs.readdirSync(path.join(RULES_DIR, 'tests')).filter((file) => file.endsWith('.test.yaml'));

const tool = (name: string) => baseTool('test/dashboards/prometheus/rules.test.ts', name, PROMETHEUS_HINT);

const promtool = tool('promtool');
const amtool = tool('amtool');
const alertmanagerInstalled = prometheusInstalled();

const required = (name: string, file: string | null) => baseRequired(name, file, PROMETHEUS_HINT);

describe('the pipemon mixin', () => {
  it('commits the rule files that dashboards/prometheus builds', () => {
    for (const [file, built] of Object.entries(generatedFiles())) {
      const committed = fs.readFileSync(path.join(RULES_DIR, file), 'utf8');
      expect(committed, `dashboards/prometheus/${file} is not what the code builds: rebuild with ${REBUILD_COMMAND}`).toBe(built);
    }
  });

  it('builds test-sized rules: every for: replaced, thresholds overridden', () => {
    const rules = buildRules({ ...config, for: forEveryAlert('10s'), stuck: { afterSeconds: 120 } });
    const alerts = rules.alerts.groups.flatMap((group) => group.rules);
    expect(alerts.map((rule) => rule.alert).sort()).toEqual([...ALERT_NAMES].sort());
    expect(new Set(alerts.map((rule) => rule.for))).toEqual(new Set(['10s']));
    expect(alerts.find((rule) => rule.alert === 'PipelineRunStuck')!.expr).toMatch(/> 120\n/);
    expect(Object.keys(renderRules(config))).toEqual(['alerts.yaml', 'recording-rules.yaml']);
  });

  it('refuses a config it cannot turn into rules, naming the setting', () => {
    expect(() => buildRules({ ...config, for: { ...config.for, PipelineLate: '5 minutes' } })).toThrow(
      /for\.PipelineLate must be a Prometheus duration such as 30s, 5m or 1h, got "5 minutes"/,
    );
    expect(() => buildRules({ ...config, failedRuns: { failuresBeforePaging: 1, flakyPipelines: [{ pipeline: 'flaky-(', failures: 3 }] } })).toThrow(
      /failedRuns\.flakyPipelines\[0\]\.pipeline must be a regular expression/,
    );
    expect(() => buildRules({ ...config, failedRuns: { failuresBeforePaging: 0, flakyPipelines: [] } })).toThrow(
      /failedRuns\.failuresBeforePaging must be an integer of at least 1, got 0/,
    );
  });

  it('reads Prometheus durations in seconds, and refuses what is none', () => {
    expect(['15s', '1m30s', '0s', '500ms', '1w'].map(durationSeconds)).toEqual([15, 90, 0, 0.5, 604_800]);
    expect(() => durationSeconds('5 minutes')).toThrow(/"5 minutes" is not a Prometheus duration such as 15s or 1m/);
  });

  it('gives every alert a severity, a summary sentence, a description with $value or labels, and a runbook section', () => {
    const runbook = readRepoFile('dashboards/RUNBOOK.md');
    const sections = [...runbook.matchAll(/^## (\S+)$/gm)].map((match) => match[1]);
    const alerts = buildRules(config).alerts.groups.flatMap((group) => group.rules);
    for (const rule of alerts) {
      expect(['critical', 'warning', 'info'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toMatch(/^[A-Za-z].*\.$/);
      expect(rule.annotations.description, rule.alert).toMatch(/\{\{ .*\$(value|labels)/);
      expect(rule.annotations.runbook_url).toBe(`${config.runbookUrl}#${rule.alert.toLowerCase()}`);
    }
    // GitHub's anchor of "## PipelineLate" is #pipelinelate.
    expect(sections).toEqual(alerts.map((rule) => rule.alert));
  });

  it('has promtool unit tests in which every alert fires and stays silent', () => {
    const cases = PROMTOOL_TESTS.flatMap((file) => {
      const tests = parse(fs.readFileSync(path.join(RULES_DIR, 'tests', file), 'utf8')).tests as { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
      return tests.flatMap((test) => test.alert_rule_test ?? []);
    });
    for (const name of ALERT_NAMES) {
      const ofAlert = cases.filter((c) => c.alertname === name);
      expect(ofAlert.some((c) => (c.exp_alerts ?? []).length > 0), `${name} fires in a promtool test`).toBe(true);
      expect(ofAlert.some((c) => (c.exp_alerts ?? []).length === 0), `${name} stays silent in a promtool test`).toBe(true);
    }
  });

  withTools(promtool)('passes promtool check rules', async () => {
    const files = Object.keys(generatedFiles()).map((file) => path.join(RULES_DIR, file));
    const { stdout: output } = await run(required('promtool', promtool), ['check', 'rules', ...files]);
    expect(output).toMatch(/SUCCESS/);
  });

  withTools(promtool)('passes its promtool unit tests (fire, silence, for: boundaries, resolving, overrides)', async () => {
    const { stdout: output } = await run(required('promtool', promtool), ['test', 'rules', ...PROMTOOL_TESTS], { cwd: path.join(RULES_DIR, 'tests') });
    expect(output.match(/SUCCESS/g)).toHaveLength(PROMTOOL_TESTS.length);
  });
});

describe('the Alertmanager config', () => {
  withTools(amtool)('passes amtool check-config', async () => {
    const { stdout: output } = await run(required('amtool', amtool), ['check-config', ALERTMANAGER_CONFIG]);
    expect(output).toMatch(/SUCCESS/);
  });

  const routes: [string, string][] = [
    ['owner=team-data severity=critical alertname=PipelineRunFailed', 'team-data'],
    ['owner=team-data severity=warning alertname=PipelineRowsRejected', 'team-data'],
    ['owner=team-finance severity=critical alertname=PipelineLate', 'team-finance'],
    ['owner=team-finance severity=warning alertname=PipelineDurationAnomaly', 'team-finance'],
    ['owner=team-finance severity=warning alertname=PipelineUpstreamUnhealthy', 'team-finance'],
    // info is for dashboards, whoever owns the pipeline.
    ['owner=team-data severity=info alertname=PipelineRowsRejected', 'blackhole'],
    // Pipelines without a known owner, and pipemon's own alerts, go to pipemon's operators.
    ['owner=team-unknown severity=warning alertname=PipelineZeroRowsWritten', 'pipemon-operators'],
    ['severity=critical alertname=PipelineRunFailed', 'pipemon-operators'],
    ['severity=critical alertname=PipemonDown', 'pipemon-operators'],
  ];
  withTools(amtool).each(routes)('routes %s to %s', async (labels, receiver) => {
    const { stdout: output } = await run(required('amtool', amtool), ['config', 'routes', 'test', `--config.file=${ALERTMANAGER_CONFIG}`, ...labels.split(' ')]);
    expect(output.trim()).toBe(receiver);
  });

  it("waits longer than one of Prometheus' evaluation intervals before a group's first notification, so that the copies of an alert from every receiver go out in one", () => {
    const { route } = parse(fs.readFileSync(ALERTMANAGER_CONFIG, 'utf8')) as { route: { group_wait: string } };
    const { global } = parse(readRepoFile('deploy/prometheus.yml')) as { global: { evaluation_interval: string } };
    expect(durationSeconds(route.group_wait)).toBeGreaterThan(durationSeconds(global.evaluation_interval));
  });

  let alertmanager: Server | null = null;
  // Where this Alertmanager's webhooks go, should a notification leave before the test ends: never the
  // placeholder's DNS name (tests reach loopback only).
  const webhook = createServer((req, res) => req.resume().on('end', () => res.end()));
  afterAll(async () => {
    await alertmanager?.stop();
    webhook.closeAllConnections();
    webhook.close();
  });

  withTools(alertmanagerInstalled)('inhibits PipelineLate and PipelineRunStuck of the job whose pipemon is down, and of the pipeline whose upstream is unhealthy, nothing else', async () => {
    if (!alertmanagerInstalled) throw new Error(`CI is set and Alertmanager is missing: ${PROMETHEUS_HINT}`);
    const webhookPort = await listenOnLoopback(webhook);
    const committed = fs.readFileSync(ALERTMANAGER_CONFIG, 'utf8');
    expect(committed).toContain(WEBHOOK_PLACEHOLDER);
    const local = committed.replaceAll(WEBHOOK_PLACEHOLDER, `http://127.0.0.1:${webhookPort}/`);
    const urls = (parse(local) as { receivers: { webhook_configs?: { url: string }[] }[] }).receivers.flatMap((r) => (r.webhook_configs ?? []).map((w) => w.url));
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(new URL(url).hostname, `${url}: every webhook points to loopback`).toBe('127.0.0.1');
    alertmanager = await startAlertmanager(local);
    const pipeline = (alertname: string, job: string, name: string, extra: Record<string, string> = {}) => ({
      labels: { alertname, job, severity: 'critical', tenant: 'default', pipeline: name, owner: 'team-data', ...extra },
    });
    const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { labels: { alertname: 'PipemonDown', job: 'pipemon', instance: 'pipemon:4318', severity: 'critical' } },
        pipeline('PipelineLate', 'pipemon', 'orders'),
        pipeline('PipelineRunStuck', 'pipemon', 'orders'),
        pipeline('PipelineRunFailed', 'pipemon', 'orders'),
        pipeline('PipelineLate', 'pipemon-eu', 'orders'),
        // On another pipemon (not down): report waits on its failing loader, so its own late and stuck
        // alerts are held back, not its own failure, nor the loader's, nor another tenant's report.
        pipeline('PipelineRunFailed', 'pipemon-us', 'loader'),
        pipeline('PipelineUpstreamUnhealthy', 'pipemon-us', 'report', { severity: 'warning', upstream: 'loader' }),
        pipeline('PipelineLate', 'pipemon-us', 'report'),
        pipeline('PipelineRunStuck', 'pipemon-us', 'report'),
        pipeline('PipelineRunFailed', 'pipemon-us', 'report'),
        pipeline('PipelineLate', 'pipemon-us', 'report', { tenant: 'other' }),
      ]),
    });
    expect(posted.status, await posted.text()).toBe(200);

    type Alert = { labels: Record<string, string>; status: { state: string } };
    const expected = [
      'PipelineLate pipemon-eu default/orders: active',
      'PipelineLate pipemon-us default/report: suppressed',
      'PipelineLate pipemon-us other/report: active',
      'PipelineLate pipemon default/orders: suppressed',
      'PipelineRunFailed pipemon-us default/loader: active',
      'PipelineRunFailed pipemon-us default/report: active',
      'PipelineRunFailed pipemon default/orders: active',
      'PipelineRunStuck pipemon-us default/report: suppressed',
      'PipelineRunStuck pipemon default/orders: suppressed',
      'PipelineUpstreamUnhealthy pipemon-us default/report: active',
      'PipemonDown pipemon undefined/undefined: active',
    ].sort();
    const states = async () => {
      const alerts = (await (await fetch(`${alertmanager!.url}/api/v2/alerts`)).json()) as Alert[];
      return alerts.map(({ labels, status }) => `${labels.alertname} ${labels.job} ${labels.tenant}/${labels.pipeline}: ${status.state}`).sort();
    };
    // The inhibitor takes the alerts in asynchronously: poll until it settles or 10 s pass.
    let seen = await states();
    for (const deadline = Date.now() + 10_000; JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < deadline; seen = await states()) {
      await sleep(100);
    }
    expect(seen).toEqual(expected);
  });
});
