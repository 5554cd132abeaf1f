/**
 * Metrics as records of the delivery: one data point each, so that the spool, the stats and the drop
 * reports count points as they count log records and spans. A batch of points is one OTLP
 * ExportMetricsServiceRequest, serialized as the official OTLP/protobuf metrics exporter does.
 */
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { Resource } from '@opentelemetry/resources';
import type { DataPoint, MetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { Channel } from '../delivery/record-queue.js';

type Scope = ScopeMetrics['scope'];

export interface MetricPoint {
  readonly scope: Scope;
  /** The metric the point was collected in; its other points are records of their own. */
  readonly metric: MetricData;
  readonly point: DataPoint<unknown>;
  /** Collected at its run's end: the run's final values, kept as its end record is. */
  readonly last: boolean;
}

/** The points of one collection. */
export function pointsOf(collected: ResourceMetrics, last: boolean): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const { scope, metrics } of collected.scopeMetrics) {
    for (const metric of metrics) {
      for (const point of metric.dataPoints as DataPoint<unknown>[]) points.push({ scope, metric, point, last });
    }
  }
  return points;
}

/** Points back into one request: each scope and each metric once, with its points in the order given. */
export function metricsRequest(resource: Resource, points: MetricPoint[]): ResourceMetrics {
  const scopes = new Map<Scope, Map<MetricData, DataPoint<unknown>[]>>();
  for (const { scope, metric, point } of points) {
    let metrics = scopes.get(scope);
    if (metrics === undefined) scopes.set(scope, (metrics = new Map()));
    let dataPoints = metrics.get(metric);
    if (dataPoints === undefined) metrics.set(metric, (dataPoints = []));
    dataPoints.push(point);
  }
  const scopeMetrics = [...scopes].map(([scope, metrics]) => ({
    scope,
    metrics: [...metrics].map(([metric, dataPoints]) => ({ ...metric, dataPoints }) as MetricData),
  }));
  return { resource, scopeMetrics };
}

/** The delivery's metrics channel of one SDK instance, whose points all have its `resource`. */
export function metricChannel(resource: Resource): Channel<MetricPoint> {
  return {
    signal: 'metrics',
    serialize: (points) => ProtobufMetricsSerializer.serializeRequest(metricsRequest(resource, points)),
    mustKeep: (point) => point.last,
    // Each collection is appended as a whole once handed over (run-meters.ts): a run's last points
    // are on disk then, in frames of many rather than one append each.
    writeThrough: () => false,
  };
}
