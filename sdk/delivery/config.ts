/**
 * Start options merged with the environment. Options win over PIPEMON_* variables, which win over the
 * standard OTEL_* ones, so the same pipeline code runs unchanged under a scheduler that only sets env.
 * Bad configuration throws here, once, at start: the data path never throws.
 */
import os from 'node:os';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { ATTR } from '../../contract/vocabulary.js';

export interface StartOptions {
  /** OTLP/HTTP base URL (…/v1/logs and …/v1/traces are appended). Default OTEL_EXPORTER_OTLP_ENDPOINT or http://127.0.0.1:4318. */
  endpoint?: string;
  /** Sent as `Authorization: Bearer <apiKey>`. Default PIPEMON_API_KEY. */
  apiKey?: string;
  /** Extra HTTP headers; OTEL_EXPORTER_OTLP_HEADERS (`k=v,k2=v2`) is merged under them. */
  headers?: Record<string, string>;
  serviceName?: string;
  environment?: string;
  resourceAttributes?: Record<string, string>;
  /**
   * Disk spool for records the receiver did not take. Default PIPEMON_SPOOL_DIR or
   * <tmp>/pipemon-spool-<uid>/<hash of endpoint and Authorization header>.
   */
  spoolDir?: string;
  /** Spool bound in bytes (PIPEMON_SPOOL_MAX_BYTES, default 256 MiB). Error and run/stage records may exceed it. */
  spoolMaxBytes?: number;
  /**
   * fsync every append to the spool (PIPEMON_SPOOL_FSYNC, default false). Without it a killed process
   * loses nothing the spool was given (the OS writes its pages), but a power cut or kernel crash can
   * lose the last seconds of appends; with it, each error record and buffer append waits for the disk.
   */
  spoolFsync?: boolean;
  /** Longest time an ordinary record waits in memory before it is appended to the spool (PIPEMON_BUFFER_MS, default 10). */
  bufferMs?: number;
  /** Ordinary records buffered per signal before they are appended at once, even mid-burst (PIPEMON_MAX_QUEUE, default 8192). */
  maxQueue?: number;
  /** Records per export request (default 512). */
  maxBatch?: number;
  /** Longest wait before a spooled ordinary record is exported (PIPEMON_FLUSH_MS, default 1000); errors and run records go at once. */
  flushMs?: number;
  /** Per-request export deadline (PIPEMON_EXPORT_TIMEOUT_MS, default 5000). */
  exportTimeoutMs?: number;
  /** Seconds between heartbeats of a running run (PIPEMON_HEARTBEAT_SECONDS, default 60; 0 disables). */
  heartbeatSeconds?: number;
  /** Milliseconds between collections of a running run's metrics (OTEL_METRIC_EXPORT_INTERVAL, default 60000); its end collects them once more. */
  metricIntervalMs?: number;
  /** Deadline for flushing at exit and on shutdown() without an argument (default 5000). */
  shutdownMs?: number;
  /**
   * Use the OpenTelemetry providers the application registered globally (sdk-node) instead of our own.
   * 'auto' (default) uses them when both a tracer and a logger provider are registered and no endpoint
   * was passed explicitly.
   */
  useGlobalProviders?: boolean | 'auto';
  /** One JSON object per line for every log record: 'stdout', 'stderr' or a file path (PIPEMON_LOCAL_OUTPUT). */
  localOutput?: string;
  /** Send to a receiver at all (PIPEMON_EXPORT=off for local output only). Default true. */
  export?: boolean;
  /** Flush on beforeExit/SIGTERM/SIGINT and spool on exit (default true). */
  handleExit?: boolean;
}

export interface Config {
  endpoint: string;
  headers: Record<string, string>;
  resource: Record<string, string>;
  spoolDir: string;
  spoolMaxBytes: number;
  spoolFsync: boolean;
  bufferMs: number;
  maxQueue: number;
  maxBatch: number;
  flushMs: number;
  exportTimeoutMs: number;
  heartbeatSeconds: number;
  metricIntervalMs: number;
  shutdownMs: number;
  useGlobalProviders: boolean | 'auto';
  explicitEndpoint: boolean;
  localOutput: string | null;
  export: boolean;
  handleExit: boolean;
}

type Env = Record<string, string | undefined>;

/** `k=v,k2=v2` with percent-encoded values: the format of OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES. */
export function parseKeyValueList(text: string | undefined, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`${name}: "${part.trim()}" is not key=value`);
    try {
      out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      throw new Error(`${name}: "${part.trim()}" is not valid percent-encoding`);
    }
  }
  return out;
}

