/**
 * A raw OTLP/gRPC client (grpc-js, bytes in and out) that shows what exporters hide: the status code,
 * its details and the trailers; and google.rpc.Status / RetryInfo decoded by protobufjs, independently
 * of the receiver's hand-written encoder.
 */
import { Client, Metadata, credentials, type ChannelOptions, type StatusObject } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

export const EXPORT_PATHS = {
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
} as const;

export interface GrpcAnswer {
  code: number;
  details: string;
  /** The response message, when the call succeeded. */
  response: Buffer | undefined;
  trailers: Metadata;
}

export interface CallOptions {
  /** Sent as `authorization: Bearer <key>`, or in `header`. */
  key?: string | null;
  header?: 'authorization' | 'x-api-key';
  /** A method path other than the signal's Export. */
  path?: string;
}

const raw = (bytes: Buffer) => bytes;

/** One channel to a receiver; `gzip` compresses every message it sends. */
export function grpcClient(address: string, { gzip = false } = {}) {
  const options: ChannelOptions = gzip ? { 'grpc.default_compression_algorithm': 2 } : {};
  const client = new Client(address, credentials.createInsecure(), options);
  return {
    call(signal: keyof typeof EXPORT_PATHS, message: Buffer, { key, header = 'authorization', path }: CallOptions = {}): Promise<GrpcAnswer> {
      const metadata = new Metadata();
      if (key) metadata.set(header, header === 'authorization' ? `Bearer ${key}` : key);
      return new Promise((resolve) => {
        let response: Buffer | undefined;
        const call = client.makeUnaryRequest(path ?? EXPORT_PATHS[signal], raw, raw, message, metadata, (_error, value) => (response = value));
        // 'status' comes after the callback, with the trailers.
        call.on('status', (status: StatusObject) => resolve({ code: status.code, details: status.details, response, trailers: status.metadata }));
      });
    },
    close: () => client.close(),
  };
}

const rpc = protobuf.parse(`
syntax = "proto3";
package rpc;
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
message Any { string type_url = 1; bytes value = 2; }
message RetryInfo { Duration retry_delay = 1; }
message Duration { int64 seconds = 1; int32 nanos = 2; }
`).root;

export interface DecodedStatus {
  code: number;
  message: string;
  details: { typeUrl: string; retryDelaySeconds?: number }[];
}

/** A serialized google.rpc.Status, with each RetryInfo in its details read too. */
export function decodeRpcStatus(bytes: Uint8Array): DecodedStatus {
  const status = rpc.lookupType('rpc.Status').toObject(rpc.lookupType('rpc.Status').decode(bytes), { longs: Number, defaults: true });
  return {
    code: status.code,
    message: status.message,
    details: (status.details as { typeUrl: string; value: Uint8Array }[]).map(({ typeUrl, value }) => {
      if (typeUrl !== 'type.googleapis.com/google.rpc.RetryInfo') return { typeUrl };
      const RetryInfo = rpc.lookupType('rpc.RetryInfo');
      const info = RetryInfo.toObject(RetryInfo.decode(value), { longs: Number, defaults: true });
      return { typeUrl, retryDelaySeconds: info.retryDelay.seconds + info.retryDelay.nanos / 1e9 };
    }),
  };
}

/** The RetryInfo delay in an answer's `grpc-status-details-bin` trailer, or undefined without one. */
export function retryDelayOf(answer: GrpcAnswer): number | undefined {
  const [bytes] = answer.trailers.get('grpc-status-details-bin');
  if (!(bytes instanceof Buffer)) return undefined;
  const status = decodeRpcStatus(bytes);
  if (status.code !== answer.code) throw new Error(`status details say code ${status.code}, the call ended with ${answer.code}`);
  return status.details.find((d) => d.retryDelaySeconds !== undefined)?.retryDelaySeconds;
}
