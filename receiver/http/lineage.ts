/**
 * POST /api/v1/lineage: OpenLineage events, at the path the OpenLineage HTTP transport posts to by
 * default, with the key its `api_key` auth sends (`Authorization: Bearer`). The body is one event, as
 * the transport sends it, or an array of up to 1,000 (a batch form for custom senders).
 *
 * Answered as Marquez answers: 201 once committed, with a small JSON body
 * `{"accepted": n, "rejected": m, "errors": [{"index", "error"}]}`. A single invalid event, or an array
 * whose every event is invalid, is a 400 naming the field; an array with some invalid events stores the
 * rest and lists the others (the client must not resend those).
 */
import type { Request, Response } from 'express';
import { decodeLineage, type LineageBatch, type LineageKind, type LineageRecord } from '../decode/openlineage.js';
import type { IngestLine } from '../ingest/line.js';
import type { Tenant } from '../model/records.js';
import type { Metrics } from '../metrics.js';
import { HTTP_STATUS, Refusal, refusalOf } from '../outcome.js';
import { sendRefusal } from './answer.js';
import type { Authenticate } from './auth.js';
import { readBudgetedBody } from './body.js';

export interface LineageRouteOptions {
  authenticate: Authenticate;
  line: IngestLine;
  metrics: Metrics;
  maxBodyBytes: number;
}

interface EventError {
  index: number;
  error: string;
}

interface Outcome {
  accepted: Map<LineageKind, number>;
  errors: EventError[];
}

function requireJson(contentType: string | undefined): void {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  // No Content-Type is taken as JSON: it is the only format, and hand-made requests often omit it.
  if (mediaType !== '' && mediaType !== 'application/json') {
    throw new Refusal('unsupported_media_type', `unsupported Content-Type "${contentType}": send OpenLineage events as application/json`);
  }
}

/** Commits the batch's valid events; resolves after COMMIT with what was accepted and what was not. */
async function ingest(line: IngestLine, tenant: Tenant, batch: LineageBatch): Promise<Outcome> {
  const errors: EventError[] = [];
  const records: { index: number; record: LineageRecord }[] = [];
  batch.items.forEach((item, index) => ('error' in item ? errors.push({ index, error: item.error }) : records.push({ index, record: item })));
  const accepted = new Map<LineageKind, number>();
  if (records.length === 0) return { accepted, errors };
  const { problems } = await line.ingest('logs', tenant, { logs: records.map(({ record }) => record.row), spans: [] });
  records.forEach(({ index, record }, logIndex) => {
    const problem = problems.logs.get(logIndex);
    if (problem === undefined) accepted.set(record.kind, (accepted.get(record.kind) ?? 0) + 1);
    else errors.push({ index, error: `${batch.single ? '' : `event ${index}: `}eventTime refused: ${problem}` });
  });
  errors.sort((a, b) => a.index - b.index);
  return { accepted, errors };
}

function answer(res: Response, batch: LineageBatch, { accepted, errors }: Outcome): void {
  const stored = [...accepted.values()].reduce((sum, n) => sum + n, 0);
  if (batch.single && errors.length > 0) return sendRefusal(res, new Refusal('invalid', errors[0]!.error));
  const body = { accepted: stored, rejected: errors.length, ...(errors.length > 0 ? { errors } : {}) };
  if (stored === 0 && errors.length > 0) {
    res.status(HTTP_STATUS.invalid).json({ error: `all ${errors.length} events were refused: see errors`, ...body });
    return;
  }
  res.status(201).json(body);
}

export function createLineageHandler({ authenticate, line, metrics, maxBodyBytes }: LineageRouteOptions) {
  return async (req: Request, res: Response): Promise<void> => {
    let release = () => {};
    try {
      if (req.method !== 'POST') {
        throw new Refusal('method_not_allowed', `${req.method} is not supported on ${req.path}: use POST`, { Allow: 'POST' });
      }
      const tenant = await authenticate(req.headers, 'ingest');
      requireJson(req.headers['content-type']);
      const { body, reservation } = await readBudgetedBody(req, maxBodyBytes, line);
      release = () => reservation.release();
      const batch = decodeLineage(body.toString('utf8'));
      const outcome = await ingest(line, tenant, batch);
      // Counted once committed: an event answered 503 comes back.
      for (const [kind, n] of outcome.accepted) metrics.lineage(kind, n);
      answer(res, batch, outcome);
    } catch (caught) {
      sendRefusal(res, refusalOf(caught));
    } finally {
      release();
    }
  };
}
