/**
 * OpenLineage events (https://openlineage.io/docs/spec/object-model, spec 2-0-2) as log records carrying
 * the pipeline vocabulary, so that model/derive.ts makes runs and stages of them like any other record:
 *
 * - A RunEvent without a parent run facet is a run: pipeline `<job.namespace>/<job.name>` (a job name is
 *   unique only within its namespace, and two schedulers' jobs must not merge), run id `run.runId`.
 *   START starts it, RUNNING and OTHER (and an event without eventType) are heartbeats, COMPLETE ends it
 *   in success, FAIL in failure, ABORT in cancellation. Its other events carry the start the producer
 *   knows (startHintOf), for a run whose START never came (Airflow sends none for a DAG run it tests).
 * - A RunEvent with a parent run facet is a stage (an Airflow task in its DAG run) of the top-level run:
 *   the facet's `root` when it names one, else its parent. The stage run id is the event's runId, its
 *   name the job name without the owning job's name and a dot (Airflow names tasks `dag_id.task_id`).
 *   START starts it, COMPLETE / FAIL / ABORT end it; RUNNING and OTHER are stored without deriving
 *   anything (the vocabulary has no stage heartbeat).
 * - JobEvent and DatasetEvent (static lineage) are stored as plain records, derive nothing.
 *
 * An error facet (errorMessage, Spark's spark.exception) gives the error on any of them.
 *
 * Each record's body is the whole event as JSON, so nothing is lost; its time is eventTime, and it has
 * no observed time, so that a resent event is the identical record and is stored once.
 */
import { datasetName } from '../../contract/dataset-name.js';
import { ATTR, EVENT, LINEAGE, type Result } from '../../contract/vocabulary.js';
import { DecodeError, type Attributes, type LogRow } from '../model/records.js';
import { datasetsOf, errorOf, jobAt, parentOf, startHintOf, total, uuidAt, type JobRef, type RunRef } from './openlineage-facets.js';
import { FieldError, isObject, optionalObject, optionalString, own, requiredObject, requiredString, shown, type JsonObject } from './json-fields.js';
import { requiredTime } from './json-time.js';
import { checkStorable } from './json-values.js';

export type LineageKind = 'run' | 'job' | 'dataset';

export interface LineageRecord {
  kind: LineageKind;
  row: LogRow;
}

export const EVENT_TYPES = ['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER'] as const;
type EventType = (typeof EVENT_TYPES)[number];

const ENDS: Partial<Record<EventType, Result>> = { COMPLETE: 'success', FAIL: 'failure', ABORT: 'cancellation' };
const SEVERITY: Partial<Record<EventType, [number, string]>> = { FAIL: [17, 'ERROR'], ABORT: [13, 'WARN'] };
const INFO: [number, string] = [9, 'INFO'];
const SOURCE_SYSTEM = 'openlineage';

const pipelineOf = (job: JobRef) => `${job.namespace}/${job.name}`;
function eventTypeOf(event: JsonObject): EventType | undefined {
  const value = optionalString(event, 'eventType');
  if (value === undefined || (EVENT_TYPES as readonly string[]).includes(value)) return value as EventType | undefined;
  throw new FieldError('eventType', `must be one of ${EVENT_TYPES.join(', ')}, got ${shown(value)}`);
}

/** RunEvent, JobEvent or DatasetEvent: by the schemaURL's definition name, as Marquez tells them apart, else by shape. */
function kindOf(event: JsonObject): LineageKind {
  const named = /\/(RunEvent|JobEvent|DatasetEvent)$/.exec(optionalString(event, 'schemaURL') ?? '')?.[1];
  if (named) return named === 'RunEvent' ? 'run' : named === 'JobEvent' ? 'job' : 'dataset';
  const has = (key: string) => own(event, key) !== undefined;
  if (has('run') || has('eventType')) return 'run';
  if (has('dataset')) return 'dataset';
  if (has('job')) return 'job';
  throw new DecodeError('not an OpenLineage event: a RunEvent has run and job, a JobEvent has job, a DatasetEvent has dataset');
}

function row(event: JsonObject, eventName: string, attributes: Attributes, serviceName: string, severity = INFO): LogRow {
  return {
    resource: { attributes: { [ATTR.serviceName]: serviceName }, schemaUrl: '', droppedAttributesCount: 0 },
    // The producer is the instrumentation that emitted the event (the Airflow provider, the Spark listener).
    scope: { name: optionalString(event, 'producer') ?? '', version: '', attributes: {}, schemaUrl: '' },
    timeUnixNano: requiredTime(event, 'eventTime'),
    observedTimeUnixNano: '0',
    severityNumber: severity[0],
    severityText: severity[1],
    body: JSON.stringify(event),
    attributes,
    droppedAttributesCount: 0,
    flags: 0,
    traceId: '',
    spanId: '',
    eventName,
  };
}

/** Datasets as attributes: all of them by name, the first output as the target, rows and bytes summed. */
function datasetAttributes(event: JsonObject): Attributes {
  const [inputs, outputs] = [datasetsOf(event, 'inputs'), datasetsOf(event, 'outputs')];
  const attributes: Attributes = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) attributes[key] = value;
  };
  if (inputs.length > 0) attributes[ATTR.lineageInputs] = inputs.map(datasetName);
  if (outputs.length > 0) attributes[ATTR.lineageOutputs] = outputs.map(datasetName);
  set(ATTR.dbNamespace, outputs[0]?.namespace);
  set(ATTR.dbCollection, outputs[0]?.name);
  set(ATTR.rowsRead, total(inputs, 'rows'));
  set(ATTR.rowsWritten, total(outputs, 'rows'));
  set(LINEAGE.bytesWritten, total(outputs, 'bytes'));
  set(LINEAGE.filesWritten, total(outputs, 'files'));
  return attributes;
}

