/**
 * Bounded label values: a metric holds at most `maxValues` distinct values of a label that comes from
 * the data (pipeline, stage, error type, owner); past that, new values are reported as OVERFLOW_LABEL,
 * so that one misbehaving client cannot grow Prometheus's series without end.
 */
export const OVERFLOW_LABEL = '__overflow__';

export const DEFAULT_MAX_LABEL_VALUES = 500;

/** The label value to use for `value` under `key`: itself until the key holds maxValues of them. */
export type LabelBound = (key: string, value: string) => string;

export function createLabelBound(maxValues = DEFAULT_MAX_LABEL_VALUES): LabelBound {
  const seen = new Map<string, Set<string>>();
  return (key, value) => {
    let values = seen.get(key);
    if (!values) seen.set(key, (values = new Set()));
    if (values.has(value)) return value;
    if (values.size >= maxValues) return OVERFLOW_LABEL;
    values.add(value);
    return value;
  };
}
