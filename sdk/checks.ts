/**
 * The usual data-quality checks, each computed here and recorded with `activity.check()` (a
 * `pipeline.check` record, WARN when it fails). Each returns whether it passed, so a pipeline can
 * decide to stop; none throws.
 *
 *   checks.nullRatio(stage, 'email', rows.map((r) => r.email), 0.01);
 *   checks.schemaDrift(stage, ['id', 'email', 'amount'], Object.keys(rows[0] ?? {}));
 */
import { isEmpty, type Activity } from './activity/run.js';
import { serialize } from './activity/serialize.js';
import { CHECK } from '../contract/vocabulary.js';

/** How many examples of a failure a check record carries: enough to debug, bounded in size. */
const EXAMPLES = 5;

/** Fails when the dataset (array, Map, Set, string, object or row count) is empty. */
export function emptyDataset(activity: Activity, dataset: unknown): boolean {
  return activity.check(CHECK.emptyDataset, !isEmpty(dataset));
}

/** Fails when the share of null or undefined values in `column` is above `maxRatio` (0 to 1). */
export function nullRatio(activity: Activity, column: string, values: readonly unknown[], maxRatio = 0): boolean {
  let nulls = 0;
  for (const value of values) if (value === null || value === undefined) nulls++;
  const ratio = values.length === 0 ? 0 : nulls / values.length;
  return activity.check(CHECK.nullRatio, ratio <= maxRatio, { column, nulls, total: values.length, ratio, max_ratio: maxRatio });
}

/** Fails when the columns differ from the expected ones, naming the missing and the unexpected. */
export function schemaDrift(activity: Activity, expected: readonly string[], actual: readonly string[]): boolean {
  const have = new Set(actual);
  const want = new Set(expected);
  const missing = expected.filter((column) => !have.has(column));
  const unexpected = actual.filter((column) => !want.has(column));
  return activity.check(CHECK.schemaDrift, missing.length === 0 && unexpected.length === 0, { missing, unexpected });
}

/** Fails when a key occurs more than once; keys compare as their serialized form, so objects work too. */
export function duplicates(activity: Activity, keys: Iterable<unknown>): boolean {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  let total = 0;
  for (const key of keys) {
    total++;
    const text = typeof key === 'string' ? key : serialize(key);
    if (seen.has(text)) repeated.add(text);
    else seen.add(text);
  }
  const duplicated = total - seen.size;
  return activity.check(CHECK.duplicates, duplicated === 0, { duplicates: duplicated, total, examples: [...repeated].slice(0, EXAMPLES) });
}
