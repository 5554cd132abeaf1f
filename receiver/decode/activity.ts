/**
 * The activity records that notebook and workflow loggers built before pipemon POST to /api/v1/logs
 * (docs/sending.md says who posts them), decoded into log records that carry the pipeline vocabulary
 * (contract/vocabulary.ts), so that they derive runs and stages exactly as the SDK's records do
 * (model/derive.ts).
 *
 * The two shapes are told apart by their time field: `logged_at` is a Fabric notebook logger's record of
 * one stage, `executed_at` a ticket workflow's record of one ticket, as its log shipper sends it.
 *
 * | notebook record       | workflow record          | becomes                                                  |
 * |-----------------------|--------------------------|----------------------------------------------------------|
 * | source_system *       | –                        | pipeline (cicd.pipeline.name) and pipemon.source.system  |
 * | –                     | –                        | pipeline "workflow" (one workflow per API key's client)  |
 * | stage *               | –                        | stage (cicd.pipeline.task.name) of the run               |
 * | notebook_name *       | –                        | service.name; stage run id                               |
 * | –                     | ticket_id                | pipemon.activity.ticket_id; part of the run id           |
 * | logged_at *           | executed_at *            | the record's time (required: see below)                  |
 * | status *              | status *                 | run/stage event and result (activity-status.ts)          |
 * | duration              | execution_time_seconds   | pipemon.duration_seconds                                 |
 * | row_count             | –                        | pipemon.rows.written                                     |
 * | target_table          | –                        | target (db.collection.name)                              |
 * | entity_name           | –                        | target when no target_table; pipemon.activity.entity_name |
 * | capabilities          | –                        | pipemon.capabilities                                     |
 * | –                     | environment *            | deployment.environment.name (resource)                   |
 * | –                     | workflow_version         | service.version (resource)                               |
 * | workspace_id, lakehouse_id, additional_metadata | category, resolution_status, metrics, payload | pipemon.activity.<field> |
 * | any other field       | any other field          | pipemon.activity.unknown_fields (and named in the answer) |
 *
 * (* required.) The run: neither shape sends a run id; each record reports one execution, a
 * notebook's or a ticket's, when it ends. So a record is one run, identified by what it ran and when:
 * `<source_system>/<notebook_name>@<logged_at>` (with one stage, the notebook's) or
 * `workflow/<ticket_id>@<executed_at>`. A record with a start or running status is a run in progress
 * of its own: neither shape gives anything to join it to a later end.
 *
 * The time is required although the notebook loggers do not mark it so: a row whose content came
 * from the receive time would differ on every resend, and a resent record must be stored once (rows
 * are deduplicated by content). Free-form objects are stored with sorted keys for the same reason.
 */
import { ACTIVITY, ATTR, EVENT } from '../../contract/vocabulary.js';
import { DecodeError, nanosToMs, type Attributes, type LogRow, type Resource, type Scope } from '../model/records.js';
import { isObject, optionalCount, shown, type JsonObject } from './json-fields.js';
import { canonical, checkStorable } from './json-values.js';
import {
  optionalJson,
  optionalName,
  optionalNames,
  optionalSeconds,
  optionalText,
  RECORD_MAX_BYTES,
  recordTime,
  requiredName,
} from './activity-fields.js';
import { statusOf, type Meaning } from './activity-status.js';

/** One decoded record: its rows, and what the answer tells the client about it. */
export interface ActivityRecord {
  logs: LogRow[];
  /** The run's id: GET /api/v1/runs/{id}. */
  id: string;
  pipeline: string;
  stage: string | null;
  /** The record's time field, for messages about the time. */
  timeField: 'logged_at' | 'executed_at';
  unknownFields: string[];
}

const NOTEBOOK_FIELDS = [
  'source_system', 'stage', 'notebook_name', 'workspace_id', 'lakehouse_id', 'status', 'logged_at', 'duration',
  'capabilities', 'entity_name', 'target_table', 'row_count', 'additional_metadata',
];
const WORKFLOW_FIELDS = [
  'environment', 'executed_at', 'ticket_id', 'status', 'execution_time_seconds', 'category', 'metrics', 'payload',
  'workflow_version', 'resolution_status',
];
/** Every field either shape defines: the refusal counter's reasons name only these. */
export const ACTIVITY_FIELDS: ReadonlySet<string> = new Set([...NOTEBOOK_FIELDS, ...WORKFLOW_FIELDS]);
/** A workflow record has no pipeline name: a key's client runs one workflow (one `workflow_logs` table in its logger). */
export const WORKFLOW_PIPELINE = 'workflow';

