/**
 * The OTLP/gRPC listener (default port 4317, as OTLP specifies): both Export services on a grpc-js
 * server, plaintext (put TLS in front, as for the HTTP port), with the receiver's body limit as the
 * largest message it takes, compressed or inflated. Each call is admitted against the writer's memory
 * budget before grpc-js reads its message (admission.ts, which states the bound).
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { IngestLine } from '../ingest/line.js';
import type { Metrics } from '../metrics.js';
import type { Authenticate } from '../auth.js';
import { createAdmission } from './admission.js';
import { createExportHandler } from './export.js';
import { SERVICES } from './services.js';

export interface GrpcOptions {
  host: string;
  port: number;
  /** The flag that sets the port, named when it is taken. */
  flag: string;
  maxMessageBytes: number;
  authenticate: Authenticate;
  line: IngestLine;
  metrics: Metrics;
}

export interface GrpcListener {
  /** "host:port", as OTLP/gRPC exporters take it. */
  address: string;
  /** Stops taking calls and resolves once every call in flight has been answered (or the deadline passed). */
  shutdown(deadlineMs: number): Promise<void>;
}

/**
 * Streams one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; RFC 9113
 * recommends no fewer than 100). Node's default is 2^32 - 1: each stream not yet admitted may have
 * one flow-control window (64 KiB) buffered, so this caps that per connection at 6.4 MiB.
 */
const MAX_CONCURRENT_STREAMS = 100;

export async function startGrpcServer(options: GrpcOptions): Promise<GrpcListener> {
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
    interceptors: [createAdmission({ budget: options.line, maxMessageBytes: options.maxMessageBytes, metrics: options.metrics })],
  });
  for (const signal of ['logs', 'traces'] as const) {
    server.addService(SERVICES[signal], { Export: createExportHandler({ signal, ...options }) });
  }
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = await bind(server, `${host}:${options.port}`, options);
  return {
    address: `${host}:${port}`,
    shutdown: (deadlineMs) => shutdown(server, deadlineMs),
  };
}

function bind(server: Server, target: string, { host, port, flag }: GrpcOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(target, ServerCredentials.createInsecure(), (error, bound) => {
      if (!error) return resolve(bound);
      server.forceShutdown();
      // grpc-js words it "No address added out of total 1 resolved errors: [listen EADDRINUSE ...]".
      reject(
        /EADDRINUSE/.test(error.message)
          ? new Error(`port ${port} on ${host} is already in use: stop the other process or pass ${flag}`)
          : new Error(`cannot listen for OTLP/gRPC on ${target}: ${error.message}`),
      );
    });
  });
}

function shutdown(server: Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, deadlineMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
