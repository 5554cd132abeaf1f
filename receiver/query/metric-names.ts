/** The metrics a pipeline or a run sent (metric-scope.ts), once per name and kind, with their series counts. */
import type { MetricKind } from '../model/records.js';
import { Refusal } from '../model/outcome.js';
import type { Queryable } from '../storage/database.js';
import type { MetricNamePage } from './api-types.js';
import { temporalityName } from './metric-as.js';
import { scopeSql, type MetricScope } from './metric-scope.js';
import { Conditions } from './pages.js';

/** More names than a page of them shows is no pipeline's instrumentation but attributes sent as names. */
export const MAX_METRIC_NAMES = 1000;

interface NameRow {
  name: string;
  kind: MetricKind;
  unit: string;
  description: string;
  temporality: number;
  monotonic: boolean;
  series: number;
}

export async function listMetricNames(db: Queryable, tenantId: number, scope: MetricScope): Promise<MetricNamePage> {
  const where = new Conditions();
  const sql = scopeSql(where, tenantId, scope);
  const { rows } = await db.query<NameRow>(
    `WITH ${sql.streams}
SELECT s.metric_name AS name, s.kind, s.unit, s.description, s.temporality, s.monotonic, count(DISTINCT s.series_id)::int AS series
  FROM streams s WHERE ${sql.hasPoints('s')}
 GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6 LIMIT ${MAX_METRIC_NAMES + 1}`,
    where.params,
  );
  if (rows.length > MAX_METRIC_NAMES) {
    throw new Refusal('invalid', `more than ${MAX_METRIC_NAMES} metric names in this range: narrow it (since, until), or ask one run_id`);
  }
  return { items: rows.map((row) => ({ ...row, temporality: temporalityName(row.temporality) })), next_cursor: null };
}
