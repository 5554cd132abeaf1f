/**
 * The three OTLP/gRPC services (opentelemetry/proto/collector/{logs,trace,metrics}/v1/*_service.proto), each
 * with its one unary method Export. Messages stay raw Buffers through grpc-js: decode/otlp-protobuf.ts
 * reads the request bytes straight into rows, as for OTLP/HTTP, with no generated message classes.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { Signal } from '../../contract/signal.js';

const raw = (bytes: Buffer) => bytes;

function exportService(path: string): ServiceDefinition {
  return {
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
  };
}

export const SERVICES: Record<Signal, ServiceDefinition> = {
  logs: exportService('/opentelemetry.proto.collector.logs.v1.LogsService/Export'),
  traces: exportService('/opentelemetry.proto.collector.trace.v1.TraceService/Export'),
  metrics: exportService('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export'),
};