const SEVERITY = { info: [9, 'INFO'], warn: [13, 'WARN'], error: [17, 'ERROR'] } as const;

/** Decodes one record of either shape, or throws a DecodeError naming the field at fault. */
export function decodeActivity(value: unknown): ActivityRecord {
  if (!isObject(value)) throw new DecodeError(`an activity record must be a JSON object, got ${shown(value)}`);
  checkStorable(value, 'the record', RECORD_MAX_BYTES);
  const record = value;
  return shapeOf(record) === 'notebook' ? notebookRecord(record) : workflowRecord(record);
}

function shapeOf(record: JsonObject): 'notebook' | 'workflow' {
  const has = (name: string) => Object.hasOwn(record, name);
  if (has('logged_at') && has('executed_at')) {
    throw new DecodeError('a record has "logged_at" (a notebook record) or "executed_at" (a workflow record), not both');
  }
  if (has('logged_at')) return 'notebook';
  if (has('executed_at')) return 'workflow';
  const score = (fields: string[]) => fields.filter((name) => name !== 'status' && has(name)).length;
  const [notebook, workflow] = [score(NOTEBOOK_FIELDS), score(WORKFLOW_FIELDS)];
  if (notebook === 0 && workflow === 0) {
    throw new DecodeError(
      `not an activity record: expected a notebook record (${NOTEBOOK_FIELDS.join(', ')}) ` +
        `or a workflow record (${WORKFLOW_FIELDS.join(', ')})`,
    );
  }
  // The time field is missing: the reader of the likelier shape says so, naming it.
  return notebook >= workflow ? 'notebook' : 'workflow';
}

function notebookRecord(record: JsonObject): ActivityRecord {
  const pipeline = requiredName(record, 'source_system');
  const stage = requiredName(record, 'stage');
  const notebook = requiredName(record, 'notebook_name');
  const status = statusOf(record);
  const nanos = recordTime(record, 'logged_at');
  const entity = optionalText(record, 'entity_name');
  const target = optionalText(record, 'target_table') ?? entity;
  const id = `${pipeline}/${notebook}@${isoOf(nanos)}`;
  const attributes = compact({
    [ATTR.pipelineName]: pipeline,
    [ATTR.runId]: id,
    [ATTR.sourceSystem]: pipeline,
    [ACTIVITY.status]: status.word,
    [ATTR.durationSeconds]: optionalSeconds(record, 'duration'),
    [ATTR.rowsWritten]: optionalCount(record, 'row_count'),
    [ATTR.dbCollection]: target,
    [ATTR.capabilities]: optionalNames(record, 'capabilities'),
    [ACTIVITY.entityName]: entity,
    [ACTIVITY.workspaceId]: optionalText(record, 'workspace_id'),
    [ACTIVITY.lakehouseId]: optionalText(record, 'lakehouse_id'),
    [ACTIVITY.additionalMetadata]: optionalJson(record, 'additional_metadata'),
  });
  const unknown = unknownFields(record, NOTEBOOK_FIELDS, attributes);
  const shared: Shared = {
    meaning: status.meaning,
    nanos,
    body: `${notebook} (${pipeline} ${stage}): ${status.word}`,
    resource: resourceOf({ [ATTR.serviceName]: notebook }),
    scope: scopeOf('notebook'),
  };
  const logs = [row('run', attributes, shared), row('stage', { ...attributes, [ATTR.stageName]: stage, [ATTR.stageRunId]: notebook }, shared)];
  return { logs, id, pipeline, stage, timeField: 'logged_at', unknownFields: unknown };
}

