/**
 * The prometheus overlay (collector/backends/prometheus.yaml), run: a counter, a gauge and a histogram
 * that the official OpenTelemetry JS SDK sends to the gateway, in two exports, reach Debian's Prometheus
 * by remote write as the series Prometheus users query, with their values, and with the pipeline, the run,
 * the service and the environment as labels (every other resource attribute on target_info only); pipemon
 * lists the same metrics under the run. The Collector and pipemon expose none of them on their own
 * /metrics. Without the built Collector or Prometheus these tests fail when CI is set and are skipped
 * with a loud warning otherwise.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { found } from '../../helpers/async.js';
import { createTestDatabase, testServerUrl } from '../../helpers/backends.js';
import { COLLECTOR_HINT, collectorBinary, collectorBuilt, startCollector, type Collector } from '../../helpers/collector.js';
import { instantQuery, PROMETHEUS_HINT, prometheusInstalled, startPrometheus, type Server } from '../../helpers/prometheus.js';
import { getJson, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { REPO } from '../../helpers/repo.js';
import { warnSkipped } from '../../helpers/tools.js';

const SUITE = 'test/collector/backends/prometheus.test.ts';
const built = collectorBuilt();
const prometheusFound = prometheusInstalled();
if (!built) warnSkipped(SUITE, `${collectorBinary()} is missing`, COLLECTOR_HINT);
if (!prometheusFound) warnSkipped(SUITE, 'Prometheus not found', PROMETHEUS_HINT);
const withTools = (built && prometheusFound) || process.env.CI ? describe : describe.skip;

beforeAll(() => {
  if (!built && process.env.CI) throw new Error(`CI is set and the Collector is not built (${collectorBinary()} is missing): ${COLLECTOR_HINT}`);
  if (!prometheusFound && process.env.CI) throw new Error(`CI is set and Prometheus is missing: ${PROMETHEUS_HINT}`);
});

/** Collects when asked, as a pipeline's last flush does: each collect() is one export the test makes itself. */
class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function exportOnce(exporter: OTLPMetricExporter, metrics: ResourceMetrics): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(metrics, resolve));
}

type Series = { metric: Record<string, string>; value: [number, string] };

/** Polls Prometheus until `expr` returns series that `ready` accepts; a bounded wait, as remote write lands asynchronously. */
function seriesOf(prometheus: Server, expr: string, ready: (series: Series[]) => boolean): Promise<Series[]> {
  return found(
    async () => {
      const series = await instantQuery(prometheus.url, expr);
      return ready(series) && series;
    },
    `Prometheus answers ${expr} with the exported values`,
    { timeoutMs: 30_000, everyMs: 250 },
  );
}

const valueOf = (series: Series[], labels: Record<string, string>) =>
  series.filter((s) => Object.entries(labels).every(([k, v]) => s.metric[k] === v)).map((s) => Number(s.value[1]));

