/**
 * Every SQL query of the Grafana dashboards (panels and variables) as PostgreSQL receives it from Grafana
 * (dashboards/grafana/sql-macros.ts), over the dashboards' default time range (the last 24 hours), with
 * the variables as a user leaves them: All where a variable has it, else a tenant, pipeline and run of
 * the selection given. The logs dashboard once more with a search word typed in.
 */
import type { Dashboard, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import type { Queryable } from '../receiver/storage/database.js';
import { buildDashboards } from '../dashboards/grafana/dashboards.js';
import { POSTGRES } from '../dashboards/grafana/datasources.js';
import { ALL, type VariableState } from '../dashboards/grafana/interpolate.js';
import { customOptions, sqlQueries } from '../dashboards/grafana/queries.js';
import { expandSql } from '../dashboards/grafana/sql-macros.js';

const RANGE_MS = 24 * 3_600_000;
/** Grafana's interval for a day on a panel about a thousand pixels wide, rounded as it rounds. */
const INTERVAL_MS = 60_000;

/** The single values a selection gives the variables that take one, by variable name. */
export type Selection = Record<string, string>;

export interface PanelQueries {
  /** `dashboard / panel`, `$variable` for a variable's query. */
  name: string;
  /** Whether the search box is filled in: the logs dashboard's substring and word search. */
  search: boolean;
  /** The SQL of each selection, in the order given. */
  sqls: string[];
}

async function resolve(db: Queryable, dashboard: Dashboard, selection: Selection, range: { from: Date; to: Date }): Promise<VariableState[]> {
  const states: VariableState[] = [];
  for (const variable of dashboard.templating.list ?? []) {
    let options: string[] = [];
    if (variable.type === 'custom') options = customOptions(variable.query as string);
    if (variable.type === 'query' && variable.datasource?.uid === POSTGRES.uid) {
      const { rows } = await db.query<Record<string, unknown>>(expandSql(variable.query as string, { ...range, intervalMs: INTERVAL_MS, variables: states }));
      const column = valueColumn(rows);
      options = rows.map((row) => String(row[column]));
    }
    states.push({ definition: variable, selection: choose(variable, selection, options), options });
  }
  return states;
}

/** A variable query's value column: `__value` where it names one, else the first. */
function valueColumn(rows: Record<string, unknown>[]): string {
  const first = rows[0] ?? {};
  return '__value' in first ? '__value' : (Object.keys(first)[0] ?? '');
}

function choose(variable: VariableModel, selection: Selection, options: string[]): VariableState['selection'] {
  if (variable.type === 'textbox') return selection[variable.name] ?? '';
  if (variable.includeAll) return ALL;
  const wanted = selection[variable.name];
  return wanted !== undefined && options.includes(wanted) ? wanted : (options[0] ?? '');
}

/**
 * Each dashboard query under each selection. Variables resolve in order, each seeing those before it,
 * on the data as it is: a selection's run is kept only if its pipeline ran it in the range.
 */
export async function grafanaQueries(db: Queryable, selections: Selection[], search: string, nowMs: number): Promise<PanelQueries[]> {
  const range = { from: new Date(nowMs - RANGE_MS), to: new Date(nowMs) };
  const dashboards = buildDashboards().filter((dashboard) => sqlQueries([dashboard]).length > 0);
  const variants = dashboards.flatMap((dashboard) => {
    const searchable = (dashboard.templating.list ?? []).some((variable) => variable.name === 'search');
    return [{ dashboard, search: false }, ...(searchable ? [{ dashboard, search: true }] : [])];
  });
  const queries: PanelQueries[] = [];
  for (const { dashboard, search: searched } of variants) {
    const resolved = [];
    for (const selection of selections) resolved.push(await resolve(db, dashboard, searched ? { ...selection, search } : selection, range));
    // With a search word, only the queries that read it: the others were timed without one.
    for (const query of sqlQueries([dashboard]).filter((q) => !searched || q.rawSql.includes('${search'))) {
      queries.push({
        name: `${query.dashboard} / ${query.panel}${searched ? ` (search "${search}")` : ''}`,
        search: searched,
        sqls: resolved.map((variables) => expandSql(query.rawSql, { ...range, intervalMs: INTERVAL_MS, variables })),
      });
    }
  }
  return queries;
}
