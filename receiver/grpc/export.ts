/**
 * LogsService/Export, TraceService/Export and MetricsService/Export: the OTLP/gRPC counterpart of http/otlp.ts. The call is
 * authenticated from its metadata, decoded and handed to the ingest line; the answer (an ExportResponse
 * with partial success, or a status from outcome.ts) goes out only after COMMIT. Before this runs,
 * admission.ts has held the message against the writer's memory budget (until the answer), and grpc-js
 * has inflated a gzip message and refused one over the size limit (RESOURCE_EXHAUSTED).
 */
import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { decodeLogsProtobuf, decodeTracesProtobuf, encodeExportResponseProtobuf } from '../decode/otlp-protobuf.js';
import { decodeMetricsProtobuf } from '../decode/otlp-metrics-protobuf.js';
import type { Decoded, IngestLine } from '../ingest/line.js';
import type { Signal } from '../../contract/signal.js';
import type { IngestOperation, IngestReport } from '../metrics/ingest-report.js';
import { GRPC_CODE, refusalOf } from '../model/outcome.js';
import type { Authenticate } from '../auth/auth.js';
import { headersOf } from './metadata.js';
import { codeName, grpcError } from './status.js';

export interface ExportHandlerOptions {
  signal: Signal;
  authenticate: Authenticate;
  line: IngestLine;
  requests: IngestReport;
}

const DECODERS: Record<Signal, (message: Buffer) => Decoded> = {
  logs: (message) => ({ logs: decodeLogsProtobuf(message), spans: [], points: [] }),
  traces: (message) => ({ logs: [], spans: decodeTracesProtobuf(message), points: [] }),
  metrics: (message) => ({ logs: [], spans: [], points: decodeMetricsProtobuf(message) }),
};

export function createExportHandler({ signal, authenticate, line, requests }: ExportHandlerOptions) {
  const decode = DECODERS[signal];

  /** Answers OK with the ExportResponse, or throws. */
  async function exportMessage(call: ServerUnaryCall<Buffer, Buffer>, request: IngestOperation): Promise<Buffer> {
    const tenant = await authenticate(headersOf(call.metadata), 'ingest');
    const { rejected, message } = await line.ingest(tenant, decode(call.request), request);
    const response = encodeExportResponseProtobuf(rejected, message);
    return Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  }

  return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
    const request = requests.start(signal);
    // The code label holds the gRPC code's name ("OK", "UNAVAILABLE"), never an HTTP status number.
    const answered = (code: number) => request.end(codeName(code));
    exportMessage(call, request).then(
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
