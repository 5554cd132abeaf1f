/**
 * How a Refusal travels over gRPC: the status code of outcome.ts, the message as the status details,
 * and for the kinds worth retrying a google.rpc.RetryInfo in the `grpc-status-details-bin` trailer.
 * The OTLP spec (protocol/exporter.md, "OTLP/gRPC Throttling") has exporters wait for its retry_delay
 * after UNAVAILABLE or RESOURCE_EXHAUSTED; without it they back off on their own.
 */
import { Metadata, status as grpcStatus, type ServerErrorResponse, type StatusObject } from '@grpc/grpc-js';
import { GRPC_CODE, RETRY_AFTER_SECONDS, type Refusal } from '../outcome.js';

/** The trailer holding a serialized google.rpc.Status (gRPC's "richer error model"). */
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** The name of a gRPC status code ("UNAVAILABLE"), for metric labels and messages. */
export const codeName = (code: number): string => grpcStatus[code] ?? String(code);

/** The status a call is answered with for `refusal` (as an interceptor sends it). */
export function grpcStatusOf(refusal: Refusal): StatusObject {
  const code = GRPC_CODE[refusal.kind];
  const metadata = new Metadata();
  const retryAfter = RETRY_AFTER_SECONDS[refusal.kind];
  if (retryAfter !== undefined) metadata.set(STATUS_DETAILS_TRAILER, Buffer.from(encodeRetryStatus(code, refusal.message, retryAfter)));
  return { code, details: refusal.message, metadata };
}

/** The error a handler answers with for `refusal`. */
export function grpcError(refusal: Refusal): ServerErrorResponse {
  return { name: 'Refusal', message: refusal.message, ...grpcStatusOf(refusal) };
}

/**
 * google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3 }
 * with one Any { string type_url = 1; bytes value = 2 } holding
 * google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1 }, Duration { int64 seconds = 1 }.
 * Written by hand: five fields do not justify a protobuf runtime on the receiver.
 */
export function encodeRetryStatus(code: number, message: string, retryDelaySeconds: number): Uint8Array {
  const duration = varintField(1, retryDelaySeconds);
  const retryInfo = lengthField(1, duration);
  const any = concat(lengthField(1, utf8(RETRY_INFO_TYPE_URL)), lengthField(2, retryInfo));
  return concat(varintField(1, code), lengthField(2, utf8(message)), lengthField(3, any));
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');

function varint(value: number): number[] {
  const bytes: number[] = [];
  // Non-negative and below 2^53 here (codes, seconds, lengths): plain arithmetic is exact.
  let n = value;
  while (n >= 0x80) {
    bytes.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  bytes.push(n);
  return bytes;
}

/** Proto3 leaves zero values out; a tag and a varint otherwise. */
function varintField(field: number, value: number): Uint8Array {
  return value === 0 ? new Uint8Array(0) : Uint8Array.from([...varint(field << 3), ...varint(value)]);
}

function lengthField(field: number, bytes: Uint8Array): Uint8Array {
  return concat(Uint8Array.from([...varint((field << 3) | 2), ...varint(bytes.length)]), bytes);
}

const concat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
