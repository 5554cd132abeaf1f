/**
 * deploy/prometheus.yml, the stack's Prometheus: the file the prometheus service runs, with every rule
 * file of the mixin (promtool checks them as the container sees them), scraping pipemon and the
 * Collector and alerting to Alertmanager on ports they listen on, at the interval Grafana declares.
 * Without promtool its check fails when CI is set and is skipped with a loud warning otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { config as mixinConfig } from '../../contract/alert-config.js';
import { renderRules } from '../../dashboards/prometheus/rules.js';
import {
  collectorMetricsPort,
  expectReachable,
  flag,
  mountOf,
  PIPEMON_METRICS_PORT,
  portOf,
  required,
  service,
  stackTool,
} from '../helpers/compose.js';
import { readRepoFile } from '../helpers/repo.js';
import { run, withTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/temp.js';

const promtool = stackTool('test/deploy/prometheus.test.ts', 'promtool');

describe("the stack's Prometheus (deploy/prometheus.yml)", () => {
  const prometheus = service('prometheus');
  const configFile = flag(prometheus.command ?? [], '--config.file') ?? '/etc/prometheus/prometheus.yml';
  const promConfig = parse(readRepoFile('deploy/prometheus.yml')) as {
    global: { scrape_interval: string; evaluation_interval: string };
    rule_files: string[];
    alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    scrape_configs: { job_name: string; scrape_interval?: string; static_configs: { targets: string[] }[] }[];
  };
  const targetsOf = (job: string) => promConfig.scrape_configs.find((c) => c.job_name === job)?.static_configs.flatMap((c) => c.targets) ?? [];

  it('is the file the prometheus service runs, with every rule file of the mixin', () => {
    expect(mountOf('prometheus', 'deploy/prometheus.yml').target).toBe(configFile);
    const loaded = promConfig.rule_files.map((file) => path.posix.resolve(path.posix.dirname(configFile), file));
    for (const name of Object.keys(renderRules(mixinConfig))) {
      expect(loaded, `dashboards/prometheus/${name}`).toContain(mountOf('prometheus', `dashboards/prometheus/${name}`).target);
    }
  });

  withTools(promtool)('passes promtool check config with its rule files, laid out as the container sees them', async () => {
    const bin = required('promtool', promtool);
    // The container's /etc/prometheus, from the service's mounts: rule_files resolve as they do there.
    const root = tempDir('pipemon-prometheus-etc-');
    try {
      const etc = path.posix.dirname(configFile);
      for (const mount of prometheus.mounts.filter((m) => m.bind && m.target.startsWith(`${etc}/`))) {
        const copy = path.join(root, path.posix.relative(etc, mount.target));
        fs.mkdirSync(path.dirname(copy), { recursive: true });
        fs.cpSync(mount.source, copy, { recursive: true });
      }
      const { stdout } = await run(bin, ['check', 'config', path.join(root, path.posix.basename(configFile))], { cwd: root });
      expect(stdout).toContain(`SUCCESS: ${promConfig.rule_files.length} rule files found`);
      for (const file of promConfig.rule_files) expect(stdout).toMatch(new RegExp(`Checking \\S*${file.replace(/[.*]/g, '\\$&')}\\s+SUCCESS: \\d+ rules found`));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("scrapes pipemon's metrics port as job pipemon (the rules' selector), and the Collector's", () => {
    expect(JSON.stringify(renderRules(mixinConfig))).toContain('job=\\"pipemon\\"');
    expect(targetsOf('pipemon')).toEqual([`pipemon:${PIPEMON_METRICS_PORT}`]);
    expect(targetsOf('otel-collector')).toEqual([`otel-collector:${collectorMetricsPort}`]);
    for (const { static_configs } of promConfig.scrape_configs) {
      for (const target of static_configs.flatMap((c) => c.targets)) expectReachable(target.split(':')[0]!, portOf(target), `scrape target ${target}`);
    }
  });

  it('alerts to the alertmanager service', () => {
    const targets = promConfig.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets));
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      expect(target.split(':')[0]).toBe('alertmanager');
      expectReachable(target.split(':')[0]!, portOf(target), `alertmanager target ${target}`);
    }
  });

  it('evaluates the rules as often as it scrapes pipemon: a new sample is judged at the next evaluation, none is judged twice for nothing', () => {
    const job = promConfig.scrape_configs.find((c) => c.job_name === 'pipemon')!;
    expect(promConfig.global.evaluation_interval).toBe(job.scrape_interval ?? promConfig.global.scrape_interval);
  });

  it("scrapes pipemon at the interval Grafana's Prometheus datasource declares", () => {
    const { datasources } = parse(readRepoFile('dashboards/grafana/provisioning/datasources/pipemon.yaml')) as { datasources: { type: string; jsonData: { timeInterval?: string } }[] };
    const declared = datasources.find((d) => d.type === 'prometheus')!.jsonData.timeInterval;
    const job = promConfig.scrape_configs.find((c) => c.job_name === 'pipemon')!;
    expect(job.scrape_interval ?? promConfig.global.scrape_interval).toBe(declared);
  });
});
