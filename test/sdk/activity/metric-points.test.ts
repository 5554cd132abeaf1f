import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { decodeMetricsProtobuf } from '../../../receiver/decode/otlp-metrics-protobuf.js';
import { metricChannel, metricsRequest, pointsOf } from '../../../sdk/activity/metric-points.js';

const resource = resourceFromAttributes({ 'service.name': 'orders-etl' });

/** Collections of a real MeterProvider: counters, a histogram and a gauge in two scopes, `times` times. */
async function collections(times: number): Promise<ResourceMetrics[]> {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const provider = new MeterProvider({ resource, readers: [reader] });
  const etl = provider.getMeter('etl', '1.2.0');
  const rows = etl.createCounter('rows', { unit: '{row}' });
  const latency = etl.createHistogram('batch.duration', { unit: 's' });
  const lag = provider.getMeter('lag').createGauge('source.lag');
  for (let i = 0; i < times; i++) {
    rows.add(10, { table: 'orders' });
    rows.add(3, { table: 'customers' });
    latency.record(0.25 * (i + 1));
    lag.record(7 - i);
    await reader.forceFlush();
  }
  await provider.shutdown();
  return exporter.getMetrics();
}

describe('metric points as delivery records', () => {
  it('are one record per data point, and back together serialize to the bytes the official exporter sends', async () => {
    const [collected] = await collections(1);
    const points = pointsOf(collected!, false);
    expect(points.map((p) => p.metric.descriptor.name)).toEqual(['rows', 'rows', 'batch.duration', 'source.lag']);
    const request = ProtobufMetricsSerializer.serializeRequest(metricsRequest(resource, points))!;
    expect(Buffer.from(request).equals(Buffer.from(ProtobufMetricsSerializer.serializeRequest(collected!)!))).toBe(true);
  });

  it('serialize the points of several collections as one request the receiver reads point by point', async () => {
    const [first, second] = await collections(2);
    const channel = metricChannel(resource);
    const rows = decodeMetricsProtobuf(channel.serialize([...pointsOf(first!, false), ...pointsOf(second!, true)])!);
    expect(rows).toHaveLength(8);
    const totals = rows.filter((row) => row.metric.name === 'rows').map((row) => [row.attributes.table, Number(row.asDouble ?? row.asInt)]);
    // Cumulative: the second collection holds the sums so far.
    expect(totals).toEqual([
      ['orders', 10],
      ['customers', 3],
      ['orders', 20],
      ['customers', 6],
    ]);
    expect(rows.find((row) => row.metric.name === 'rows')!.metric).toMatchObject({ kind: 'sum', temporality: 2, monotonic: true, unit: '{row}' });
    expect(rows.filter((row) => row.metric.name === 'batch.duration').map((row) => [row.count, row.sum])).toEqual([
      ['1', 0.25],
      ['2', 0.75],
    ]);
    expect(rows.filter((row) => row.metric.name === 'source.lag').map((row) => [row.scope.name, row.asDouble ?? Number(row.asInt)])).toEqual([
      ['lag', 7],
      ['lag', 6],
    ]);
    expect(rows[0]!.resource.attributes).toEqual({ 'service.name': 'orders-etl' });
  });

  it('keep a run\'s last points and buffer them with the rest, the others being ordinary', async () => {
    const [collected] = await collections(1);
    const channel = metricChannel(resource);
    const [ordinary] = pointsOf(collected!, false);
    const [last] = pointsOf(collected!, true);
    expect([channel.mustKeep(ordinary!), channel.mustKeep(last!)]).toEqual([false, true]);
    expect(channel.writeThrough!(last!)).toBe(false);
    expect(channel.signal).toBe('metrics');
  });
});
