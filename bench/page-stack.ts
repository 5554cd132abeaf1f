/**
 * The alerting path of bench:page as shipped: deploy/prometheus.yml (its intervals, its rule files),
 * dashboards/prometheus/*.yaml and dashboards/alertmanager/alertmanager.yml, run by Debian's Prometheus
 * and Alertmanager, with only their addresses changed to this machine's loopback (the receiver's metrics
 * listener, the Alertmanager, a webhook server of the bench in place of every receiver URL). The CI mode
 * shrinks every interval to a second: it exercises the mechanics, not the shipped timings.
 */
import fs from 'node:fs';
import { createServer } from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { startAlertmanager, startPrometheusWithFiles, type Server } from '../harness/prometheus.js';

export type Mode = 'defaults' | 'ci';

/** The settings every hop after the commit waits on, as Prometheus durations. */
export interface PageSettings {
  scrape_interval: string;
  evaluation_interval: string;
  /** The PipelineRunFailed rule's `for:` (0s when it has none). */
  run_failed_for: string;
  group_wait: string;
  group_interval: string;
}

/** Where the committed configuration names its webhook receivers; the bench's own server takes their place. */
const WEBHOOK_PLACEHOLDER = 'https://webhook.example.invalid/pipemon/';
const CI_INTERVAL = '1s';

interface Shipped {
  prometheus: any;
  rules: Record<string, any>;
  alertmanager: any;
}

/** The shipped files, read from the checkout at `repo`; a missing one is named with how to get it. */
function readShipped(repo: string): Shipped {
  const read = (file: string) => {
    const at = path.join(repo, file);
    if (!fs.existsSync(at)) throw new Error(`bench:page reads the shipped ${file} and found none at ${at}: run it from the repository's root`);
    return fs.readFileSync(at, 'utf8');
  };
  const rules = Object.fromEntries(['alerts.yaml', 'recording-rules.yaml'].map((file) => [file, parse(read(`dashboards/prometheus/${file}`))]));
  const committedAlertmanager = read('dashboards/alertmanager/alertmanager.yml');
  if (!committedAlertmanager.includes(WEBHOOK_PLACEHOLDER)) throw new Error(`dashboards/alertmanager/alertmanager.yml has no ${WEBHOOK_PLACEHOLDER} receiver URL for bench:page to point at its webhook`);
  return { prometheus: parse(read('deploy/prometheus.yml')), rules, alertmanager: committedAlertmanager };
}

/** Prometheus' configuration with the receiver's metrics listener as job pipemon's only target (the bench runs no Collector) and the bench's Alertmanager. */
function prometheusFiles(shipped: Shipped, mode: Mode, at: { metrics: string; alertmanager: string }): { 'prometheus.yml': string } & Record<string, string> {
  const config = structuredClone(shipped.prometheus);
  const pipemon = config.scrape_configs.find((job: { job_name: string }) => job.job_name === 'pipemon');
  if (!pipemon) throw new Error('deploy/prometheus.yml has no scrape job `pipemon`: the rules select job="pipemon"');
  config.scrape_configs = [{ ...pipemon, static_configs: [{ targets: [at.metrics] }] }];
  config.alerting = { alertmanagers: [{ static_configs: [{ targets: [at.alertmanager] }] }] };
  // The container mounts the rule files in a folder of their own; here they lie beside the configuration.
  config.rule_files = config.rule_files.map((file: string) => path.posix.basename(file));
  const rules = structuredClone(shipped.rules);
  for (const file of config.rule_files) if (!rules[file]) throw new Error(`deploy/prometheus.yml loads ${file}, which dashboards/prometheus does not build`);
  if (mode === 'ci') {
    Object.assign(config.global, { scrape_interval: CI_INTERVAL, evaluation_interval: CI_INTERVAL });
    delete config.scrape_configs[0].scrape_interval;
    for (const rule of alertRules(rules)) if (rule.alert) rule.for = CI_INTERVAL;
  }
  return { 'prometheus.yml': stringify(config), ...Object.fromEntries(Object.entries(rules).map(([file, content]) => [file, stringify(content)])) };
}

