/**
 * POST /v1/logs, /v1/traces and /v1/metrics: OTLP over HTTP, in protobuf or JSON. The request is authenticated, read
 * against the memory budget, decoded and handed to the ingest line; the answer is an OTLP
 * ExportResponse (with partial success) or an OTLP Status with the status code of outcome.ts.
 */
import type { Request, Response } from 'express';
import { decodeLogsJson, decodeTracesJson, encodeExportResponseJson, encodeStatusJson } from '../decode/otlp-json.js';
import {
  decodeLogsProtobuf,
  decodeTracesProtobuf,
  encodeExportResponseProtobuf,
  encodeStatusProtobuf,
} from '../decode/otlp-protobuf.js';
import { decodeMetricsJson } from '../decode/otlp-metrics-json.js';
import { decodeMetricsProtobuf } from '../decode/otlp-metrics-protobuf.js';
import type { Signal } from '../../contract/signal.js';
import type { Decoded, IngestLine } from '../ingest/line.js';
import type { IngestReport } from '../metrics/ingest-report.js';
import { GRPC_CODE, Refusal, refusalOf } from '../model/outcome.js';
import type { Authenticate } from '../auth/auth.js';
import { refusalHead } from './answer.js';
import { readBudgetedBody } from './body.js';

type Format = 'protobuf' | 'json';

export interface OtlpRouteOptions {
  signal: Signal;
  authenticate: Authenticate;
  line: IngestLine;
  requests: IngestReport;
  maxBodyBytes: number;
}

const CONTENT_TYPES: Record<string, Format> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

const DECODERS: Record<Signal, Record<Format, (body: Buffer) => Decoded>> = {
  logs: {
    protobuf: (body) => ({ logs: decodeLogsProtobuf(body), spans: [], points: [] }),
    json: (body) => ({ logs: decodeLogsJson(body.toString('utf8')), spans: [], points: [] }),
  },
  traces: {
    protobuf: (body) => ({ logs: [], spans: decodeTracesProtobuf(body), points: [] }),
    json: (body) => ({ logs: [], spans: decodeTracesJson(body.toString('utf8')), points: [] }),
  },
  metrics: {
    protobuf: (body) => ({ logs: [], spans: [], points: decodeMetricsProtobuf(body) }),
    json: (body) => ({ logs: [], spans: [], points: decodeMetricsJson(body.toString('utf8')) }),
  },
};

function formatOf(contentType: string | undefined): Format | null {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return CONTENT_TYPES[mediaType] ?? null;
}

function send(res: Response, format: Format, body: Uint8Array | string): void {
  res.type(format === 'protobuf' ? 'application/x-protobuf' : 'application/json');
  res.end(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

export function createOtlpHandler({ signal, authenticate, line, requests, maxBodyBytes }: OtlpRouteOptions) {
  return async (req: Request, res: Response): Promise<void> => {
    const request = requests.start(signal);
    // Errors answer in the request's encoding when it is one we speak.
    const format = formatOf(req.headers['content-type']);
    let release = () => {};
    try {
      if (req.method !== 'POST') {
        throw new Refusal('method_not_allowed', `${req.method} is not supported on ${req.path}: use POST`, { Allow: 'POST' });
      }
      const tenant = await authenticate(req.headers, 'ingest');
      if (format === null) {
        throw new Refusal(
          'unsupported_media_type',
          `unsupported Content-Type "${req.headers['content-type'] ?? ''}": use application/x-protobuf or application/json`,
        );
      }
      const { body, reservation } = await readBudgetedBody(req, maxBodyBytes, line);
      release = () => reservation.release();
      const { rejected, message } = await line.ingest(tenant, DECODERS[signal][format](body), request);
      res.status(200);
      send(res, format, format === 'protobuf' ? encodeExportResponseProtobuf(rejected, message) : encodeExportResponseJson(signal, rejected, message));
    } catch (caught) {
      const refusal = refusalOf(caught);
      const code = GRPC_CODE[refusal.kind];
      refusalHead(res, refusal);
      const answer = format ?? 'json';
      send(res, answer, answer === 'protobuf' ? encodeStatusProtobuf(code, refusal.message) : encodeStatusJson(code, refusal.message));
    } finally {
      release();
      request.end(String(res.statusCode));
    }
  };
}
