/**
 * POST /api/v1/logs (one record) and POST /api/v1/logs/batch (up to 1,000): the activity records of
 * notebook and workflow loggers (decode/activity.ts; docs/sending.md), posted as their clients post them,
 * with the API key as `X-API-Key` (the workflow loggers' header) or `Authorization: Bearer`. Answers
 * follow the workflow loggers' central API, so that their shipper needs no change: 201 Created
 * with the record's id; a batch answers per record, by index, and stores the good records of a batch
 * that also holds bad ones (207 Multi-Status; 400 when none was good).
 */
import { ACTIVITY_FIELDS, decodeActivity, type ActivityRecord } from '../decode/activity.js';
import { FieldError } from '../decode/json-fields.js';
import { DecodeError } from '../model/records.js';
import { HTTP_STATUS, Refusal } from '../model/outcome.js';
import { createJsonIngestHandler, type Answer, type JsonFormat, type JsonRouteOptions, type Outcome, type ReadBody } from './json-ingest.js';

const MULTI_STATUS = 207;
const CREATED = 201;

const ACTIVITY: JsonFormat<ActivityRecord> = {
  noun: 'records',
  decode: decodeActivity,
  rows: (record) => record.logs,
  // Counted by field: a bounded label (a field either shape defines, else the record as a whole).
  reason: (error) => `invalid activity ${error instanceof FieldError && ACTIVITY_FIELDS.has(error.field) ? `field ${error.field}` : 'record'}`,
};

/** The two handlers, for app.ts to mount before the query API's GET /api/v1/logs. */
export function createActivityHandlers(options: JsonRouteOptions) {
  return { one: createJsonIngestHandler(options, ACTIVITY, readOne), batch: createJsonIngestHandler(options, ACTIVITY, readBatch) };
}

const readOne: ReadBody<ActivityRecord> = (body) => {
  if (Array.isArray(body)) throw new DecodeError(`POST /api/v1/logs takes one record (a JSON object); post arrays to /api/v1/logs/batch`);
  return { items: [body], answer: ([outcome]) => answerOne(outcome!) };
};

function answerOne(outcome: Outcome<ActivityRecord>): Answer {
  if ('error' in outcome) throw outcome.error;
  if (outcome.problem !== undefined) throw new Refusal('invalid', lineProblem(outcome.record, outcome.problem));
  return { status: CREATED, body: created(outcome.record) };
}

/** An array of records, or the wrapper object `{"logs": [...]}`. */
const readBatch: ReadBody<ActivityRecord> = (body) => {
  const wrapped = body !== null && typeof body === 'object' && Object.hasOwn(body, 'logs');
  const records = Array.isArray(body) ? body : wrapped ? (body as { logs: unknown }).logs : undefined;
  if (!Array.isArray(records)) throw new DecodeError('a batch is a JSON array of records, or an object {"logs": [records]}');
  return { items: records, answer: answerBatch };
};

function answerBatch(outcomes: Outcome<ActivityRecord>[]): Answer {
  const results = outcomes.map((outcome) => {
    const { index } = outcome;
    if ('error' in outcome) return { index, status: 'rejected', error: outcome.error.message };
    if (outcome.problem !== undefined) return { index, status: 'rejected', error: lineProblem(outcome.record, outcome.problem) };
    return { index, status: 'created', ...created(outcome.record) };
  });
  const ids = results.flatMap((result) => ('id' in result ? [result.id] : []));
  const rejected = results.length - ids.length;
  const status = rejected === 0 ? CREATED : ids.length > 0 ? MULTI_STATUS : HTTP_STATUS.invalid;
  const summary = { accepted: ids.length, rejected, ids, results };
  if (status !== HTTP_STATUS.invalid) return { status, body: summary };
  return { status, body: { error: `all ${rejected} records were refused: see "results"`, ...summary } };
}

/** The line refuses by time (e.g. older than the retention window): the record's time field is named. */
const lineProblem = (record: ActivityRecord, problem: string) => `"${record.timeField}": ${problem}`;

function created(record: ActivityRecord) {
  return {
    id: record.id,
    pipeline: record.pipeline,
    ...(record.stage === null ? {} : { stage: record.stage }),
    ...(record.unknownFields.length === 0 ? {} : { unknown_fields: record.unknownFields }),
  };
}
