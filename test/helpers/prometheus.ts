/**
 * A real Prometheus and a real Alertmanager for tests (harness/prometheus.ts starts them): a Prometheus
 * with a generated configuration scraping the given targets every second unless told otherwise.
 */
import { stringify } from 'yaml';
import { startPrometheusWithFiles, type Server } from '../../harness/prometheus.js';

export { instantQuery, PROMETHEUS_HINT, prometheusInstalled, startAlertmanager, type Server } from '../../harness/prometheus.js';

export interface PrometheusOptions {
  /** host:port targets of the `pipemon` job. */
  targets: string[];
  /** Rule files' contents (YAML), by file name. */
  rules?: Record<string, string>;
  alertmanagerUrl?: string;
  intervalSeconds?: number;
  /** Takes remote write at /api/v1/write (--web.enable-remote-write-receiver). */
  remoteWriteReceiver?: boolean;
}

export function startPrometheus(options: PrometheusOptions): Promise<Server> {
  const interval = `${options.intervalSeconds ?? 1}s`;
  const rules = options.rules ?? {};
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: [{ job_name: 'pipemon', static_configs: [{ targets: options.targets }] }],
    rule_files: Object.keys(rules),
    ...(options.alertmanagerUrl ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(options.alertmanagerUrl).host] }] }] } } : {}),
  };
  return startPrometheusWithFiles({ 'prometheus.yml': stringify(config), ...rules }, options.remoteWriteReceiver ? ['--web.enable-remote-write-receiver'] : []);
}
