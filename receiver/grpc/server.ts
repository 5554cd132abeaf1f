/**
 * The OTLP/gRPC listener (default port 4317, as OTLP specifies): both Export services on a grpc-js
 * server, plaintext (put TLS in front, as for the HTTP port), with the receiver's body limit as the
 * largest message it takes, compressed or inflated. Each call is admitted against the writer's memory
 * budget before grpc-js reads its message (admission.ts, which states the bound).
 */
import {
  Server,
  setLogger,
  ServerCredentials,
  ServerInterceptingCall,
  type sendUnaryData,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { SIGNALS } from '../../contract/signal.js';
import { STARTING } from '../model/outcome.js';
import type { IngestLine } from '../ingest/line.js';
import type { IngestReport } from '../metrics/ingest-report.js';
import type { Authenticate } from '../auth/auth.js';
import { createAdmission } from './admission.js';
import { createExportHandler } from './export.js';
import { SERVICES } from './services.js';
import { grpcStatusOf } from './status.js';

export interface GrpcOptions {
  host: string;
  port: number;
  /** The flag that sets the port, named when it is taken. */
  flag: string;
  maxMessageBytes: number;
}

/** What the calls need, known once the database is open: the listener answers UNAVAILABLE until then. */
export interface GrpcServices {
  authenticate: Authenticate;
  line: IngestLine;
  requests: IngestReport;
}

export interface GrpcListener {
  /** "host:port", as OTLP/gRPC exporters take it. */
  address: string;
  /** From now on calls are admitted and exported (before, they are told to retry). */
  serve(services: GrpcServices): void;
  /** Stops taking calls and resolves once every call in flight has been answered (or the deadline passed). */
  shutdown(deadlineMs: number): Promise<void>;
}

/**
 * Streams one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; RFC 9113
 * recommends no fewer than 100). Node's default is 2^32 - 1: each stream not yet admitted may have
 * one flow-control window (64 KiB) buffered, so this caps that per connection at 6.4 MiB.
 */
const MAX_CONCURRENT_STREAMS = 100;

/**
 * Binds the port at once, so that a taken port is known before anything is created; calls that come
 * before serve() are answered UNAVAILABLE with a retry delay, which exporters wait out.
 */
export async function bindGrpcServer(options: GrpcOptions): Promise<GrpcListener> {
  setLogger(GRPC_LOGGER);
  let admission: ServerInterceptor | null = null;
  const handlers = new Map<string, ReturnType<typeof createExportHandler>>();
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
    interceptors: [(method, call) => (admission ? admission(method, call) : refuseWhileStarting(call))],
  });
  for (const signal of SIGNALS) {
    // Reached only once served: the interceptor refuses every call before.
    server.addService(SERVICES[signal], { Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => handlers.get(signal)!(call, callback) });
  }
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = await bind(server, `${host}:${options.port}`, options);
  return {
    address: `${host}:${port}`,
    serve(services) {
      for (const signal of SIGNALS) handlers.set(signal, createExportHandler({ signal, ...services }));
      admission = createAdmission({ budget: services.line, maxMessageBytes: options.maxMessageBytes, requests: services.requests });
    },
    shutdown: (deadlineMs) => shutdown(server, deadlineMs),
  };
}

function refuseWhileStarting(call: ServerInterceptingCallInterface) {
  return new ServerInterceptingCall(call, {
    start(next) {
      next({ onReceiveMetadata: () => call.sendStatus(grpcStatusOf(STARTING)) });
    },
  });
}

/**
 * grpc-js's own log lines, as its default logger writes them, less one: a failed bind, which grpc-js
 * logs before it rejects ("E No address added out of total 1 resolved"), and which pipemon words itself
 * with what to do (below).
 */
const GRPC_LOGGER: Partial<Console> = {
  error: (message?: unknown, ...rest: unknown[]) => {
    if (typeof message === 'string' && message.startsWith('No address added')) return;
    console.error(`E ${String(message)}`, ...rest);
  },
  info: (message?: unknown, ...rest: unknown[]) => console.error(`I ${String(message)}`, ...rest),
  debug: (message?: unknown, ...rest: unknown[]) => console.error(`D ${String(message)}`, ...rest),
};

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
