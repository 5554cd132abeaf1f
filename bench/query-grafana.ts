/**
 * Every SQL query of the Grafana dashboards (panels and variables) as PostgreSQL receives it from Grafana
 * (dashboards/grafana/sql-macros.ts), over the dashboards' default time range (the last 24 hours), with
 * the variables as a user leaves them: All where a variable has it, else a tenant, pipeline and run of
 * the selection given. The logs dashboard once more with a search word typed in; the dashboards asked
 * for (`Pinned`) once more with their selections' tenant and pipeline chosen where they offer All.
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
  /** Whether the selection's values were chosen where the dashboard offers All. */
  pinned: boolean;
  /** The SQL of each selection, in the order given. */
  sqls: string[];
}

async function resolve(db: Queryable, dashboard: Dashboard, selection: Selection, range: { from: Date; to: Date }, pinned: boolean): Promise<VariableState[]> {
  const states: VariableState[] = [];
  for (const variable of dashboard.templating.list ?? []) {
    let options: string[] = [];
    if (variable.type === 'custom') options = customOptions(variable.query as string);
    if (variable.type === 'query' && variable.datasource?.uid === POSTGRES.uid) {
      const { rows } = await db.query<Record<string, unknown>>(expandSql(variable.query as string, { ...range, intervalMs: INTERVAL_MS, variables: states }));
      const column = valueColumn(rows);
      options = rows.map((row) => String(row[column]));
    }
    states.push({ definition: variable, selection: choose(variable, selection, options, pinned), options });
  }
  return states;
}

/** A variable query's value column: `__value` where it names one, else the first. */
function valueColumn(rows: Record<string, unknown>[]): string {
  const first = rows[0] ?? {};
  return '__value' in first ? '__value' : (Object.keys(first)[0] ?? '');
}

function choose(variable: VariableModel, selection: Selection, options: string[], pinned: boolean): VariableState['selection'] {
  if (variable.type === 'textbox') return selection[variable.name] ?? '';
  const wanted = selection[variable.name];
  if (variable.includeAll && !(pinned && wanted !== undefined && options.includes(wanted))) return ALL;
  return wanted !== undefined && options.includes(wanted) ? wanted : (options[0] ?? '');
}

/** A query's name: its dashboard and panel, and its refId where the panel has more than one (a node graph's nodes and edges). */
function queryNames(queries: ReturnType<typeof sqlQueries>): string[] {
  const panel = (q: (typeof queries)[number]) => `${q.dashboard} / ${q.panel}`;
  const count = new Map<string, number>();
  for (const q of queries) count.set(panel(q), (count.get(panel(q)) ?? 0) + 1);
  return queries.map((q) => (count.get(panel(q))! > 1 ? `${panel(q)} (${q.refId})` : panel(q)));
}

/** Dashboards (by uid) timed once more with these selections' values where they offer All. */
export interface Pinned {
  uids: readonly string[];
  selections: Selection[];
}

/**
 * Each dashboard query under each selection. Variables resolve in order, each seeing those before it,
 * on the data as it is: a selection's run is kept only if its pipeline ran it in the range.
 */
export async function grafanaQueries(db: Queryable, selections: Selection[], search: string, nowMs: number, pinned: Pinned = { uids: [], selections: [] }): Promise<PanelQueries[]> {
  const range = { from: new Date(nowMs - RANGE_MS), to: new Date(nowMs) };
  const dashboards = buildDashboards().filter((dashboard) => sqlQueries([dashboard]).length > 0);
  const variants = dashboards.flatMap((dashboard) => {
    const searchable = (dashboard.templating.list ?? []).some((variable) => variable.name === 'search');
    return [
      { dashboard, search: false, pin: false },
      ...(searchable ? [{ dashboard, search: true, pin: false }] : []),
      ...(pinned.uids.includes(dashboard.uid!) ? [{ dashboard, search: false, pin: true }] : []),
    ];
  });
  const queries: PanelQueries[] = [];
  for (const { dashboard, search: searched, pin } of variants) {
    const resolved = [];
    for (const selection of pin ? pinned.selections : selections) resolved.push(await resolve(db, dashboard, searched ? { ...selection, search } : selection, range, pin));
    // With a search word, only the queries that read it: the others were timed without one.
    const chosen = sqlQueries([dashboard]).filter((q) => !searched || q.rawSql.includes('${search'));
    const names = queryNames(chosen);
    for (const [index, query] of chosen.entries()) {
      // Pinned, the variables' own queries are as before: only the panels are timed again.
      if (pin && query.panel.startsWith('$')) continue;
      queries.push({
        name: `${names[index]}${searched ? ` (search "${search}")` : ''}${pin ? ' (one tenant and pipeline)' : ''}`,
        search: searched,
        pinned: pin,
        sqls: resolved.map((variables) => expandSql(query.rawSql, { ...range, intervalMs: INTERVAL_MS, variables })),
      });
    }
  }
  return queries;
}