function number(value: number | string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${value}"`);
  return n;
}

function flag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return !['0', 'false', 'off', 'no'].includes(value.toLowerCase());
}

export function resolveConfig(options: StartOptions = {}, env: Env = process.env): Config {
  const rawEndpoint = options.endpoint ?? env.PIPEMON_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318';
  let endpoint: string;
  try {
    endpoint = new URL(rawEndpoint).toString().replace(/\/+$/, '');
  } catch {
    throw new Error(`pipemon: endpoint "${rawEndpoint}" is not a URL`);
  }
  const headers = { ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS'), ...options.headers };
  const apiKey = options.apiKey ?? env.PIPEMON_API_KEY;
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;

  const resource: Record<string, string> = {
    ...parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES'),
    ...options.resourceAttributes,
  };
  resource[ATTR.serviceName] = options.serviceName ?? env.OTEL_SERVICE_NAME ?? resource[ATTR.serviceName] ?? defaultServiceName();
  const environment = options.environment ?? env.PIPEMON_ENVIRONMENT;
  if (environment) resource[ATTR.environment] = environment;
  // Two processes of one service must not look like one: resent records are deduplicated by content.
  resource[ATTR.serviceInstanceId] ??= randomUUID();

  return {
    endpoint,
    headers,
    resource,
    spoolDir: path.resolve(options.spoolDir ?? env.PIPEMON_SPOOL_DIR ?? path.join(defaultSpoolRoot(), destinationKey(endpoint, headers))),
    spoolMaxBytes: number(options.spoolMaxBytes ?? env.PIPEMON_SPOOL_MAX_BYTES, 'spoolMaxBytes', 256 * 1024 * 1024),
    spoolFsync: options.spoolFsync ?? flag(env.PIPEMON_SPOOL_FSYNC) ?? false,
    bufferMs: number(options.bufferMs ?? env.PIPEMON_BUFFER_MS, 'bufferMs', 10),
    maxQueue: Math.max(1, number(options.maxQueue ?? env.PIPEMON_MAX_QUEUE, 'maxQueue', 8192)),
    maxBatch: Math.max(1, number(options.maxBatch, 'maxBatch', 512)),
    flushMs: number(options.flushMs ?? env.PIPEMON_FLUSH_MS, 'flushMs', 1000),
    exportTimeoutMs: number(options.exportTimeoutMs ?? env.PIPEMON_EXPORT_TIMEOUT_MS, 'exportTimeoutMs', 5000),
    heartbeatSeconds: number(options.heartbeatSeconds ?? env.PIPEMON_HEARTBEAT_SECONDS, 'heartbeatSeconds', 60),
    metricIntervalMs: Math.max(1, number(options.metricIntervalMs ?? env.OTEL_METRIC_EXPORT_INTERVAL, 'metricIntervalMs', 60_000)),
    shutdownMs: number(options.shutdownMs, 'shutdownMs', 5000),
    useGlobalProviders: options.useGlobalProviders ?? 'auto',
    explicitEndpoint: options.endpoint !== undefined || env.PIPEMON_ENDPOINT !== undefined,
    localOutput: options.localOutput ?? env.PIPEMON_LOCAL_OUTPUT ?? null,
    export: options.export ?? flag(env.PIPEMON_EXPORT) ?? true,
    handleExit: options.handleExit ?? true,
  };
}

/** Where the default spools of this user live, one folder per destination and key. */
export function defaultSpoolRoot(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(os.tmpdir(), `pipemon-spool-${uid}`);
}

/**
 * Every process replays the whole spool with its own endpoint and key at start. A spool shared by all
 * pipelines of a user would let one misconfigured process send others' records to the wrong receiver or
 * tenant, so the default spool is one directory per destination and credentials. Hashed: the key itself
 * must not appear in a path.
 */
function destinationKey(endpoint: string, headers: Record<string, string>): string {
  return createHash('sha256').update(`${endpoint}\n${authorizationOf(headers) ?? ''}`).digest('hex').slice(0, 16);
}

/** The Authorization header sent (PIPEMON_API_KEY, OTEL_EXPORTER_OTLP_HEADERS or `headers`), whatever its case. */
export function authorizationOf(headers: Record<string, string>): string | undefined {
  return Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
}

function defaultServiceName(): string {
  const script = process.argv[1];
  return script ? `pipeline:${path.basename(script).replace(/\.[cm]?[jt]s$/, '')}` : 'unknown_service:node';
}
