/**
 * Lineage as facts: the datasets a run, a stage of it, or a job read and wrote, as one record tells
 * them. storage/lineage-rows.ts keeps them (datasets, each run's reads and writes, and the edges
 * pipeline → dataset → pipeline that the graph is drawn from), in the transaction that stores the record.
 *
 * - An OpenLineage event's record (the whole event is its body): its inputs and outputs with their
 *   statistics facets (rows, bytes) and the dataset facets (schema, column lineage) kept as sent; a
 *   JobEvent gives the job's edges without a run (static lineage), a DatasetEvent the dataset alone.
 * - Any other run or stage record, log record or span: the vocabulary's `pipemon.lineage.inputs` and
 *   `outputs`, and its `db.namespace` + `db.collection.name` target as one more output. Rows read or
 *   written are a dataset's when the record names one dataset in that direction.
 */
import { datasetName, type DatasetRef } from '../../contract/dataset-name.js';
import { ATTR, LINEAGE } from '../../contract/vocabulary.js';
import { lookup, text, count } from './derive.js';
import { logTimeNanos, nanosToMs, type LogRow, type SpanRow } from './records.js';
import { DERIVING_EVENTS, type Derived } from './runs.js';

export const DIRECTIONS = ['read', 'write'] as const;

/** Names in code-unit order, so that every process sorts keys (and so takes row locks) alike, whatever its locale. */
export const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export type Direction = (typeof DIRECTIONS)[number];

export interface DatasetUse {
  direction: Direction;
  /** The dataset's one name (contract/dataset-name.ts): its key. */
  dataset: string;
  rows: number | null;
  bytes: number | null;
}

/** A dataset's own facets (OpenLineage `dataset.facets`: schema, columnLineage, ...) as last sent. */
export interface DatasetFacets {
  dataset: string;
  facets: Record<string, unknown>;
}

export interface LineageFacts {
  /** The pipeline that read and wrote; null when the record names datasets only (a DatasetEvent). */
  pipeline: string | null;
  /** '' for static lineage (an OpenLineage JobEvent): the job's edges, with no run. */
  runId: string;
  /** The stage's run id and name; '' for the run itself. */
  stageRunId: string;
  stage: string;
  atMs: number;
  uses: DatasetUse[];
  facets: DatasetFacets[];
}

/** The statistics facets of each direction (OpenLineage), then an older facet that also counts rows (inputs only). */
export const STATISTICS = {
  inputs: { facets: 'inputFacets', names: ['inputStatistics', 'dataQualityMetrics'] },
  outputs: { facets: 'outputFacets', names: ['outputStatistics'] },
} as const;

const OPENLINEAGE_EVENTS: ReadonlySet<string> = new Set([LINEAGE.jobEvent, LINEAGE.datasetEvent, LINEAGE.runEvent]);
/** Every log event that derives something (a run, stage, check or lineage): storage/record-copy.ts returns the new ones. */
export const LOG_EVENTS_TO_DERIVE: readonly string[] = [...DERIVING_EVENTS, ...OPENLINEAGE_EVENTS];

type Owner = Pick<LineageFacts, 'pipeline' | 'runId' | 'stageRunId' | 'stage'>;

/** Who read and wrote: the stage or run the record derived, else its attributes (a stage's RUNNING event, a JobEvent). */
function ownerOf(derived: Derived, get: (key: string) => unknown): Owner | null {
  const { stage, run } = derived;
  if (stage) return { pipeline: stage.pipeline, runId: stage.runId, stageRunId: stage.stageRunId, stage: stage.stage };
  if (run) return { pipeline: run.pipeline, runId: run.runId, stageRunId: '', stage: '' };
  const pipeline = text(get(ATTR.pipelineName));
  if (pipeline === null) return null;
  const stageName = text(get(ATTR.stageName));
  const stageRunId = stageName === null ? '' : (text(get(ATTR.stageRunId)) ?? stageName);
  return { pipeline, runId: text(get(ATTR.runId)) ?? '', stageRunId, stage: stageName ?? '' };
}

