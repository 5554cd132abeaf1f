/**
 * LogsService/Export and TraceService/Export: the OTLP/gRPC counterpart of http/otlp.ts. The call is
 * authenticated from its metadata, decoded and handed to the ingest line; the answer (an ExportResponse
 * with partial success, or a status from outcome.ts) goes out only after COMMIT. Before this runs,
 * admission.ts has held the message against the writer's memory budget (until the answer), and grpc-js
 * has inflated a gzip message and refused one over the size limit (RESOURCE_EXHAUSTED).
 */
import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { decodeLogsProtobuf, decodeTracesProtobuf, encodeExportResponseProtobuf } from '../decode/otlp-protobuf.js';
import type { Decoded, IngestLine } from '../ingest/line.js';
import type { Signal } from '../../contract/signal.js';
import type { Metrics } from '../metrics.js';
import { GRPC_CODE, refusalOf } from '../outcome.js';
import type { Authenticate } from '../auth.js';
import { headersOf } from './metadata.js';
import { codeName, grpcError } from './status.js';

export interface ExportHandlerOptions {
  signal: Signal;
  authenticate: Authenticate;
  line: IngestLine;
  metrics: Metrics;
}

const DECODERS: Record<Signal, (message: Buffer) => Decoded> = {
  logs: (message) => ({ logs: decodeLogsProtobuf(message), spans: [] }),
  traces: (message) => ({ logs: [], spans: decodeTracesProtobuf(message) }),
};

export function createExportHandler({ signal, authenticate, line, metrics }: ExportHandlerOptions) {
  const decode = DECODERS[signal];

  /** Answers OK with the ExportResponse, or throws. */
  async function exportMessage(call: ServerUnaryCall<Buffer, Buffer>): Promise<Buffer> {
    const tenant = await authenticate(headersOf(call.metadata), 'ingest');
    const { rejected, message } = await line.ingest(signal, tenant, decode(call.request));
    const response = encodeExportResponseProtobuf(rejected, message);
    return Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  }

  return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
    const started = performance.now();
    const answered = (code: number) => {
      // The code label holds the gRPC code's name ("OK", "UNAVAILABLE"), never an HTTP status number.
      metrics.requestDuration.observe({ signal, code: codeName(code) }, (performance.now() - started) / 1000);
    };
    exportMessage(call).then(
      (response) => {
        callback(null, response);
        answered(status.OK);
      },
      (caught: unknown) => {
        const refusal = refusalOf(caught);
        callback(grpcError(refusal));
        answered(GRPC_CODE[refusal.kind]);
      },
    );
  };
}