function alertRules(rules: Record<string, any>): { alert?: string; for?: string }[] {
  return Object.values(rules).flatMap((file) => file.groups.flatMap((group: { rules: object[] }) => group.rules));
}

function alertmanagerConfig(shipped: Shipped, mode: Mode, webhookUrl: string): any {
  const config = parse(shipped.alertmanager.replaceAll(WEBHOOK_PLACEHOLDER, `${webhookUrl}/`));
  if (mode === 'ci') Object.assign(config.route, { group_wait: CI_INTERVAL });
  return config;
}

/** The settings a pipeline's failed run waits on, as the servers are given them. */
function settingsOf(prometheusYaml: string, rules: Record<string, string>, alertmanager: any): PageSettings {
  const config = parse(prometheusYaml);
  const job = config.scrape_configs[0];
  const runFailed = Object.values(rules)
    .flatMap((file) => parse(file).groups.flatMap((group: { rules: { alert?: string; for?: string }[] }) => group.rules))
    .find((rule: { alert?: string }) => rule.alert === 'PipelineRunFailed');
  if (!runFailed) throw new Error('the shipped rules have no PipelineRunFailed alert: bench:page times it');
  // A pipeline without an owner goes to the root route's receiver; no route under it sets its own waits.
  return {
    scrape_interval: job.scrape_interval ?? config.global.scrape_interval ?? '1m',
    evaluation_interval: config.global.evaluation_interval ?? '1m',
    run_failed_for: runFailed.for ?? '0s',
    group_wait: alertmanager.route.group_wait ?? '30s',
    group_interval: alertmanager.route.group_interval ?? '5m',
  };
}

export interface Notification {
  receivedAt: number;
  receiver: string;
  status: string;
  alerts: { status: string; labels: Record<string, string>; startsAt: string }[];
}

export interface Webhook {
  url: string;
  /** The first notification received of a firing `alertname` for `pipeline`, if one came. */
  firing(alertname: string, pipeline: string): Notification | undefined;
  close(): Promise<void>;
}

/** A webhook server on loopback that keeps every notification Alertmanager sends, with when it came. */
export async function startWebhook(): Promise<Webhook> {
  const received: Notification[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ receivedAt: Date.now(), ...(JSON.parse(body) as Omit<Notification, 'receivedAt'>) });
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    firing: (alertname, pipeline) =>
      received.find((n) => n.alerts.some((a) => a.status === 'firing' && a.labels.alertname === alertname && a.labels.pipeline === pipeline)),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Stack {
  prometheus: Server;
  alertmanager: Server;
  webhook: Webhook;
  settings: PageSettings;
  stop(): Promise<void>;
}

/** The settings `mode` runs with, read from the shipped files at `repo` without starting anything. */
export function shippedSettings(repo: string, mode: Mode): PageSettings {
  const shipped = readShipped(repo);
  const { 'prometheus.yml': prometheusYaml, ...rules } = prometheusFiles(shipped, mode, { metrics: 'pipemon:9464', alertmanager: 'alertmanager:9093' });
  return settingsOf(prometheusYaml, rules, alertmanagerConfig(shipped, mode, 'http://127.0.0.1:9'));
}

/** Starts the webhook, Alertmanager and Prometheus scraping `metricsHost` (host:port); stop() stops what started, whatever failed. */
export async function startStack(repo: string, mode: Mode, metricsHost: string): Promise<Stack> {
  const shipped = readShipped(repo);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const webhook = await startWebhook();
    stops.push(webhook.close);
    const amConfig = alertmanagerConfig(shipped, mode, webhook.url);
    const alertmanager = await startAlertmanager(stringify(amConfig));
    stops.push(alertmanager.stop);
    const files = prometheusFiles(shipped, mode, { metrics: metricsHost, alertmanager: new URL(alertmanager.url).host });
    const { 'prometheus.yml': prometheusYaml, ...rules } = files;
    const prometheus = await startPrometheusWithFiles(files);
    stops.push(prometheus.stop);
    return { prometheus, alertmanager, webhook, settings: settingsOf(prometheusYaml, rules, amConfig), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