function workflowRecord(record: JsonObject): ActivityRecord {
  const environment = requiredName(record, 'environment');
  const status = statusOf(record);
  const nanos = recordTime(record, 'executed_at');
  const ticket = optionalName(record, 'ticket_id');
  const id = `${WORKFLOW_PIPELINE}/${ticket ?? '-'}@${isoOf(nanos)}`;
  const attributes = compact({
    [ATTR.pipelineName]: WORKFLOW_PIPELINE,
    [ATTR.runId]: id,
    [ACTIVITY.status]: status.word,
    [ATTR.durationSeconds]: optionalSeconds(record, 'execution_time_seconds'),
    [ACTIVITY.ticketId]: ticket,
    [ACTIVITY.category]: optionalText(record, 'category'),
    [ACTIVITY.resolutionStatus]: optionalText(record, 'resolution_status'),
    [ACTIVITY.metrics]: optionalJson(record, 'metrics'),
    [ACTIVITY.payload]: optionalJson(record, 'payload'),
  });
  const unknown = unknownFields(record, WORKFLOW_FIELDS, attributes);
  const version = optionalText(record, 'workflow_version');
  const log = row('run', attributes, {
    meaning: status.meaning,
    nanos,
    body: `${ticket === undefined ? 'workflow' : `ticket ${ticket}`} (${environment}): ${status.word}`,
    resource: resourceOf(compact({ [ATTR.environment]: environment, [ACTIVITY.serviceVersion]: version })),
    scope: scopeOf('workflow'),
  });
  return { logs: [log], id, pipeline: WORKFLOW_PIPELINE, stage: null, timeField: 'executed_at', unknownFields: unknown };
}

/** Stages have no heartbeat event: a running stage is a started one. */
const EVENTS = {
  run: { start: EVENT.runStart, heartbeat: EVENT.runHeartbeat, end: EVENT.runEnd },
  stage: { start: EVENT.stageStart, heartbeat: EVENT.stageStart, end: EVENT.stageEnd },
} as const;

const RESULT_KEY = { run: ATTR.runResult, stage: ATTR.stageResult } as const;

/** What the rows of one activity record share; they differ by level (the run's, the stage's). */
interface Shared {
  meaning: Meaning;
  nanos: string;
  body: string;
  resource: Resource;
  scope: Scope;
}

function row(level: 'run' | 'stage', attributes: Attributes, { meaning, nanos, body, resource, scope }: Shared): LogRow {
  const [severityNumber, severityText] = severityOf(meaning);
  return {
    resource,
    scope,
    timeUnixNano: nanos,
    // Unset, as OTLP allows: the receive time would make a resent record a different row.
    observedTimeUnixNano: '0',
    severityNumber,
    severityText,
    body,
    attributes: meaning.phase === 'end' ? { ...attributes, [RESULT_KEY[level]]: meaning.result } : attributes,
    droppedAttributesCount: 0,
    flags: 0,
    traceId: '',
    spanId: '',
    eventName: EVENTS[level][meaning.phase],
  };
}

function severityOf(meaning: Meaning): readonly [number, string] {
  if (meaning.phase !== 'end') return SEVERITY.info;
  if (meaning.result === 'failure' || meaning.result === 'error' || meaning.result === 'timeout') return SEVERITY.error;
  return meaning.result === 'cancellation' ? SEVERITY.warn : SEVERITY.info;
}

/** Fields the shape does not define: kept (keys sorted) and named, so that a misspelling is seen. */
function unknownFields(record: JsonObject, known: string[], attributes: Attributes): string[] {
  const names = Object.keys(record).filter((name) => !known.includes(name)).sort();
  if (names.length > 0) attributes[ACTIVITY.unknownFields] = canonical(Object.fromEntries(names.map((name) => [name, record[name]])));
  return names;
}

/** Without the absent fields (omitted or null, both read as undefined): the two make the same row. */
function compact(attributes: Record<string, unknown>): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined));
}

function resourceOf(attributes: Attributes): Resource {
  return { attributes, schemaUrl: '', droppedAttributesCount: 0 };
}

function scopeOf(kind: 'notebook' | 'workflow'): Scope {
  return { name: `pipemon.activity.${kind}`, version: '', attributes: {}, schemaUrl: '' };
}

/** The time in run ids: milliseconds, as the runs table keeps times. */
function isoOf(nanos: string): string {
  return new Date(nanosToMs(nanos)).toISOString();
}
