/**
 * What /metric-points answers for each point (its `as=`), and the metric kinds each applies to: a
 * gauge's value has no increase, a sum has no quantile. Added up by run (by=run), fewer: a
 * distribution's points are no numbers to add, and only explicit buckets of the same bounds add up
 * (exponential ones of other scales and summaries' quantiles do not, without an estimate).
 */
import { Refusal } from '../model/outcome.js';
import { METRIC_KINDS, type MetricKind } from '../model/records.js';

export const METRIC_AS = {
  value: METRIC_KINDS,
  increase: ['sum'],
  rate: ['sum'],
  quantile: ['histogram', 'exponential_histogram', 'summary'],
} as const satisfies Record<string, readonly MetricKind[]>;

export type MetricAs = keyof typeof METRIC_AS;

export const METRIC_AS_BY_RUN = {
  value: ['gauge', 'sum'],
  increase: ['sum'],
  rate: ['sum'],
  quantile: ['histogram'],
} as const satisfies Record<MetricAs, readonly MetricKind[]>;

const kindsOf = (as: MetricAs, byRun: boolean): readonly MetricKind[] => (byRun ? METRIC_AS_BY_RUN : METRIC_AS)[as];

export const appliesTo = (as: MetricAs, kind: MetricKind, byRun = false): boolean => kindsOf(as, byRun).includes(kind);

/** Refuses an as= (with by=run or not) that some of the series' kinds have no meaning for, naming the as= that apply to all of them. */
export function refuseKinds(as: MetricAs, series: readonly { metric: string; kind: MetricKind }[], byRun = false): void {
  const wrong = [...new Set(series.filter((row) => !appliesTo(as, row.kind, byRun)).map((row) => `"${row.metric}" is a ${row.kind}`))];
  if (wrong.length === 0) return;
  const by = byRun ? ' by=run' : '';
  const other = (Object.keys(METRIC_AS) as MetricAs[]).filter((name) => series.every((row) => appliesTo(name, row.kind, byRun))).map((name) => `as=${name}${by}`);
  const ask = other.length > 0 ? `ask ${other.join(' or ')}` : '';
  const remedy = byRun ? [ask, 'leave out by=run to read each series'].filter(Boolean).join(', or ') : ask;
  throw new Refusal('invalid', `as=${as}${by} applies to ${kindsOf(as, byRun).join(', ')} metrics, and ${wrong.join(', ')}: ${remedy}`);
}

/** OTLP AggregationTemporality as the API names it: 1 delta, 2 cumulative, none for gauges and summaries. */
export const DELTA = 1;
export const CUMULATIVE = 2;
export const temporalityName = (temporality: number): 'delta' | 'cumulative' | null =>
  temporality === DELTA ? 'delta' : temporality === CUMULATIVE ? 'cumulative' : null;
