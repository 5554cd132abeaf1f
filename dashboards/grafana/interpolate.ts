/**
 * Grafana's template-variable interpolation, as its frontend applies it to a query before sending it
 * (the scenes interpolator and format registry, and each datasource's formatter for `$var` without a
 * format), so that tests can run the dashboards' queries as Grafana would send them. Covers the syntax
 * and formats the pipemon dashboards use; anything else is refused rather than guessed.
 *
 * Sources: grafana/scenes packages/scenes/src/variables (MultiValueVariable.getValue, CustomAllValue,
 * formatRegistry), grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource
 * (interpolateVariable) and packages/grafana-prometheus/src/escaping.ts (interpolateQueryExpr).
 */
import type { VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';

/** Grafana's value for a selected "All". */
export const ALL = '$__all';

/** What a variable is set to: a value, several (multi), or ALL. */
export type Selection = string | string[];

/** The parts of a variable's definition that change how it is interpolated. */
export type VariableDefinition = Pick<VariableModel, 'name' | 'multi' | 'includeAll' | 'allValue'>;

export interface VariableState {
  definition: VariableDefinition;
  selection: Selection;
  /** The variable's options: what ALL expands to when it has no custom allValue. */
  options?: string[];
}

/** How a datasource formats `$var` (no explicit format). */
export type DatasourceFormatter = (value: string | string[], variable: VariableDefinition) => string;

/** Built-in variables (`$__interval`, `$__range`, ...) by name, already as text. */
export type Builtins = Record<string, string>;

// Grafana's variableRegex: $var, [[var]] / [[var:format]], ${var} / ${var.path} / ${var:format}.
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

const sqlQuote = (value: string) => `'${value.replace(/'/g, "''")}'`;
const escapeRegex = (value: string) => value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

/** The scenes format registry, for the formats that apply to text values. */
const FORMATS: Record<string, (value: string | string[]) => string> = {
  raw: (value) => list(value).join(','),
  csv: (value) => list(value).join(','),
  pipe: (value) => list(value).join('|'),
  sqlstring: (value) => list(value).map(sqlQuote).join(','),
  singlequote: (value) => list(value).map((v) => `'${v.replace(/'/g, "\\'")}'`).join(','),
  doublequote: (value) => list(value).map((v) => `"${v.replace(/"/g, '\\"')}"`).join(','),
  json: (value) => JSON.stringify(value),
  regex: (value) => {
    const escaped = list(value).map(escapeRegex);
    return typeof value === 'string' || escaped.length === 1 ? escaped[0] ?? '' : `(${escaped.join('|')})`;
  },
};

/** grafana-postgresql-datasource interpolateVariable: quoted when the variable may hold several values. */
export const postgresFormatter: DatasourceFormatter = (value, variable) => {
  if (Array.isArray(value)) return value.map(sqlQuote).join(',');
  return variable.multi || variable.includeAll ? sqlQuote(value) : value.replace(/'/g, "''");
};

/** The Prometheus datasource's interpolateQueryExpr, without the prometheusSpecialCharsInLabelValues toggle. */
export const prometheusFormatter: DatasourceFormatter = (value, variable) => {
  if (!variable.multi && !variable.includeAll) return list(value).map((v) => v.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'")).join(',');
  const escaped = list(value).map((v) => v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]+?.()|]/g, '\\\\$&'));
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
};

/** MultiValueVariable.getValue: ALL is the custom allValue (inserted unformatted) or every option. */
function valueOf(state: VariableState): { custom: string } | string | string[] {
  const { definition, selection } = state;
  const all = selection === ALL || (Array.isArray(selection) && selection[0] === ALL);
  if (!all) return selection;
  if (!definition.includeAll) throw new Error(`variable ${definition.name} is set to All but has no All option`);
  if (definition.allValue) return { custom: definition.allValue };
  if (!state.options) throw new Error(`variable ${definition.name} is All: give its options, which All stands for`);
  return state.options;
}

/**
 * `text` with every known variable replaced. Unknown `$names` stay as they are, as in Grafana (the
 * SQL macros `$__timeFilter(...)` among them, which the datasource's backend expands).
 */
export function interpolate(text: string, variables: VariableState[], builtins: Builtins, formatter: DatasourceFormatter): string {
  const byName = new Map(variables.map((state) => [state.definition.name, state]));
  return text.replace(VARIABLE, (match, plain?: string, bracket?: string, bracketFormat?: string, brace?: string, _path?: string, braceFormat?: string) => {
    const name = (plain ?? bracket ?? brace)!;
    const format = bracketFormat ?? braceFormat;
    if (name in builtins) return format ? formatWith(format, builtins[name]!, name) : builtins[name]!;
    const state = byName.get(name);
    if (!state) return match;
    const value = valueOf(state);
    if (typeof value === 'object' && 'custom' in value) return format === 'text' ? 'All' : value.custom;
    return format ? formatWith(format, value, name) : formatter(value, state.definition);
  });
}

function formatWith(format: string, value: string | string[], name: string): string {
  const formatter = FORMATS[format];
  if (!formatter) throw new Error(`\${${name}:${format}}: format ${format} is not implemented here (see interpolate.ts)`);
  return formatter(value);
}

/** Grafana's rangeUtil.secondsToHms, which names `$__interval`. */
export function secondsToHms(seconds: number): string {
  const units: [number, string][] = [
    [31536000, 'y'],
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  let rest = seconds;
  for (const [size, unit] of units) {
    const n = Math.floor(rest / size);
    if (n) return `${n}${unit}`;
    rest %= size;
  }
  const ms = Math.floor(seconds * 1000);
  return ms ? `${ms}ms` : 'less than a millisecond';
}

export interface TimeContext {
  from: Date;
  to: Date;
  /** What Grafana computed for the panel: range / max data points, rounded. */
  intervalMs: number;
}

/** The built-in variables of a panel query: `$__interval`, `$__interval_ms`, `$__range*`, `$__from`, `$__to`. */
export function timeBuiltins({ from, to, intervalMs }: TimeContext): Builtins {
  const rangeMs = to.getTime() - from.getTime();
  const rangeS = Math.round(rangeMs / 1000);
  return {
    __interval: secondsToHms(intervalMs / 1000),
    __interval_ms: String(intervalMs),
    __range: `${rangeS}s`,
    __range_s: String(rangeS),
    __range_ms: String(rangeMs),
    __from: String(from.getTime()),
    __to: String(to.getTime()),
  };
}
