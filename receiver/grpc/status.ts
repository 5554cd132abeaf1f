/**
 * How a Refusal travels over gRPC: the status code of outcome.ts, the message as the status details,
 * and for the kinds worth retrying a google.rpc.RetryInfo in the `grpc-status-details-bin` trailer.
 * The OTLP spec (protocol/exporter.md, "OTLP/gRPC Throttling") has exporters wait for its retry_delay
 * after UNAVAILABLE or RESOURCE_EXHAUSTED; without it they back off on their own.
 */
import { Metadata, status as grpcStatus, type ServerErrorResponse, type StatusObject } from '@grpc/grpc-js';
import { encodeStatusProtobuf } from '../decode/otlp-protobuf.js';
import { GRPC_CODE, RETRY_AFTER_SECONDS, type Refusal } from '../model/outcome.js';

/** The trailer holding a serialized google.rpc.Status (gRPC's "richer error model"). */
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';

/** The name of a gRPC status code ("UNAVAILABLE"), for metric labels and messages. */
export const codeName = (code: number): string => grpcStatus[code] ?? String(code);

/** The status a call is answered with for `refusal` (as an interceptor sends it). */
export function grpcStatusOf(refusal: Refusal): StatusObject {
  const code = GRPC_CODE[refusal.kind];
  const metadata = new Metadata();
  const retryAfter = RETRY_AFTER_SECONDS[refusal.kind];
  if (retryAfter !== undefined) metadata.set(STATUS_DETAILS_TRAILER, Buffer.from(encodeStatusProtobuf(code, refusal.message, retryAfter)));
  return { code, details: refusal.message, metadata };
}

/** The error a handler answers with for `refusal`. */
export function grpcError(refusal: Refusal): ServerErrorResponse {
  return { name: 'Refusal', message: refusal.message, ...grpcStatusOf(refusal) };
}
