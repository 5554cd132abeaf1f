/**
 * POST /v1/logs and /v1/traces: the data path, top to bottom. Status codes follow
 * notes/otlp-receiver.md, because they decide whether a client keeps or drops the data: only 429, 502,
 * 503 and 504 are retried, so anything that may succeed later is a 503 with Retry-After, never a 500.
 */
import type { Request, Response } from 'express';
import { decodeLogsJson, decodeTracesJson, encodeExportResponseJson, encodeStatusJson } from '../otlp/json.js';
import {
  decodeLogsProtobuf,
  decodeTracesProtobuf,
  encodeExportResponseProtobuf,
  encodeStatusProtobuf,
} from '../otlp/protobuf.js';
import { DecodeError, type LogRow, type Signal, type SpanRow } from '../otlp/rows.js';
import { describeDatabaseError } from '../storage/errors.js';
import { timeWindow, validateLogs, validateSpans, type TimeWindow, type Validated } from '../validate.js';
import { WriteError, type Reservation, type Writer } from '../writer.js';
import type { Metrics } from '../metrics.js';
import type { Authenticate } from './auth.js';
import { readBody } from './body.js';
import { HttpError, RETRY_AFTER_SECONDS } from './errors.js';

type Format = 'protobuf' | 'json';

export interface OtlpRouteOptions {
  signal: Signal;
  authenticate: Authenticate;
  writer: Writer;
  metrics: Metrics;
  maxBodyBytes: number;
  retentionDays: number;
}

const CONTENT_TYPES: Record<string, Format> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

/** google.rpc.Code for each HTTP status we answer with. */
const RPC_CODE: Record<number, number> = { 400: 3, 401: 16, 403: 7, 405: 12, 413: 8, 415: 3, 503: 14 };

const DECODERS = {
  logs: { protobuf: decodeLogsProtobuf, json: (body: Buffer) => decodeLogsJson(body.toString('utf8')) },
  traces: { protobuf: decodeTracesProtobuf, json: (body: Buffer) => decodeTracesJson(body.toString('utf8')) },
};

/** Decoded and checked rows of one request, as the writer takes them. */
function decodeValid(signal: Signal, format: Format, body: Buffer, window: TimeWindow): Validated<LogRow | SpanRow> & { logs: LogRow[]; spans: SpanRow[] } {
  if (signal === 'logs') {
    const checked = validateLogs(DECODERS.logs[format](body), window);
    return { ...checked, logs: checked.valid, spans: [] };
  }
  const checked = validateSpans(DECODERS.traces[format](body), window);
  return { ...checked, logs: [], spans: checked.valid };
}

function formatOf(contentType: string | undefined): Format | null {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return CONTENT_TYPES[mediaType] ?? null;
}

function send(res: Response, format: Format, status: number, body: Uint8Array | string): void {
  res.status(status).type(format === 'protobuf' ? 'application/x-protobuf' : 'application/json');
  res.end(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

function sendStatus(res: Response, format: Format, error: HttpError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  const code = RPC_CODE[error.status] ?? 2;
  send(res, format, error.status, format === 'protobuf' ? encodeStatusProtobuf(code, error.message) : encodeStatusJson(code, error.message));
}

/** Every failure as an HttpError; anything unexpected is treated as transient, as the Collector does. */
function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof DecodeError) return new HttpError(400, error.message);
  if (error instanceof WriteError) {
    const { kind, message } = error.failure;
    if (kind === 'rejected') return new HttpError(400, message);
    return new HttpError(503, message, { 'Retry-After': String(RETRY_AFTER_SECONDS[kind]) });
  }
  return new HttpError(503, `temporarily unable to store records (${describeDatabaseError(error)}): retry later`, {
    'Retry-After': String(RETRY_AFTER_SECONDS.unavailable),
  });
}

export function createOtlpHandler(options: OtlpRouteOptions) {
  const { signal, authenticate, writer, metrics, maxBodyBytes, retentionDays } = options;

  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    // Errors answer in the request's encoding when it is one we speak.
    const format = formatOf(req.headers['content-type']);
    let reservation: Reservation | null = null;
    let records = 0;
    try {
      if (req.method !== 'POST') {
        throw new HttpError(405, `${req.method} is not supported on ${req.path}: use POST`, { Allow: 'POST' });
      }
      const tenant = await authenticate(req, 'ingest');
      if (format === null) {
        throw new HttpError(415, `unsupported Content-Type "${req.headers['content-type'] ?? ''}": use application/x-protobuf or application/json`);
      }
      // Reserve the declared size before reading, so that under overload a 503 costs no upload; what
      // is held beyond it (a chunked upload, inflated bytes) is claimed as it arrives.
      let prepaid = Math.min(Number(req.headers['content-length']) || 0, maxBodyBytes);
      const held = (reservation = writer.reserve(prepaid));
      const body = await readBody(req, maxBodyBytes, (bytes) => {
        const covered = Math.min(prepaid, bytes);
        prepaid -= covered;
        if (bytes > covered) held.grow(bytes - covered);
      });
      const { logs, spans, rejected, message, reasons } = decodeValid(signal, format, body, timeWindow(retentionDays));
      records = logs.length + spans.length;
      await writer.write({ tenant, logs, spans });
      // Counted once committed: a request answered 503 comes back with the same invalid records.
      metrics.refused(signal, reasons);
      send(
        res,
        format,
        200,
        format === 'protobuf' ? encodeExportResponseProtobuf(rejected, message) : encodeExportResponseJson(signal, rejected, message),
      );
    } catch (caught) {
      const error = toHttpError(caught);
      if (error.status === 503) {
        metrics.failed(signal, caught instanceof WriteError && caught.failure.kind === 'overloaded' ? 'overloaded' : 'database_unavailable', records);
      }
      // An unread upload is not worth reading: close the connection instead.
      if (!req.complete) res.setHeader('Connection', 'close');
      sendStatus(res, format ?? 'json', error);
    } finally {
      reservation?.release();
      metrics.requestDuration.observe({ signal, code: String(res.statusCode) }, (performance.now() - started) / 1000);
    }
  };
}