export function lineageOfLog(row: LogRow, derived: Derived): LineageFacts | null {
  // Every record passes here: a plain log line leaves at the first test, before any attribute is read.
  if (!derived.run && !derived.stage && !OPENLINEAGE_EVENTS.has(row.eventName)) return null;
  const get = (key: string) => lookup(row.attributes, row.resource.attributes, key);
  const openLineage = OPENLINEAGE_EVENTS.has(row.eventName) || get(ATTR.sourceSystem) === 'openlineage';
  const atMs = nanosToMs(logTimeNanos(row));
  const event = openLineage ? eventOf(row.body) : null;
  if (event && isObject(event['dataset'])) {
    const facets = facetsOf(event['dataset']);
    return facets ? { pipeline: null, runId: '', stageRunId: '', stage: '', atMs, uses: [], facets: [facets] } : null;
  }
  const owner = ownerOf(derived, get);
  if (!owner) return null;
  const found = event ? openLineageUses(event) : vocabularyUses(get);
  return found.uses.length === 0 && found.facets.length === 0 ? null : { ...owner, atMs, ...found };
}

export function lineageOfSpan(row: SpanRow, derived: Derived): LineageFacts | null {
  if (!derived.run && !derived.stage) return null;
  const owner = ownerOf(derived, () => undefined);
  if (!owner) return null;
  const found = vocabularyUses((key) => lookup(row.attributes, row.resource.attributes, key));
  const atMs = nanosToMs(row.endTimeUnixNano === '0' ? row.startTimeUnixNano : row.endTimeUnixNano);
  return found.uses.length === 0 ? null : { ...owner, atMs, ...found };
}

type Found = Pick<LineageFacts, 'uses' | 'facets'>;

function names(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map(text).filter((name): name is string => name !== null);
}

function vocabularyUses(get: (key: string) => unknown): Found {
  const [namespace, collection] = [text(get(ATTR.dbNamespace)), text(get(ATTR.dbCollection))];
  const target = namespace !== null && collection !== null ? [datasetName({ namespace, name: collection })] : [];
  const reads = [...new Set(names(get(ATTR.lineageInputs)))];
  const writes = [...new Set([...names(get(ATTR.lineageOutputs)), ...target])];
  const use = (direction: Direction, all: string[], rowsKey: string) =>
    all.map((dataset): DatasetUse => ({ direction, dataset, rows: all.length === 1 ? count(get(rowsKey)) : null, bytes: null }));
  return { uses: [...use('read', reads, ATTR.rowsRead), ...use('write', writes, ATTR.rowsWritten)], facets: [] };
}

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The event a record's body holds; null when the body is not one (a record sent as OTLP claiming the source). */
function eventOf(body: string | null): JsonObject | null {
  if (body === null || !body.startsWith('{')) return null;
  try {
    const event: unknown = JSON.parse(body);
    return isObject(event) ? event : null;
  } catch {
    return null;
  }
}

function refOf(dataset: JsonObject): DatasetRef | null {
  const [namespace, name] = [dataset['namespace'], dataset['name']];
  return typeof namespace === 'string' && typeof name === 'string' ? { namespace, name } : null;
}

function facetsOf(dataset: unknown): DatasetFacets | null {
  const ref = isObject(dataset) ? refOf(dataset) : null;
  if (!ref || !isObject(dataset) || !isObject(dataset['facets']) || Object.keys(dataset['facets']).length === 0) return null;
  return { dataset: datasetName(ref), facets: dataset['facets'] };
}

/** A statistics figure of an input or output, from the first facet of STATISTICS that reports it. */
function statistic(dataset: JsonObject, key: keyof typeof STATISTICS, figure: 'rowCount' | 'size'): number | null {
  const { facets, names: facetNames } = STATISTICS[key];
  const all = dataset[facets];
  for (const name of facetNames) {
    const facet = isObject(all) ? all[name] : undefined;
    const value = isObject(facet) ? count(facet[figure]) : null;
    if (value !== null) return value;
  }
  return null;
}

function openLineageUses(event: JsonObject): Found {
  const found: Found = { uses: [], facets: [] };
  for (const [key, direction] of [['inputs', 'read'], ['outputs', 'write']] as const) {
    const datasets = event[key];
    for (const dataset of Array.isArray(datasets) ? datasets.filter(isObject) : []) {
      const ref = refOf(dataset);
      if (!ref) continue;
      found.uses.push({ direction, dataset: datasetName(ref), rows: statistic(dataset, key, 'rowCount'), bytes: statistic(dataset, key, 'size') });
      const facets = facetsOf(dataset);
      if (facets) found.facets.push(facets);
    }
  }
  return found;
}
