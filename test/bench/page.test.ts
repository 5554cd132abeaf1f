/**
 * bench:page in its CI mode (every interval and for: one second): a failed run of each producer reaches
 * the webhook through the shipped rules and routes, the bench's times follow the servers' own, and the
 * shipped settings bound the wait under a minute. No timings are asserted.
 */
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOPS, hopsOf, measurePaging, parseFlags, settingsBound, type PageReport } from '../../bench/page.js';
import { PRODUCERS } from '../../bench/page-producers.js';
import { shippedSettings } from '../../bench/page-stack.js';
import { durationSeconds } from '../../dashboards/prometheus/rules.js';
import { createTestDatabase, testServerUrl } from '../helpers/backends.js';
import { PROMETHEUS_HINT, prometheusInstalled } from '../helpers/prometheus.js';
import { REPO, repoPath } from '../helpers/repo.js';
import { warnSkipped } from '../helpers/tools.js';

const installed = prometheusInstalled();
const built = fs.existsSync(repoPath('dist/bin/pipemon.js'));
if (!installed || !built) {
  const missing = !installed ? ['Prometheus or Alertmanager not found', PROMETHEUS_HINT] : ['dist/ is missing', 'npm run build (npm test does it)'];
  if (process.env.CI) throw new Error(`CI is set and ${missing[0]}: ${missing[1]}`);
  warnSkipped('test/bench/page.test.ts', missing[0]!, missing[1]!);
}

describe('bench:page settings', () => {
  it('reads the shipped settings, and they let a scraped failure wait less than a minute before its notification leaves', () => {
    const shipped = shippedSettings(REPO, 'defaults');
    expect(settingsBound(shipped)).toBeLessThan(60);
    expect(shippedSettings(REPO, 'ci')).toEqual({ ...shipped, scrape_interval: '1s', evaluation_interval: '1s', run_failed_for: '1s', group_wait: '1s' });
  });

  it('takes --ci and --rounds=N, and refuses anything else naming what it takes', () => {
    expect(parseFlags([])).toEqual({ mode: 'defaults', rounds: 5 });
    expect(parseFlags(['--ci', '--rounds=2'])).toEqual({ mode: 'ci', rounds: 2 });
    expect(() => parseFlags(['--rounds=0'])).toThrow(/--rounds must be a positive whole number, got "0"/);
    expect(() => parseFlags(['--fast'])).toThrow(/bench:page takes --ci and --rounds=N, not --fast/);
  });
});

describe.runIf(installed && built)('bench:page in its CI mode', () => {
  let report: PageReport;

  beforeAll(async () => {
    report = await measurePaging({ mode: 'ci', rounds: 1, repo: REPO, dist: repoPath('dist'), databaseUrl: await createTestDatabase(testServerUrl()) });
  }, 300_000);

  it("follows a failed run of each producer to a webhook notification of PipelineRunFailed, routed as shipped to pipemon's operators", () => {
    expect(report.traces.map((t) => t.producer).sort()).toEqual([...PRODUCERS].sort());
    for (const { notification, pipeline } of report.traces) {
      // A pipeline without an owner: the root route's receiver, critical.
      expect(notification.receiver).toBe('pipemon-operators');
      const alert = notification.alerts.find((a) => a.labels.pipeline === pipeline)!;
      expect(alert.labels).toMatchObject({ alertname: 'PipelineRunFailed', severity: 'critical', tenant: 'bench', job: 'pipemon' });
    }
  });

  it("times each failure by the servers' own clocks: the alert starts after the run ended, and the notification leaves a group_wait after", () => {
    const groupWaitMs = durationSeconds(report.settings.group_wait) * 1000;
    for (const trace of report.traces) {
      const alert = trace.notification.alerts.find((a) => a.labels.pipeline === trace.pipeline)!;
      const startsAt = Date.parse(alert.startsAt);
      expect(trace.acknowledged, trace.producer).toBeGreaterThanOrEqual(trace.emitted);
      expect(startsAt, trace.producer).toBeGreaterThanOrEqual(trace.emitted);
      expect(trace.notified - startsAt, trace.producer).toBeGreaterThanOrEqual(groupWaitMs);
    }
  });

  it('reports every hop per producer and over all, the hops of a failure adding up to its total', () => {
    expect(report.settings).toMatchObject({ scrape_interval: '1s', evaluation_interval: '1s', run_failed_for: '1s', group_wait: '1s' });
    expect(report.bound_seconds).toBe(4);
    for (const summary of [report.hops, ...Object.values(report.by_producer)]) expect(Object.keys(summary)).toEqual(['delivery', ...HOPS, 'total']);
    for (const trace of report.traces) {
      const hops = hopsOf(trace);
      expect(HOPS.reduce((sum, hop) => sum + hops[hop], 0)).toBeCloseTo(hops.total, 6);
    }
  });
});
