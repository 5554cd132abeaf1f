/**
 * Panel builders with the settings every pipemon dashboard shares: a datasource per panel (the one its
 * queries use), sizes on the 24-column grid, units, and result colours.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  MappingType,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type DynamicConfigValue,
  type Threshold,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as logs from '@grafana/grafana-foundation-sdk/logs';
import * as nodegraph from '@grafana/grafana-foundation-sdk/nodegraph';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { FAILED_RESULTS } from '../../contract/vocabulary.js';
import { POSTGRES, PROMETHEUS } from './datasources.js';
import type { DataLink } from './links.js';

type Query = cog.Builder<cog.Dataquery>;

export interface Size {
  w: number;
  h: number;
}

/** The datasource a panel's queries name (every query of a panel uses the same one). */
function datasourceOf(queries: Query[]) {
  const uids = new Set(queries.map((query) => (query.build() as { datasource?: { uid?: string } }).datasource?.uid));
  if (uids.size !== 1) throw new Error(`a panel's queries must use one datasource, not ${[...uids].join(', ')}`);
  const [uid] = uids;
  if (uid === PROMETHEUS.uid) return PROMETHEUS;
  if (uid === POSTGRES.uid) return POSTGRES;
  throw new Error(`a panel query names datasource ${uid}, which provisioning does not create`);
}

export const thresholds = (...steps: Threshold[]) => new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps);

/** Any value at all is bad news (failing pipelines, stuck runs). */
export const zeroIsGood = () => thresholds({ value: null, color: 'green' }, { value: 1, color: 'red' });

/** A count that is neither good nor bad. */
export const neutral = () => thresholds({ value: null, color: 'text' });

/** How a stage its run's end closed shows, and the mark after a failure its sender allowed (the web view's words). */
export const NO_END_REPORTED = 'no end reported';
export const TOLERATED = ' (tolerated)';

/** Run and stage results (and `running`) as colours, wherever a column or stat shows one. */
export const RESULT_MAPPINGS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      success: { color: 'green', index: 0 },
      failure: { color: 'red', index: 1 },
      error: { color: 'red', index: 2 },
      timeout: { color: 'orange', index: 3 },
      cancellation: { color: 'purple', index: 4 },
      skip: { color: 'text', index: 5 },
      running: { color: 'blue', index: 6 },
      [NO_END_REPORTED]: { color: 'text', index: 7 },
      ...Object.fromEntries(FAILED_RESULTS.map((result, i) => [`${result}${TOLERATED}`, { color: 'orange', index: 8 + i }])),
    },
  },
];

/**
 * Pipeline statuses (attention.ts) as colours, the web view's: failing red, stuck and late orange, warning
 * (suspect data) a colour of its own, running blue, ok green.
 */
export const STATUS_MAPPINGS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      failing: { color: 'red', index: 0 },
      stuck: { color: 'orange', index: 1 },
      late: { color: 'orange', index: 2 },
      warning: { color: 'purple', index: 3 },
      running: { color: 'blue', index: 4 },
      ok: { color: 'green', index: 5 },
      idle: { color: 'text', index: 6 },
    },
  },
];

/** A dataset's freshness (lineage.ts) as colours: stale as a late pipeline, fresh as an ok one. */
export const FRESHNESS_MAPPINGS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      stale: { color: 'orange', index: 0 },
      unknown: { color: 'text', index: 1 },
      fresh: { color: 'green', index: 2 },
    },
  },
];

/**
 * The mappings' colours in CSS, as Grafana's dark theme draws them: the node graph strokes a node with its
 * `color` field's text as is, where a table resolves Grafana's colour names itself.
 */
const CSS_COLOURS: Record<string, string> = {
  red: '#F2495C',
  orange: '#FF9830',
  purple: '#B877D9',
  blue: '#5794F2',
  green: '#73BF69',
  text: '#8E8E8E',
};

/** The colour `mappings` give the value of `expr`, in CSS, as SQL: for a node graph's `color` field. */
export function cssColourSql(expr: string, mappings: ValueMapping[]): string {
  const cases = mappings.flatMap((mapping) =>
    mapping.type === MappingType.ValueToText
      ? Object.entries(mapping.options).map(([value, { color }]) => `WHEN '${value.replace(/'/g, "''")}' THEN '${CSS_COLOURS[color ?? 'text']}'`)
      : [],
  );
  return `CASE ${expr} ${cases.join(' ')} ELSE '${CSS_COLOURS.text}' END`;
}

