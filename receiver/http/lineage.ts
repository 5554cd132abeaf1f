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
import { decodeLineageEvent, type LineageRecord } from '../decode/openlineage.js';
import { HTTP_STATUS, Refusal } from '../model/outcome.js';
import { createJsonIngestHandler, type Answer, type JsonFormat, type JsonRouteOptions, type Outcome } from './json-ingest.js';

const LINEAGE: JsonFormat<LineageRecord> = {
  noun: 'events',
  decode: decodeLineageEvent,
  rows: (record) => [record.row],
  reason: () => 'invalid OpenLineage event',
  lineageType: (record) => record.kind,
};

export function createLineageHandler(options: JsonRouteOptions) {
  return createJsonIngestHandler(options, LINEAGE, (body) => {
    const single = !Array.isArray(body);
    return { items: single ? [body] : body, answer: (outcomes) => answer(single, outcomes) };
  });
}

/** The body of one event is answered as one: its refusal is the answer. */
function answer(single: boolean, outcomes: Outcome<LineageRecord>[]): Answer {
  const errors: { index: number; error: string }[] = [];
  for (const outcome of outcomes) {
    const { index } = outcome;
    const at = single ? '' : `event ${index}: `;
    if ('error' in outcome) errors.push({ index, error: at + outcome.error.message });
    else if (outcome.problem !== undefined) errors.push({ index, error: `${at}eventTime refused: ${outcome.problem}` });
  }
  if (single && errors.length > 0) throw new Refusal('invalid', errors[0]!.error);
  const stored = outcomes.length - errors.length;
  const body = { accepted: stored, rejected: errors.length, ...(errors.length > 0 ? { errors } : {}) };
  if (stored > 0 || errors.length === 0) return { status: 201, body };
  return { status: HTTP_STATUS.invalid, body: { error: `all ${errors.length} events were refused: see errors`, ...body } };
}
