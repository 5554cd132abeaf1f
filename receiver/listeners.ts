/**
 * The receiver's ports, opened before anything else happens: a port another program holds is known
 * before a database or a key is created. Until the receiver is ready to serve, each listener answers
 * as to a receiver that is busy (HTTP 503 + Retry-After, gRPC UNAVAILABLE + RetryInfo), which every
 * OTLP client waits out: data sent while pipemon starts is retried, never dropped.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { bindGrpcServer, type GrpcListener, type GrpcServices } from './grpc/server.js';
import { HTTP_STATUS, RETRY_AFTER_SECONDS, STARTING } from './model/outcome.js';

export interface ListenerOptions {
  host: string;
  port: number;
  /** A listener of its own for /metrics; undefined: none. */
  metricsPort?: number;
  metricsHost?: string;
  /** OTLP/gRPC on this port; undefined: none. */
  grpcPort?: number;
  maxBodyBytes: number;
}

/** What each listener serves once the receiver is ready. */
export interface Handlers {
  app: RequestListener;
  metricsApp: RequestListener;
  grpc: GrpcServices;
}

export interface Listeners {
  url: string;
  metricsUrl: string;
  grpcAddress: string | null;
  serve(handlers: Handlers): void;
  /** Requests being answered on the HTTP port (the receiver waits for them at shutdown). */
  readonly active: number;
  /** Stops accepting; requests in flight go on. */
  stopAccepting(grpcDeadlineMs: number): Promise<void>;
  /** Ends the connections left. */
  closeConnections(): void;
}

export async function openListeners(options: ListenerOptions): Promise<Listeners> {
  const http = createDelegatingServer();
  const metrics = options.metricsPort === undefined ? null : createDelegatingServer();
  let grpc: GrpcListener | null = null;
  const metricsHost = options.metricsHost ?? options.host;
  try {
    await listen(http.server, options.port, options.host, '--port');
    if (metrics) await listen(metrics.server, options.metricsPort!, metricsHost, '--metrics-port');
    if (options.grpcPort !== undefined) {
      grpc = await bindGrpcServer({ host: options.host, port: options.grpcPort, flag: '--grpc-port', maxMessageBytes: options.maxBodyBytes });
    }
  } catch (error) {
    http.server.close();
    metrics?.server.close();
    throw error;
  }
  const url = urlOf(http.server, options.host);
  return {
    url,
    metricsUrl: metrics ? `${urlOf(metrics.server, metricsHost)}/metrics` : `${url}/metrics`,
    grpcAddress: grpc?.address ?? null,
    serve(handlers) {
      http.serve(handlers.app);
      metrics?.serve(handlers.metricsApp);
      grpc?.serve(handlers.grpc);
    },
    get active() {
      return http.active;
    },
    async stopAccepting(grpcDeadlineMs) {
      http.server.close();
      metrics?.server.close();
      http.server.closeIdleConnections();
      // gRPC stops taking calls at once too, and its calls in flight finish beside the HTTP ones.
      await grpc?.shutdown(grpcDeadlineMs);
    },
    closeConnections() {
      http.server.closeAllConnections();
      metrics?.server.closeAllConnections();
    },
  };
}

/** An HTTP server that answers "starting" until serve() gives it its handler, and counts requests in flight. */
function createDelegatingServer() {
  let handler: RequestListener | null = null;
  let active = 0;
  const server = createServer((req, res) => {
    active++;
    res.on('close', () => active--);
    if (handler) handler(req, res);
    else answerStarting(res);
  });
  // Slow or stalled uploads must not hold memory forever.
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
  return {
    server,
    serve(app: RequestListener) {
      handler = app;
    },
    get active() {
      return active;
    },
  };
}

function answerStarting(res: ServerResponse): void {
  res.writeHead(HTTP_STATUS[STARTING.kind], {
    'content-type': 'application/json',
    'retry-after': String(RETRY_AFTER_SECONDS[STARTING.kind]),
    // The upload is not read: close the connection rather than leave its body in the socket.
    connection: 'close',
  });
  res.end(JSON.stringify({ error: STARTING.message }));
}

function urlOf(server: Server, host: string): string {
  const { port } = server.address() as AddressInfo;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function listen(server: Server, port: number, host: string, flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const refused = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${port} on ${host} is already in use: stop the other process or pass ${flag}`)
          : error,
      );
    };
    server.once('error', refused);
    server.listen(port, host, () => {
      // Errors once listening are the server's own, not this start's.
      server.off('error', refused);
      resolve();
    });
  });
}