function errorAttributes(facets: JsonObject): Attributes {
  const error = errorOf(facets);
  if (!error) return {};
  const attributes: Attributes = { [ATTR.errorType]: error.type, [ATTR.exceptionMessage]: error.message };
  if (error.type !== '_OTHER') attributes[ATTR.exceptionType] = error.type;
  if (error.stackTrace !== undefined) attributes[ATTR.exceptionStacktrace] = error.stackTrace;
  if (error.language !== undefined) attributes[LINEAGE.errorLanguage] = error.language;
  return attributes;
}

/** The run this one is a stage of: the tree's root, else the parent; none when either is the run itself. */
function ownerOf(facets: JsonObject, runId: string): { owner: RunRef; parent: RunRef } | null {
  const found = parentOf(facets);
  if (!found) return null;
  const owner = [found.root, found.parent].find((ref) => ref !== null && ref.runId !== runId);
  return owner ? { owner, parent: found.parent } : null;
}

function stageName(job: JobRef, owner: JobRef): string {
  const prefix = `${owner.name}.`;
  return job.name.startsWith(prefix) && job.name.length > prefix.length ? job.name.slice(prefix.length) : job.name;
}

function runRecord(event: JsonObject): LogRow {
  const eventType = eventTypeOf(event);
  const run = requiredObject(event, 'run');
  const runId = uuidAt(run, 'runId', 'run');
  const job = jobAt(event, 'job');
  const facets = optionalObject(run, 'facets', 'run') ?? {};
  const owned = ownerOf(facets, runId);
  const result = eventType === undefined ? undefined : ENDS[eventType];
  const attributes: Attributes = {
    [ATTR.pipelineName]: pipelineOf(owned?.owner.job ?? job),
    [ATTR.runId]: owned?.owner.runId ?? runId,
    [ATTR.sourceSystem]: SOURCE_SYSTEM,
    [LINEAGE.eventType]: eventType ?? 'OTHER',
    [LINEAGE.jobNamespace]: job.namespace,
    [LINEAGE.jobName]: job.name,
    [LINEAGE.runId]: runId,
    ...datasetAttributes(event),
    ...errorAttributes(facets),
  };
  const severity = (eventType && SEVERITY[eventType]) ?? INFO;
  if (!owned) {
    if (result) attributes[ATTR.runResult] = result;
    const startHint = eventType === 'START' ? undefined : startHintOf(facets);
    if (startHint !== undefined) attributes[ATTR.runStartHint] = startHint;
    const name = eventType === 'START' ? EVENT.runStart : result ? EVENT.runEnd : EVENT.runHeartbeat;
    return row(event, name, attributes, job.namespace, severity);
  }
  Object.assign(attributes, {
    [ATTR.stageName]: stageName(job, owned.owner.job),
    [ATTR.stageRunId]: runId,
    [LINEAGE.parentRunId]: owned.parent.runId,
    [LINEAGE.parentJobNamespace]: owned.parent.job.namespace,
    [LINEAGE.parentJobName]: owned.parent.job.name,
  });
  if (owned.owner !== owned.parent) attributes[LINEAGE.rootRunId] = owned.owner.runId;
  if (result) attributes[ATTR.stageResult] = result;
  const name = eventType === 'START' ? EVENT.stageStart : result ? EVENT.stageEnd : LINEAGE.runEvent;
  return row(event, name, attributes, job.namespace, severity);
}

function jobRecord(event: JsonObject): LogRow {
  const job = jobAt(event, 'job');
  const attributes: Attributes = {
    [ATTR.pipelineName]: pipelineOf(job),
    [ATTR.sourceSystem]: SOURCE_SYSTEM,
    [LINEAGE.jobNamespace]: job.namespace,
    [LINEAGE.jobName]: job.name,
    ...datasetAttributes(event),
  };
  return row(event, LINEAGE.jobEvent, attributes, job.namespace);
}

function datasetRecord(event: JsonObject): LogRow {
  const dataset = requiredObject(event, 'dataset');
  const namespace = requiredString(dataset, 'namespace', 'dataset');
  const name = requiredString(dataset, 'name', 'dataset');
  const attributes: Attributes = { [ATTR.sourceSystem]: SOURCE_SYSTEM, [ATTR.dbNamespace]: namespace, [ATTR.dbCollection]: name };
  return row(event, LINEAGE.datasetEvent, attributes, SOURCE_SYSTEM);
}

const RECORDS: Record<LineageKind, (event: JsonObject) => LogRow> = { run: runRecord, job: jobRecord, dataset: datasetRecord };

/** One event as a record; throws DecodeError naming the field that is wrong. */
export function decodeLineageEvent(event: unknown): LineageRecord {
  if (!isObject(event)) throw new DecodeError(`an OpenLineage event must be a JSON object, got ${shown(event)}`);
  checkStorable(event, 'the event');
  const kind = kindOf(event);
  return { kind, row: RECORDS[kind](event) };
}
