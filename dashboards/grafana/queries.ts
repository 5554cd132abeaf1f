/**
 * Every query in the dashboards, for the tests that run them against real servers: the PromQL of the
 * panels (evaluated through a real Prometheus), and the SQL of the panels and variables (run on
 * PostgreSQL as the read-only role), each with its dashboard and panel title.
 */
import type { Dashboard, Panel, RowPanel, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboards } from './dashboards.js';
import { POSTGRES, PROMETHEUS } from './datasources.js';
import { ALL, interpolate, prometheusFormatter, secondsToHms, type Selection, type VariableDefinition } from './interpolate.js';
import type { SqlFormat } from './queries-builders.js';

interface Located {
  /** The dashboard's uid. */
  dashboard: string;
  /** The panel's title, or `$name` for a variable's query. */
  panel: string;
  refId: string;
  /** The dashboard's variables, in order: what the query may refer to. */
  variables: VariableModel[];
}

export interface PromQuery extends Located {
  expr: string;
  instant: boolean;
}

export interface SqlQuery extends Located {
  rawSql: string;
  format: SqlFormat;
}

type Target = { datasource?: { uid?: string }; refId?: string; expr?: string; instant?: boolean; rawSql?: string; format?: SqlFormat };

function panelsOf(dashboard: Dashboard): Panel[] {
  return (dashboard.panels ?? []).flatMap((panel) => (panel.type === 'row' ? (panel as RowPanel).panels : [panel as Panel]));
}

function targets(dashboards: Dashboard[]) {
  return dashboards.flatMap((dashboard) =>
    panelsOf(dashboard).flatMap((panel) =>
      ((panel.targets ?? []) as unknown as Target[]).map((target) => ({
        target,
        located: { dashboard: dashboard.uid!, panel: panel.title ?? '', refId: target.refId ?? 'A', variables: dashboard.templating.list ?? [] },
      })),
    ),
  );
}

/** Every PromQL expression of every panel, as written (variables not yet replaced: see expandPromQL). */
export function promQueries(dashboards: Dashboard[] = buildDashboards()): PromQuery[] {
  return targets(dashboards)
    .filter(({ target }) => target.datasource?.uid === PROMETHEUS.uid)
    .map(({ target, located }) => ({ ...located, expr: target.expr!, instant: target.instant === true }));
}

/** Every SQL query: the panels', then the variables' (format `table`, refId = the variable's name). */
export function sqlQueries(dashboards: Dashboard[] = buildDashboards()): SqlQuery[] {
  const panels = targets(dashboards)
    .filter(({ target }) => target.datasource?.uid === POSTGRES.uid)
    .map(({ target, located }) => ({ ...located, rawSql: target.rawSql!, format: target.format ?? 'time_series' }));
  const variables = dashboards.flatMap((dashboard) =>
    (dashboard.templating.list ?? [])
      .filter((variable) => variable.type === 'query' && variable.datasource?.uid === POSTGRES.uid)
      .map((variable) => ({
        dashboard: dashboard.uid!,
        panel: `$${variable.name}`,
        refId: variable.name,
        variables: dashboard.templating.list ?? [],
        rawSql: variable.query as string,
        format: 'table' as const,
      })),
  );
  return [...panels, ...variables];
}

export interface PromContext {
  /** Each variable's selection; a variable left out is All. */
  values?: Record<string, Selection>;
  /** What All stands for, for variables without a custom allValue (tenant, pipeline): their options. */
  options?: Record<string, string[]>;
  /** The dashboard's time range (`$__range`); 1 h by default. */
  rangeSeconds?: number;
  /** The panel's interval (`$__interval`); 60 s by default, never below the scrape interval. */
  intervalSeconds?: number;
  /** The datasource's scrape interval (timeInterval, 15 s as provisioned), for `$__rate_interval`. */
  scrapeIntervalSeconds?: number;
}

/**
 * The expression Prometheus receives for `query`: template variables replaced as Grafana's Prometheus
 * datasource does (regex-escaped lists where a variable may hold several values), and the built-in
 * `$__interval`, `$__rate_interval` (max(interval + scrape interval, 4 × scrape interval)) and
 * `$__range` as durations in seconds.
 */
export function expandPromQL(query: PromQuery, context: PromContext = {}): string {
  const scrape = context.scrapeIntervalSeconds ?? 15;
  const interval = Math.max(context.intervalSeconds ?? 60, scrape);
  const range = context.rangeSeconds ?? 3600;
  const states = query.variables.map((definition: VariableDefinition) => ({
    definition,
    selection: context.values?.[definition.name] ?? ALL,
    options: context.options?.[definition.name],
  }));
  const builtins = {
    __interval: secondsToHms(interval),
    __interval_ms: String(interval * 1000),
    __rate_interval: `${Math.max(interval + scrape, 4 * scrape)}s`,
    __range: `${range}s`,
    __range_s: String(range),
    __range_ms: String(range * 1000),
  };
  return interpolate(query.expr, states, builtins, prometheusFormatter);
}

/** A custom variable's options: the values of its `text : value` pairs, as Grafana reads them. */
export const customOptions = (query: string) => query.split(',').map((pair) => pair.split(' : ').at(-1)!.trim());