/** Overrides of a table column: coloured results, statuses and freshness, units, links. */
const colouredText = (mappings: ValueMapping[]): DynamicConfigValue[] => [
  { id: 'mappings', value: mappings },
  { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorText } },
];

export const resultColumn = () => colouredText(RESULT_MAPPINGS);

export const statusColumn = () => colouredText(STATUS_MAPPINGS);

export const freshnessColumn = () => colouredText(FRESHNESS_MAPPINGS);

export const unitColumn = (unit: string): DynamicConfigValue[] => [{ id: 'unit', value: unit }];

export const linkColumn = (...links: DataLink[]): DynamicConfigValue[] => [{ id: 'links', value: links }];

export interface PanelOptions {
  description?: string;
  unit?: string;
  size?: Size;
}

function place<P extends { span(w: number): P; height(h: number): P; description(text: string): P; unit(unit: string): P }>(
  panel: P,
  options: PanelOptions,
  fallback: Size,
): P {
  const size = options.size ?? fallback;
  panel.span(size.w).height(size.h);
  if (options.description) panel.description(options.description);
  if (options.unit) panel.unit(options.unit);
  return panel;
}

export interface StatOptions extends PanelOptions {
  /** A text column to show instead of a number (a result), as a regex of its name. */
  textField?: string;
}

export function statPanel(title: string, query: Query, options: StatOptions = {}): stat.PanelBuilder {
  const reduce = new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);
  if (options.textField) reduce.fields(`/^${options.textField}$/`);
  const panel = new stat.PanelBuilder()
    .title(title)
    .datasource(datasourceOf([query]))
    .withTarget(query)
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(reduce)
    .thresholds(neutral());
  return place(panel, options, { w: 4, h: 4 });
}

export function tablePanel(title: string, query: Query, options: PanelOptions = {}): table.PanelBuilder {
  const panel = new table.PanelBuilder().title(title).datasource(datasourceOf([query])).withTarget(query).filterable(true);
  return place(panel, options, { w: 24, h: 8 });
}

export function timeSeriesPanel(title: string, queries: Query[], options: PanelOptions = {}): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .datasource(datasourceOf(queries))
    .targets(queries)
    .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  return place(panel, options, { w: 12, h: 8 });
}

export function barGaugePanel(title: string, query: Query, options: PanelOptions = {}): bargauge.PanelBuilder {
  const panel = new bargauge.PanelBuilder()
    .title(title)
    .datasource(datasourceOf([query]))
    .withTarget(query)
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  return place(panel, options, { w: 12, h: 8 });
}

/** Every row of a table result as one bar (per numeric column), labelled by `xField`. */
export function barChartPanel(title: string, query: Query, xField: string, options: PanelOptions = {}): barchart.PanelBuilder {
  const panel = new barchart.PanelBuilder()
    .title(title)
    .datasource(datasourceOf([query]))
    .withTarget(query)
    .xField(xField)
    .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None));
  return place(panel, options, { w: 12, h: 8 });
}

export function logsPanel(title: string, query: Query, options: PanelOptions = {}): logs.PanelBuilder {
  const panel = new logs.PanelBuilder()
    .title(title)
    .datasource(datasourceOf([query]))
    .withTarget(query)
    .showTime(true)
    .wrapLogMessage(true)
    .enableLogDetails(true)
    .sortOrder(common.LogsSortOrder.Descending);
  return place(panel, options, { w: 24, h: 12 });
}

/**
 * Grafana's node graph, from two queries whose refIds name their frames: `nodes` (id, title, subtitle,
 * mainstat, color, detail__*) and `edges` (id, source, target, mainstat), every edge's source and target a node.
 */
export function nodeGraphPanel(title: string, nodes: Query, edges: Query, options: PanelOptions = {}): nodegraph.PanelBuilder {
  const panel = new nodegraph.PanelBuilder().title(title).datasource(datasourceOf([nodes, edges])).targets([nodes, edges]);
  return place(panel, options, { w: 24, h: 14 });
}

/** A bar (or stat) per row of a table result, named by the row's text columns, rather than one reduced value. */
export const everyRow = () => new common.ReduceDataOptionsBuilder().values(true).calcs([]);
