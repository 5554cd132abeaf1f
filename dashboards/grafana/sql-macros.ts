/**
 * What Grafana's PostgreSQL datasource does to a panel's SQL before PostgreSQL sees it, so that tests
 * run the dashboards' queries exactly as Grafana would:
 * 1. the frontend replaces template variables (interpolate.ts, with the datasource's formatter);
 * 2. the backend replaces `$__interval`, `$__interval_ms`, `$__unixEpochFrom()`, `$__unixEpochTo()`
 *    (pkg/tsdb/grafana-postgresql-datasource/sqleng/sql_engine.go, Interpolate);
 * 3. then its macro engine expands `$__name(args)` (pkg/tsdb/grafana-postgresql-datasource/macros.go).
 * Times are formatted as Go's time.RFC3339Nano in UTC, intervals parsed as gtime.ParseInterval does.
 */
import { interpolate, postgresFormatter, timeBuiltins, type TimeContext, type VariableState } from './interpolate.js';

// macros.go: sExpr = `\$([_a-zA-Z0-9]+)\(([^\)]*)\)`; any `$name(...)` is a macro, and an unknown name an error.
const MACRO = /\$([_a-zA-Z0-9]+)\(([^)]*)\)/g;

/** Go's time.Format(time.RFC3339Nano) of a UTC time: fractional seconds without trailing zeros. */
export function rfc3339Nano(date: Date): string {
  return date.toISOString().replace(/\.(\d*?)0*Z$/, (_, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * gtime.ParseInterval: a number of days or weeks (`1d`, `2w`), else Go's time.ParseDuration (`90s`,
 * `1h30m`, `500ms`). Months and years depend on the calendar there; no pipemon query uses them.
 */
export function parseIntervalMs(text: string): number {
  const days = /^(\d+)([dw])$/.exec(text);
  if (days) return Number(days[1]) * (days[2] === 'w' ? 7 : 1) * 86_400_000;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const match = part.exec(text);
    if (!match) break;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    at = part.lastIndex;
  }
  if (text === '' || at !== text.length) throw new Error(`error parsing interval ${text}`);
  return total;
}

const nanos = (date: Date) => (BigInt(date.getTime()) * 1_000_000n).toString();

/** Go's %v of a float64 number of seconds, as the macros print them (300, 0.5). */
const seconds = (ms: number) => String(ms / 1000);

function evaluate(name: string, args: string[], range: TimeContext): string {
  const from = rfc3339Nano(range.from);
  const to = rfc3339Nano(range.to);
  const column = () => {
    if (!args[0]) throw new Error(`missing time column argument for macro ${name}`);
    return args[0];
  };
  const group = () => {
    if (args.length < 2) throw new Error(`macro ${name} needs time column and interval and optional fill value`);
    if (args.length === 3) throw new Error(`macro ${name}: fill values change the result frames; pipemon queries use none`);
    return seconds(parseIntervalMs(args[1]!.replace(/^'+|'+$/g, '')));
  };
  switch (name) {
    case '__time':
      return `${column()} AS "time"`;
    case '__timeEpoch':
      return `extract(epoch from ${column()}) as "time"`;
    case '__timeFilter':
      return `${column()} BETWEEN '${from}' AND '${to}'`;
    case '__timeFrom':
      return `'${from}'`;
    case '__timeTo':
      return `'${to}'`;
    case '__timeGroup': {
      const s = group();
      return `floor(extract(epoch from ${args[0]})/${s})*${s}`;
    }
    case '__timeGroupAlias':
      return `${evaluate('__timeGroup', args, range)} AS "time"`;
    case '__unixEpochFilter':
      return `${column()} >= ${Math.floor(range.from.getTime() / 1000)} AND ${args[0]} <= ${Math.floor(range.to.getTime() / 1000)}`;
    case '__unixEpochNanoFilter':
      return `${column()} >= ${nanos(range.from)} AND ${args[0]} <= ${nanos(range.to)}`;
    case '__unixEpochNanoFrom':
      return nanos(range.from);
    case '__unixEpochNanoTo':
      return nanos(range.to);
    case '__unixEpochGroup': {
      const s = group();
      return `floor((${args[0]})/${s})*${s}`;
    }
    case '__unixEpochGroupAlias':
      return `${evaluate('__unixEpochGroup', args, range)} AS "time"`;
    default:
      throw new Error(`unknown macro "${name}"`);
  }
}

/** Steps 2 and 3: the backend's substitutions and macros, on SQL whose template variables are replaced. */
export function expandMacros(sql: string, range: TimeContext): string {
  const builtins = timeBuiltins(range);
  const global = sql
    .replaceAll('$__interval_ms', builtins.__interval_ms!)
    .replaceAll('$__interval', builtins.__interval!)
    .replaceAll('$__unixEpochFrom()', String(Math.floor(range.from.getTime() / 1000)))
    .replaceAll('$__unixEpochTo()', String(Math.floor(range.to.getTime() / 1000)));
  return global.replace(MACRO, (whole, name: string, rawArgs: string) => {
    let macro = name;
    // macros.go: `$__timeGroup(...)` followed by a comma is the pre-5.3 form that meant the alias.
    if (macro === '__timeGroup') {
      const at = global.indexOf(whole);
      if (at >= 0 && global[at + whole.length] === ',') macro = '__timeGroupAlias';
    }
    return evaluate(
      macro,
      rawArgs.split(',').map((arg) => arg.replace(/^ +| +$/g, '')),
      range,
    );
  });
}

export interface SqlContext extends TimeContext {
  variables: VariableState[];
}

/** The SQL PostgreSQL receives from Grafana for `rawSql` with these variables and this time range. */
export function expandSql(rawSql: string, context: SqlContext): string {
  return expandMacros(interpolate(rawSql, context.variables, timeBuiltins(context), postgresFormatter), context);
}
