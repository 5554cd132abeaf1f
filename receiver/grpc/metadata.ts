/**
 * gRPC metadata as the HTTP headers object that auth.ts reads: the API key comes in
 * `authorization: Bearer <key>` or `x-api-key`, as in OTEL_EXPORTER_OTLP_HEADERS over HTTP.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Metadata } from '@grpc/grpc-js';

/** Text entries only (binary `-bin` entries carry no key); keys are lower case in both. */
export function headersOf(metadata: Metadata): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(metadata.getMap())) {
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}
