/**
 * The empty Metric and data point row both metrics decoders start from, so that what a request leaves
 * out decodes alike in protobuf and JSON (conventions in records.ts).
 */
import type { Metric, MetricKind, MetricPointRow, Resource, Scope } from '../model/records.js';

/** A fresh object per OTLP Metric, shared by its rows; `kind` is set when its data field is read. */
export function newMetric(): Metric {
  return { name: '', description: '', unit: '', kind: 'gauge', temporality: 0, monotonic: false, metadata: {} };
}

/** A row with every field at its empty value; each kind's reader fills in its own. */
export function newPointRow(resource: Resource, scope: Scope, metric: Metric, kind: MetricKind): MetricPointRow {
  return {
    resource,
    scope,
    metric,
    attributes: {},
    startTimeUnixNano: '0',
    timeUnixNano: '0',
    flags: 0,
    asDouble: null,
    asInt: null,
    count: '0',
    // Summary's sum is a plain proto3 double, left out when 0; the histograms' is optional, so absent is null.
    sum: kind === 'summary' ? 0 : null,
    min: null,
    max: null,
    bucketCounts: [],
    explicitBounds: [],
    exponential:
      kind === 'exponential_histogram'
        ? { scale: 0, zeroCount: '0', zeroThreshold: 0, positive: { offset: 0, bucketCounts: [] }, negative: { offset: 0, bucketCounts: [] } }
        : null,
    quantileValues: [],
    exemplars: [],
  };
}
