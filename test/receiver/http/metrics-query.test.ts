/**
 * An application's metrics, exported by the official OpenTelemetry JS SDK (a MeterProvider and the OTLP
 * protobuf exporter) to the real receiver on each backend, read back through the query API: the run's
 * metric names, its series, and its points as exported and as each export interval's increase and
 * quantile; the quantile parameter's parsing.
 */
import { randomBytes } from 'node:crypto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR } from '../../../contract/vocabulary.js';
import { fraction } from '../../../receiver/http/params.js';
import { api } from '../../helpers/api.js';
import { receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';

describe('the quantile parameter', () => {
  const quantile = fraction('A quantile.');
  it('takes a number above 0 and at most 1, and refuses anything else saying so', () => {
    expect(['0.5', '.99', '1', '1.0', '0.000001'].map((raw) => quantile.parse(raw, 'quantile'))).toEqual([0.5, 0.99, 1, 1, 0.000001]);
    for (const raw of ['0', '0.0', '1.01', '2', '-0.5', '1e-3', 'NaN', '50%']) {
      expect(() => quantile.parse(raw, 'quantile'), raw).toThrow(`"quantile" must be a number above 0 and at most 1 (0.5, 0.99), got "${raw}"`);
    }
  });
});

describe.each(receiverBackends())("an application's SDK metrics read back on $name", (backend) => {
  let r: TestReceiver;
  let key: string;
  const run = `sdk-run-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    r = await startTestReceiver(await backend.options());
    key = await r.keyFor(`sdk-${run}`, ['ingest', 'read']);
    const exporter = new OTLPMetricExporter({ url: `${r.url}/v1/metrics`, headers: { authorization: `Bearer ${key}` } });
    // A long interval: only the test's flushes export.
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const resource = resourceFromAttributes({ 'service.name': 'loader', [ATTR.pipelineName]: 'sdk-pipeline', [ATTR.runId]: run });
    const provider = new MeterProvider({ resource, readers: [reader] });
    const meter = provider.getMeter('loader', '2.0.0');
    const rows = meter.createCounter('rows.loaded', { unit: '{row}', description: 'rows loaded' });
    const seconds = meter.createHistogram('batch.seconds', { unit: 's', advice: { explicitBucketBoundaries: [1, 10] } });
    rows.add(5, { table: 'orders' });
    for (const s of [0.5, 2, 20]) seconds.record(s);
    await provider.forceFlush();
    rows.add(7, { table: 'orders' });
    seconds.record(3);
    // Shutting down collects and exports the second round: two points each.
    await provider.shutdown();
  });
  afterAll(() => r?.close());

  const get = async (path: string) => {
    const answer = await api(r.url, path, { key });
    expect([path, answer.status]).toEqual([path, 200]);
    return answer.body;
  };

  it("lists the run's metrics and series as the SDK described them", async () => {
    const names = await get(`/api/v1/metric-names?run_id=${run}`);
    expect(names.items).toEqual([
      { name: 'batch.seconds', kind: 'histogram', unit: 's', description: '', temporality: 'cumulative', monotonic: false, series: 1 },
      { name: 'rows.loaded', kind: 'sum', unit: '{row}', description: 'rows loaded', temporality: 'cumulative', monotonic: true, series: 1 },
    ]);
    const series = await get(`/api/v1/series?run_id=${run}&metric=batch.seconds`);
    expect(series.items).toMatchObject([{ service_name: 'loader', pipeline: 'sdk-pipeline', run_id: run, explicit_bounds: [1, 10], scope: { name: 'loader', version: '2.0.0' } }]);
  });

  it('answers the points as exported, and what each export interval counted', async () => {
    const [rows] = (await get(`/api/v1/metric-points?run_id=${run}&metric=rows.loaded`)).series;
    expect(rows.attributes).toEqual({ table: 'orders' });
    expect(rows.points.map((p: any) => p.value)).toEqual([5, 12]);
    const [increase] = (await get(`/api/v1/metric-points?run_id=${run}&metric=rows.loaded&as=increase`)).series;
    expect(increase.points.map((p: any) => [p.value, p.reset])).toEqual([[5, false], [7, false]]);
    expect(increase.points[0].from_time_unix_nano).toBe(rows.points[0].start_time_unix_nano);

    const [histogram] = (await get(`/api/v1/metric-points?run_id=${run}&metric=batch.seconds`)).series;
    expect(histogram.points.map((p: any) => [p.count, p.sum, p.min, p.max, p.bucket_counts])).toEqual([
      [3, 22.5, 0.5, 20, [1, 1, 1]],
      [4, 25.5, 0.5, 20, [1, 2, 1]],
    ]);
    // The first interval's 3 observations: rank 1.5 is half way through (1, 10]; the second's one, 3, lies in (1, 10] too.
    const [median] = (await get(`/api/v1/metric-points?run_id=${run}&metric=batch.seconds&as=quantile&quantile=0.5`)).series;
    expect(median.points.map((p: any) => p.value)).toEqual([1 + 9 * 0.5, 1 + 9 * 0.5]);
  });
});