withTools('the gateway with the prometheus overlay: official OpenTelemetry JS metrics -> the Collector -> Prometheus', () => {
  let prometheus: Server;
  let receiver: TestReceiver;
  let collector: Collector;

  beforeAll(async () => {
    prometheus = await startPrometheus({ targets: [], remoteWriteReceiver: true });
    receiver = await startTestReceiver({ databaseUrl: await createTestDatabase(testServerUrl()) });
    collector = await startCollector({
      pipemonUrl: receiver.url,
      pipemonKey: receiver.key,
      overlays: [path.join(REPO, 'collector', 'backends', 'prometheus.yaml')],
      env: { PROMETHEUS_REMOTE_WRITE_URL: `${prometheus.url}/api/v1/write` },
    });
  });
  afterAll(async () => {
    await collector?.stop();
    await receiver?.close();
    await prometheus?.stop();
  });

  it('writes a run\'s counter, gauge and histogram to Prometheus with its pipeline and run as labels', async () => {
    const runId = `run-${randomUUID().slice(0, 8)}`;
    const resource = resourceFromAttributes({
      'service.name': 'orders-etl',
      'deployment.environment.name': 'production',
      'cicd.pipeline.name': 'orders-load',
      'cicd.pipeline.run.id': runId,
      'host.name': 'worker-7',
    });
    const reader = new ManualReader();
    const provider = new MeterProvider({ resource, readers: [reader] });
    const exporter = new OTLPMetricExporter({ url: `${collector.httpUrl}/v1/metrics` });
    const meter = provider.getMeter('gateway-test', '1.2.3');
    const rows = meter.createCounter('pipeline.rows.loaded', { unit: '{row}', description: 'Rows loaded' });
    const depth = meter.createGauge('pipeline.queue.depth', { description: 'Batches waiting' });
    const duration = meter.createHistogram('pipeline.stage.duration', { unit: 's', advice: { explicitBucketBoundaries: [1, 10, 60] } });

    rows.add(100, { stage: 'extract' });
    rows.add(7, { stage: 'load' });
    depth.record(42);
    for (const seconds of [0.5, 5, 30]) duration.record(seconds, { stage: 'load' });
    const first = await reader.collect();
    expect((await exportOnce(exporter, first.resourceMetrics)).code).toBe(ExportResultCode.SUCCESS);
    // A second export of the same series, as the SDK makes every interval: cumulative totals that
    // Prometheus must take in order after the first ones.
    rows.add(18, { stage: 'extract' });
    depth.record(40);
    duration.record(120, { stage: 'load' });
    const second = await reader.collect();
    expect((await exportOnce(exporter, second.resourceMetrics)).code).toBe(ExportResultCode.SUCCESS);
    await exporter.shutdown();
    await provider.shutdown();

    const run = `cicd_pipeline_run_id="${runId}"`;
    const counter = await seriesOf(prometheus, `pipeline_rows_loaded_total{${run}}`, (s) => valueOf(s, { stage: 'extract' })[0] === 118);
    expect(valueOf(counter, { stage: 'load' })).toEqual([7]);
    for (const series of counter) {
      expect(series.metric).toMatchObject({
        job: 'orders-etl',
        service_name: 'orders-etl',
        deployment_environment_name: 'production',
        cicd_pipeline_name: 'orders-load',
        cicd_pipeline_run_id: runId,
        otel_scope_name: 'gateway-test',
        otel_scope_version: '1.2.3',
      });
      // Resource attributes not listed in the overlay stay on target_info.
      expect(series.metric).not.toHaveProperty('host_name');
    }

    const gauge = await seriesOf(prometheus, `pipeline_queue_depth{${run}}`, (s) => valueOf(s, {})[0] === 40);
    expect(gauge).toHaveLength(1);

    const buckets = await seriesOf(prometheus, `pipeline_stage_duration_seconds_bucket{${run}, stage="load"}`, (s) => valueOf(s, { le: '+Inf' })[0] === 4);
    expect(Object.fromEntries(buckets.map((s) => [s.metric.le, Number(s.value[1])]))).toEqual({ '1': 1, '10': 2, '60': 3, '+Inf': 4 });
    expect(valueOf(await instantQuery(prometheus.url, `pipeline_stage_duration_seconds_count{${run}}`), {})).toEqual([4]);
    expect(valueOf(await instantQuery(prometheus.url, `pipeline_stage_duration_seconds_sum{${run}}`), {})).toEqual([155.5]);
    // By pipeline, without a join on target_info: what the labels are for.
    expect(valueOf(await instantQuery(prometheus.url, 'sum by (cicd_pipeline_name) (pipeline_rows_loaded_total{cicd_pipeline_name="orders-load"})'), {})).toEqual([125]);

    const info = await instantQuery(prometheus.url, `target_info{${run}}`);
    expect(info.map((s) => s.metric)).toEqual([expect.objectContaining({ job: 'orders-etl', host_name: 'worker-7' })]);

    // pipemon keeps the run's metrics beside Prometheus, under their OTLP names.
    const names = await found(
      async () => {
        const { status, body } = await getJson(receiver.url, `/api/v1/metric-names?run_id=${runId}`, receiver.key);
        return status === 200 && body.items.length === 3 && body.items;
      },
      `pipemon lists run ${runId}'s 3 metrics`,
    );
    expect(names.map((m: any) => ({ name: m.name, kind: m.kind, series: m.series }))).toEqual([
      { name: 'pipeline.queue.depth', kind: 'gauge', series: 1 },
      { name: 'pipeline.rows.loaded', kind: 'sum', series: 2 },
      { name: 'pipeline.stage.duration', kind: 'histogram', series: 1 },
    ]);

    // Neither the gateway nor pipemon re-exposes application metrics on its own /metrics.
    for (const url of [collector.metricsUrl, `${receiver.url}/metrics`]) {
      const text = await (await fetch(url)).text();
      expect(text, url).toContain('# TYPE');
      expect(text, url).not.toMatch(/pipeline_rows_loaded|pipeline_queue_depth/);
    }
    // Every export reached Prometheus in order: none refused as out of order, none retried.
    expect(collector.output().split('\n').filter((line) => line.includes('prometheus_remote_write') && /error|warn/i.test(line))).toEqual([]);
  });
});
