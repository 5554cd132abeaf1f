/**
 * Query builders for panels: PromQL through the foundation SDK's Prometheus builder, and SQL through a
 * small builder of our own, since the SDK has none for the PostgreSQL datasource. The SQL target is
 * what Grafana's SQL query editor saves in code mode.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { POSTGRES, PROMETHEUS } from './datasources.js';

/** `time_series` needs a `time` column sorted ascending (Grafana turns long frames into wide ones). */
export type SqlFormat = 'table' | 'time_series';

export interface SqlTarget extends cog.Dataquery {
  refId: string;
  datasource: typeof POSTGRES;
  editorMode: 'code';
  format: SqlFormat;
  rawQuery: true;
  rawSql: string;
}

/**
 * SQL written indented inside template literals, stored without the common indentation so that the
 * committed JSON reads well. A tag, so that each interpolated fragment's later lines are indented
 * like the line it starts on.
 */
export function sqlText(strings: TemplateStringsArray, ...fragments: string[]): string {
  let text = strings[0]!;
  fragments.forEach((fragment, i) => {
    const indent = text.slice(text.lastIndexOf('\n') + 1).match(/^ */)![0];
    text += fragment.replace(/\n/g, `\n${indent}`) + strings[i + 1]!;
  });
  const lines = text.replace(/^\n/, '').replace(/\s+$/, '').split('\n');
  const common = Math.min(...lines.filter((line) => line.trim() !== '').map((line) => line.match(/^ */)![0].length));
  return lines.map((line) => line.slice(common)).join('\n');
}

/** `rawSql` as sqlText makes it. */
export function sql(rawSql: string, format: SqlFormat = 'table', refId = 'A'): cog.Builder<cog.Dataquery> {
  return {
    build: (): SqlTarget => ({
      refId,
      datasource: POSTGRES,
      editorMode: 'code',
      format,
      rawQuery: true,
      rawSql,
      _implementsDataqueryVariant: () => {},
    }),
  };
}

export interface PromOptions {
  legend?: string;
  /** One value per series at the end of the range (stats, bar gauges, tables), not a range. */
  instant?: boolean;
  /** Labels as columns, for table panels. */
  table?: boolean;
  refId?: string;
}

export function prom(expr: string, options: PromOptions = {}): cog.Builder<cog.Dataquery> {
  const query = new DataqueryBuilder().datasource(PROMETHEUS).expr(expr.trim()).refId(options.refId ?? 'A');
  if (options.legend) query.legendFormat(options.legend);
  if (options.instant) query.instant();
  else query.range();
  if (options.table) query.format(PromQueryFormat.Table);
  return query;
}
