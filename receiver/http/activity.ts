/**
 * POST /api/v1/logs (one record) and POST /api/v1/logs/batch (up to 1,000): the reference designs'
 * activity records (decode/activity.ts), posted as their clients post them, with the API key as
 * `X-API-Key` (design 002's header) or `Authorization: Bearer`. Answers follow design 002: 201 Created
 * with the record's id; a batch answers per record, by index, and stores the good records of a batch
 * that also holds bad ones (207 Multi-Status; 400 when none was good).
 */
import type { Request, Response } from 'express';
import { ActivityFieldError } from '../decode/activity-fields.js';
import { ACTIVITY_FIELDS, decodeActivity, type ActivityRecord } from '../decode/activity.js';
import type { IngestLine } from '../ingest/line.js';
import type { LogRow, Tenant } from '../model/records.js';
import { DecodeError } from '../model/records.js';
import type { Metrics } from '../metrics.js';
import { HTTP_STATUS, Refusal, refusalOf } from '../outcome.js';
import { sendRefusal } from './answer.js';
import type { Authenticate } from './auth.js';
import { readBudgetedBody } from './body.js';

export const MAX_BATCH_RECORDS = 1000;
const MULTI_STATUS = 207;
const CREATED = 201;

export interface ActivityRouteOptions {
  authenticate: Authenticate;
  line: IngestLine;
  metrics: Metrics;
  maxBodyBytes: number;
}

type Answer = { status: number; body: unknown };

/** The two handlers, for app.ts to mount before the query API's GET /api/v1/logs. */
export function createActivityHandlers(options: ActivityRouteOptions) {
  return {
    one: handler(options, async (tenant, body) => postOne(options, tenant, body)),
    batch: handler(options, async (tenant, body) => postBatch(options, tenant, body)),
  };
}

type Answerer = (tenant: Tenant, body: unknown) => Promise<Answer>;

function handler({ authenticate, line, metrics, maxBodyBytes }: ActivityRouteOptions, answer: Answerer) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    let release = () => {};
    try {
      if (req.method !== 'POST') {
        throw new Refusal('method_not_allowed', `${req.method} is not supported on ${req.path}: use POST`, { Allow: 'POST' });
      }
      const tenant = await authenticate(req.headers, 'ingest');
      checkContentType(req.headers['content-type']);
      const { body, reservation } = await readBudgetedBody(req, maxBodyBytes, line);
      release = () => reservation.release();
      const { status, body: json } = await answer(tenant, parseJson(body));
      res.status(status).json(json);
    } catch (caught) {
      sendRefusal(res, refusalOf(caught));
    } finally {
      release();
      metrics.requestDuration.observe({ signal: 'logs', code: String(res.statusCode) }, (performance.now() - started) / 1000);
    }
  };
}

/** JSON, or no type at all (a bare `requests.post(data=...)`); anything else is refused, not guessed at. */
function checkContentType(contentType: string | undefined): void {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === '' || type === 'application/json' || type === 'text/plain' || type.endsWith('+json')) return;
  const problem = `unsupported Content-Type "${contentType}": send the record as JSON (Content-Type: application/json)`;
  throw new Refusal('unsupported_media_type', problem);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    // Any failure, a stack overflow on absurd nesting included, is the body's fault.
    throw new DecodeError(`the request body is not valid JSON (${(error as Error).message}): send one JSON object per record`);
  }
}

async function postOne({ line, metrics }: ActivityRouteOptions, tenant: Tenant, value: unknown): Promise<Answer> {
  if (Array.isArray(value)) throw new DecodeError(`POST /api/v1/logs takes one record (a JSON object); post arrays to /api/v1/logs/batch`);
  const record = decodeOrRefusal(value);
  if (record instanceof DecodeError) {
    countRefused(metrics, [record]);
    throw record;
  }
  const { problems } = await line.ingest('logs', tenant, { logs: record.logs, spans: [] });
  const problem = problems.logs.get(0);
  if (problem !== undefined) throw new Refusal('invalid', `"${record.timeField}": ${problem}`);
  return { status: CREATED, body: created(record) };
}

async function postBatch({ line, metrics }: ActivityRouteOptions, tenant: Tenant, value: unknown): Promise<Answer> {
  const decoded = batchOf(value).map(decodeOrRefusal);
  const logs: LogRow[] = [];
  /** The index of the record each row came from: the line reports problems by row. */
  const owner: number[] = [];
  decoded.forEach((record, index) => {
    if (record instanceof DecodeError) return;
    for (const log of record.logs) (logs.push(log), owner.push(index));
  });
  const problems = logs.length > 0 ? (await line.ingest('logs', tenant, { logs, spans: [] })).problems.logs : new Map<number, string>();
  // Counted once committed, as the line counts its own: a batch answered 503 comes back whole.
  countRefused(metrics, decoded.filter((record) => record instanceof DecodeError));
  const lineProblems = new Map([...problems].map(([row, problem]) => [owner[row]!, problem]));
  const results = decoded.map((record, index) => {
    if (record instanceof DecodeError) return { index, status: 'rejected', error: record.message };
    const problem = lineProblems.get(index);
    if (problem !== undefined) return { index, status: 'rejected', error: `"${record.timeField}": ${problem}` };
    return { index, status: 'created', ...created(record) };
  });
  const ids = results.flatMap((result) => ('id' in result ? [result.id] : []));
  const rejected = results.length - ids.length;
  const status = rejected === 0 ? CREATED : ids.length > 0 ? MULTI_STATUS : HTTP_STATUS.invalid;
  const summary = { accepted: ids.length, rejected, ids, results };
  if (status !== HTTP_STATUS.invalid) return { status, body: summary };
  return { status, body: { error: `all ${rejected} records were refused: see "results"`, ...summary } };
}

/** An array of records, or design 002's wrapper object `{"logs": [...]}`. */
function batchOf(value: unknown): unknown[] {
  const wrapped = value !== null && typeof value === 'object' && Object.hasOwn(value, 'logs');
  const records = Array.isArray(value) ? value : wrapped ? (value as { logs: unknown }).logs : undefined;
  if (!Array.isArray(records)) throw new DecodeError('a batch is a JSON array of records, or an object {"logs": [records]}');
  if (records.length > MAX_BATCH_RECORDS) {
    throw new Refusal('too_large', `a batch holds at most ${MAX_BATCH_RECORDS} records, got ${records.length}: split it`);
  }
  return records;
}

function created(record: ActivityRecord) {
  return {
    id: record.id,
    pipeline: record.pipeline,
    ...(record.stage === null ? {} : { stage: record.stage }),
    ...(record.unknownFields.length === 0 ? {} : { unknown_fields: record.unknownFields }),
  };
}

function decodeOrRefusal(value: unknown): ActivityRecord | DecodeError {
  try {
    return decodeActivity(value);
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
}

/** Refusals counted by field: a bounded label (a field of the designs, else the record as a whole). */
function countRefused(metrics: Metrics, errors: DecodeError[]): void {
  const reasons = new Map<string, number>();
  for (const error of errors) {
    const field = error instanceof ActivityFieldError && ACTIVITY_FIELDS.has(error.field) ? `field ${error.field}` : 'record';
    const reason = `invalid activity ${field}`;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  if (reasons.size > 0) metrics.refused('logs', reasons);
}
