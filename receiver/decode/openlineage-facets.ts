/**
 * The parts of an OpenLineage event that pipemon reads beyond run and job: the parent run facet, the
 * error message facet and the datasets with their statistics facets. Facets not read here are kept
 * untouched in the record's body; those read are type-checked, naming the field when wrong.
 * Facet shapes: https://openlineage.io/docs/spec/facets/ (ParentRunFacet 1-1-0 added `root`).
 */
import {
  FieldError,
  objectsAt,
  optionalCount,
  optionalObject,
  optionalString,
  own,
  pathOf,
  requiredObject,
  requiredString,
  shown,
  type JsonObject,
} from './json-fields.js';
import { requiredTime } from './json-time.js';
import { STATISTICS } from '../model/lineage.js';
import { nanosToMs } from '../model/records.js';

export interface JobRef {
  namespace: string;
  name: string;
}

export interface RunRef {
  runId: string;
  job: JobRef;
}

// RFC 9562 layout, any version (Airflow sends v7, the Python client's helper v7, older ones v4).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `parent[key]` as a run id: the spec says UUID (format: uuid) and every OpenLineage client sends one,
 * so anything else is a sender's bug worth showing. Lowercased: UUIDs compare case-insensitively
 * (RFC 9562 section 4), and one run must not become two.
 */
export function uuidAt(parent: JsonObject, key: string, at: string): string {
  const value = requiredString(parent, key, at);
  if (!UUID.test(value)) throw new FieldError(pathOf(at, key), `must be a UUID (the OpenLineage spec's format for run ids), got ${shown(value)}`);
  return value.toLowerCase();
}

export function jobAt(parent: JsonObject, key: string, at = ''): JobRef {
  const path = pathOf(at, key);
  const job = requiredObject(parent, key, at);
  return { namespace: requiredString(job, 'namespace', path), name: requiredString(job, 'name', path) };
}

function runRefAt(facet: JsonObject, at: string): RunRef {
  return { runId: uuidAt(requiredObject(facet, 'run', at), 'runId', `${at}.run`), job: jobAt(facet, 'job', at) };
}

/** The parent run facet: the run that spawned this one, and the top-level run of the tree (`root`). */
export function parentOf(facets: JsonObject): { parent: RunRef; root: RunRef | null } | null {
  const at = 'run.facets.parent';
  const facet = optionalObject(facets, 'parent', 'run.facets');
  if (!facet) return null;
  const root = optionalObject(facet, 'root', at);
  return { parent: runRefAt(facet, at), root: root ? runRefAt(root, `${at}.root`) : null };
}

export interface ErrorFacts {
  message: string;
  language: string | undefined;
  stackTrace: string | undefined;
  /** The exception class when the message or the stack trace names one; else OpenTelemetry's `_OTHER`. */
  type: string;
}

// A leading exception class, as Python ("ValueError: ...") and the JVM ("org.apache.spark.sql.AnalysisException: ...")
// print them; what error.type wants (a low-cardinality class), unlike the message.
const EXCEPTION_CLASS = /^(?:Exception in thread "[^"]*" )?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:Error|Exception|Exit|Interrupt|Failure|Fault))(?::|$)/;

function exceptionClass(message: string, stackTrace: string | undefined): string | null {
  const lines = (stackTrace ?? '').split('\n').map((line) => line.trim()).filter((line) => line !== '');
  // Python prints the exception last in its traceback, the JVM first.
  for (const line of [message.trim(), lines.at(-1), lines[0]]) {
    const found = line === undefined ? null : EXCEPTION_CLASS.exec(line)?.[1];
    if (found) return found;
  }
  return null;
}

/**
 * Run facets that carry a failure, in the order they are read: the spec's ErrorMessageRunFacet (dbt,
 * Airflow) and the Spark listener's own `spark.exception` (the job's exception: message, stackTrace).
 */
const ERROR_FACETS = ['errorMessage', 'spark.exception'] as const;

/** The failure a run event reports: the first error facet it carries, or null. */
export function errorOf(facets: JsonObject): ErrorFacts | null {
  for (const name of ERROR_FACETS) {
    const at = `run.facets.${name}`;
    const facet = optionalObject(facets, name, 'run.facets');
    if (!facet) continue;
    const stackTrace = optionalString(facet, 'stackTrace', at);
    // A JVM exception without a message still names itself on its stack trace's first line.
    const message = name === 'errorMessage' ? requiredString(facet, 'message', at) : (optionalString(facet, 'message', at) ?? stackTrace?.split('\n')[0]);
    if (message === undefined) throw new FieldError(`${at}.message`, 'is required when there is no stackTrace');
    return { message, language: optionalString(facet, 'programmingLanguage', at), stackTrace, type: exceptionClass(message, stackTrace) ?? '_OTHER' };
  }
  return null;
}

/**
 * When the run started, as the producer knows it although the event is not its START: Airflow's DAG run
 * start date (`airflowDagRun.dagRun.start_date`), else the scheduled start (`nominalTime.nominalStartTime`,
 * which may be a whole schedule interval earlier, so only when no real start is known). Read as every
 * OpenLineage time is (json-time.ts: no offset is UTC), given back as ISO 8601 UTC text.
 */
export function startHintOf(facets: JsonObject): string | undefined {
  const dagRun = optionalObject(optionalObject(facets, 'airflowDagRun', 'run.facets') ?? {}, 'dagRun', 'run.facets.airflowDagRun');
  const nominal = optionalObject(facets, 'nominalTime', 'run.facets');
  const [parent, key, at] =
    dagRun && own(dagRun, 'start_date') != null
      ? [dagRun, 'start_date', 'run.facets.airflowDagRun.dagRun']
      : nominal && own(nominal, 'nominalStartTime') != null
        ? [nominal, 'nominalStartTime', 'run.facets.nominalTime']
        : [];
  return parent ? new Date(nanosToMs(requiredTime(parent, key!, at))).toISOString() : undefined;
}

export interface DatasetFacts {
  namespace: string;
  name: string;
  rows: number | undefined;
  bytes: number | undefined;
  files: number | undefined;
}

type Direction = keyof typeof STATISTICS;

function datasetOf(dataset: JsonObject, at: string, direction: Direction): DatasetFacts {
  const facts: DatasetFacts = {
    namespace: requiredString(dataset, 'namespace', at),
    name: requiredString(dataset, 'name', at),
    rows: undefined,
    bytes: undefined,
    files: undefined,
  };
  const { facets: key, names } = STATISTICS[direction];
  const facets = optionalObject(dataset, key, at) ?? {};
  for (const name of names) {
    const statistics = optionalObject(facets, name, `${at}.${key}`);
    if (!statistics) continue;
    const path = `${at}.${key}.${name}`;
    facts.rows ??= optionalCount(statistics, 'rowCount', path);
    facts.bytes ??= optionalCount(statistics, 'size', path);
    facts.files ??= optionalCount(statistics, 'fileCount', path);
  }
  return facts;
}

/** The event's input or output datasets (Dataset: namespace and name required). */
export function datasetsOf(event: JsonObject, direction: Direction): DatasetFacts[] {
  return objectsAt(event, direction).map((dataset, index) => datasetOf(dataset, `${direction}[${index}]`, direction));
}

/** The sum of a count over datasets; undefined when none reports it (unknown is not zero). */
export function total(datasets: DatasetFacts[], key: 'rows' | 'bytes' | 'files'): number | undefined {
  const known = datasets.map((dataset) => dataset[key]).filter((n): n is number => n !== undefined);
  return known.length === 0 ? undefined : known.reduce((sum, n) => sum + n, 0);
}
