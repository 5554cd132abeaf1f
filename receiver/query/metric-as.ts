/**
 * What /metric-points answers for each point (its `as=`), and the metric kinds each applies to: a
 * gauge's value has no increase, a sum has no quantile.
 */
import { METRIC_KINDS, type MetricKind } from '../model/records.js';

export const METRIC_AS = {
  value: METRIC_KINDS,
  increase: ['sum'],
  rate: ['sum'],
  quantile: ['histogram', 'exponential_histogram', 'summary'],
} as const satisfies Record<string, readonly MetricKind[]>;

export type MetricAs = keyof typeof METRIC_AS;

export const appliesTo = (as: MetricAs, kind: MetricKind): boolean => (METRIC_AS[as] as readonly MetricKind[]).includes(kind);

/** OTLP AggregationTemporality as the API names it: 1 delta, 2 cumulative, none for gauges and summaries. */
export const DELTA = 1;
export const CUMULATIVE = 2;
export const temporalityName = (temporality: number): 'delta' | 'cumulative' | null =>
  temporality === DELTA ? 'delta' : temporality === CUMULATIVE ? 'cumulative' : null;
