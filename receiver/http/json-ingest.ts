/**
 * The path every JSON ingest route shares (OpenLineage events at /api/v1/lineage, activity records at
 * /api/v1/logs and /api/v1/logs/batch): POST only, a key with the 'ingest' scope, a JSON body read within
 * the memory budget, each item decoded by its format, the rows of the good ones written in one ingest,
 * and an answer per item. What differs per route (which items a body holds, how to decode one, how to
 * answer) is its JsonFormat and ReadBody.
 */
import type { Request, Response } from 'express';
import type { IngestLine } from '../ingest/line.js';
import { DecodeError, type LogRow, type Tenant } from '../model/records.js';
import type { IngestReport, LineageType, RecordOutcomes } from '../metrics/ingest-report.js';
import { Refusal, refusalOf } from '../model/outcome.js';
import { sendRefusal } from './answer.js';
import type { Authenticate } from '../auth/auth.js';
import { readBudgetedBody } from './body.js';

export interface JsonRouteOptions {
  authenticate: Authenticate;
  line: IngestLine;
  requests: IngestReport;
  maxBodyBytes: number;
}

/** Items in one request, in any format: more is refused whole (413: nothing is wrong but the size). */
const MAX_BATCH_ITEMS = 1000;

/** What became of one item: stored (no problem), refused by the line (`problem`, e.g. too old), or by its decoder. */
export type Outcome<T> = { index: number; record: T; problem: string | undefined } | { index: number; error: DecodeError };

export interface Answer {
  status: number;
  body: unknown;
}

export interface JsonFormat<T> {
  /** What the items are called in messages: "events", "records". */
  noun: string;
  /** One item as a record; throws a DecodeError naming what is wrong. */
  decode(value: unknown): T;
  rows(record: T): LogRow[];
  /** The reason a refused item is counted under in pipemon_receiver_refused_records_total: bounded. */
  reason(error: DecodeError): string;
  /** The type a stored item is counted under in pipemon_receiver_lineage_events_total; absent: not counted there. */
  lineageType?(record: T): LineageType;
}

/** A route's items of the parsed body, and how it answers once they are stored; throws to refuse the body whole. */
export type ReadBody<T> = (body: unknown) => { items: unknown[]; answer(outcomes: Outcome<T>[]): Answer };

export function createJsonIngestHandler<T>(options: JsonRouteOptions, format: JsonFormat<T>, read: ReadBody<T>) {
  const { authenticate, line, requests, maxBodyBytes } = options;
  return async (req: Request, res: Response): Promise<void> => {
    const request = requests.start('logs');
    let release = () => {};
    try {
      if (req.method !== 'POST') {
        throw new Refusal('method_not_allowed', `${req.method} is not supported on ${req.path}: use POST`, { Allow: 'POST' });
      }
      const tenant = await authenticate(req.headers, 'ingest');
      checkContentType(req.headers['content-type']);
      const { body, reservation } = await readBudgetedBody(req, maxBodyBytes, line);
      release = () => reservation.release();
      const { items, answer } = read(parseJson(body));
      if (items.length > MAX_BATCH_ITEMS) {
        throw new Refusal('too_large', `a batch holds at most ${MAX_BATCH_ITEMS} ${format.noun}, got ${items.length}: split it`);
      }
      const outcomes = await ingest(line, tenant, format, items, request);
      // Told once committed, as the line tells its own: a request answered 503 comes back whole.
      tell(request, format, outcomes);
      const { status, body: json } = answer(outcomes);
      res.status(status).json(json);
    } catch (caught) {
      sendRefusal(res, refusalOf(caught));
    } finally {
      release();
      request.end(String(res.statusCode));
    }
  };
}

/**
 * JSON by any of the names clients give it, or no type at all: application/json; a `+json` type
 * (RFC 6839); text/plain, which fetch() and XMLHttpRequest send for a string body unless told otherwise;
 * and none, as a bare `requests.post(data=...)` sends. Anything else (a form, protobuf) is refused, not
 * guessed at.
 */
function checkContentType(contentType: string | undefined): void {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === '' || type === 'application/json' || type === 'text/plain' || type.endsWith('+json')) return;
  throw new Refusal('unsupported_media_type', `unsupported Content-Type "${contentType}": send JSON (Content-Type: application/json)`);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    // Any failure, a stack overflow on absurd nesting included, is the body's fault.
    throw new DecodeError(`the request body is not valid JSON (${(error as Error).message})`);
  }
}

/** Decodes each item, writes the rows of the good ones, and tells what became of each item. */
async function ingest<T>(line: IngestLine, tenant: Tenant, format: JsonFormat<T>, items: unknown[], request: RecordOutcomes): Promise<Outcome<T>[]> {
  const decoded = items.map((item): { record: T } | { error: DecodeError } => {
    try {
      return { record: format.decode(item) };
    } catch (error) {
      if (error instanceof DecodeError) return { error };
      throw error;
    }
  });
  const logs: LogRow[] = [];
  /** The index of the item each row came from: the line reports problems by row. */
  const owner: number[] = [];
  decoded.forEach((item, index) => {
    if ('record' in item) for (const row of format.rows(item.record)) (logs.push(row), owner.push(index));
  });
  const problems = new Map<number, string>();
  if (logs.length > 0) {
    const ingested = await line.ingest(tenant, { logs, spans: [], points: [] }, request);
    for (const [row, problem] of ingested.problems.logs) if (!problems.has(owner[row]!)) problems.set(owner[row]!, problem);
  }
  return decoded.map((item, index) => ('record' in item ? { index, record: item.record, problem: problems.get(index) } : { index, error: item.error }));
}

/** Tells the request the items its decoder refused, by reason, and the stored ones its format counts by type. */
function tell<T>(request: RecordOutcomes, format: JsonFormat<T>, outcomes: Outcome<T>[]): void {
  const reasons = new Map<string, number>();
  const types = new Map<LineageType, number>();
  for (const outcome of outcomes) {
    if ('error' in outcome) addOne(reasons, format.reason(outcome.error));
    else if (outcome.problem === undefined && format.lineageType) addOne(types, format.lineageType(outcome.record));
  }
  request.refused(reasons);
  request.lineage(types);
}

function addOne<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
