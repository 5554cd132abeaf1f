/**
 * Starting and stopping a receiver. Start: open the ports (OTLP/HTTP and the API, and OTLP/gRPC when
 * asked), open the database (migrated), create the first key on an empty database, then serve. Stop:
 * stop accepting on every listener, let every accepted request finish and COMMIT, then close the
 * database, so a SIGTERM loses nothing that was acknowledged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrapDefaultKey, createKeyVerifier } from './auth/keys.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { registerPipelineGauges } from './metrics/pipeline-gauges.js';
import { readPipelineStates } from './query/pipeline-state.js';
import { readPipelineUpstreams } from './query/pipeline-upstreams.js';
import { createAuthenticate } from './auth/auth.js';
import { createApp, createMetricsApp } from './http/app.js';
import { openListeners, type Handlers, type Listeners } from './listeners.js';
import type { Database } from './storage/database.js';
import { describeDatabaseError } from './model/database-errors.js';
import { openDatabase } from './storage/open.js';
import { DEFAULT_READ_TIMEOUT_MS } from './storage/pg.js';
import { createPartitionManager, type PartitionManager } from './storage/partitions.js';
import { cleanupShorterRetentions } from './storage/retention.js';
import { createWriter, type Writer } from './ingest/commit.js';
import { createIngestLine } from './ingest/line.js';

export interface ReceiverOptions {
  host?: string;
  port?: number;
  /** OTLP/gRPC on this port of the same host (0: a free one); undefined: no gRPC listener. */
  grpcPort?: number;
  /** A PostgreSQL server of the user's own; without it, the embedded server in dataDir. */
  databaseUrl?: string;
  /** The embedded server's data directory, and where the first start saves the default key. */
  dataDir?: string;
  retentionDays?: number;
  maxBodyBytes?: number;
  /** The writer's memory budget in request bytes. */
  maxQueueBytes?: number;
  maxPipelines?: number;
  /** How long PostgreSQL lets a read (the query API, a metrics scrape) run before cancelling it. */
  readTimeoutMs?: number;
  /**
   * Serve /metrics on a listener of its own (on metricsHost, default host) instead of the ingest port:
   * for a receiver reachable beyond loopback, since /metrics needs no key and names every tenant.
   */
  metricsPort?: number;
  metricsHost?: string;
}

export interface Receiver {
  url: string;
  /** Where OTLP/gRPC is served, "host:port"; null without a gRPC listener. */
  grpcAddress: string | null;
  /** Where /metrics is served: `${url}/metrics`, or the listener of its own. */
  metricsUrl: string;
  db: Database;
  /** The key created on first start with an empty database, else null. */
  defaultKey: string | null;
  close(): Promise<void>;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 4318,
  retentionDays: 30,
  maxBodyBytes: 64 * 1024 * 1024,
  maxQueueBytes: 256 * 1024 * 1024,
  readTimeoutMs: DEFAULT_READ_TIMEOUT_MS,
} as const;

/** OTLP/gRPC's default port (OTLP spec); `pipemon serve` listens on it unless told otherwise. */
export const GRPC_DEFAULT_PORT = 4317;

const HOUR_MS = 3_600_000;
const SHUTDOWN_DEADLINE_MS = 30_000;

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const settings = checkSettings(options);
  // The ports first: a port another program holds is reported before a database or a key exists.
  const listeners = await openListeners(settings);
  let storage: Storage | null = null;
  try {
    storage = await openStorage(settings);
    const { writer, handlers } = createService(storage, settings);
    listeners.serve(handlers);
    storage.retention.cleanTenants();
    return receiverOf(listeners, storage, writer);
  } catch (error) {
    await abandon(listeners, storage);
    throw error;
  }
}

type Settings = ReceiverOptions & Required<Pick<ReceiverOptions, keyof typeof DEFAULTS>>;

function checkSettings(options: ReceiverOptions): Settings {
  const settings = { ...DEFAULTS, ...stripUndefined(options) };
  if (!(settings.retentionDays >= 1)) throw new Error(`retention must be at least 1 day, got ${settings.retentionDays}`);
  // PostgreSQL reads a statement_timeout of 0 as none at all.
  if (!(Number.isInteger(settings.readTimeoutMs) && settings.readTimeoutMs >= 1)) {
    throw new Error(`the read time limit (--read-timeout-ms) must be a whole number of milliseconds, at least 1, got ${settings.readTimeoutMs}`);
  }
  if (settings.maxQueueBytes < settings.maxBodyBytes) {
    throw new Error(
      `the writer budget (${settings.maxQueueBytes} bytes) is smaller than the body limit (${settings.maxBodyBytes} bytes): ` +
        'the largest requests would be refused forever; raise --max-queue-bytes or lower --max-body-bytes',
    );
  }
  return settings;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface Storage {
  db: Database;
  partitions: PartitionManager;
  /** The key created on first start with an empty database, else null. */
  defaultKey: string | null;
  retention: Retention;
}

/** The database (migrated), its first key, and retention, whose first drop is done before serving. */
async function openStorage(settings: Settings): Promise<Storage> {
  const db = await openDatabase({ databaseUrl: settings.databaseUrl, dataDir: settings.dataDir, readTimeoutMs: settings.readTimeoutMs });
  try {
    const defaultKey = await bootstrapDefaultKey(db, settings.dataDir);
    const partitions = createPartitionManager();
    const retention = await startRetention(db, partitions, settings.retentionDays);
    return { db, partitions, defaultKey, retention };
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

interface Retention {
  /** Applies each tenant's own shorter retention, in the background. */
  cleanTenants(): void;
  stop(): void;
}

/** Drops the partitions past the retention window now, then every hour along with each tenant's own. */
async function startRetention(db: Database, partitions: PartitionManager, days: number): Promise<Retention> {
  const warn = (what: string) => (error: unknown) => {
    // Retried at the next hour; the data path does not depend on it.
    console.warn(`pipemon: retention (${what}) failed: ${describeDatabaseError(error)}`);
  };
  const dropOld = () => partitions.dropOlderThan(db, days).catch(warn(`older than ${days} days`));
  // Row by row, so it can take a while: never before the receiver serves.
  const cleanTenants = () => cleanupShorterRetentions(db, days).catch(warn("a tenant's own"));
  await dropOld();
  const timer = setInterval(() => void dropOld().then(cleanTenants), HOUR_MS).unref();
  return { cleanTenants: () => void cleanTenants(), stop: () => clearInterval(timer) };
}

/** The data path (metrics, writer, ingest line) and what each listener serves. */
function createService({ db, partitions }: Storage, settings: Settings): { writer: Writer; handlers: Handlers } {
  const metrics = createReceiverMetrics(db, settings.maxPipelines);
  const writer = createWriter({ db, partitions, report: metrics.writer, budgetBytes: settings.maxQueueBytes });
  const line = createIngestLine({ writer, retentionDays: settings.retentionDays });
  const authenticate = createAuthenticate(createKeyVerifier(db));
  const app = createApp({
    db,
    line,
    metrics,
    authenticate,
    maxBodyBytes: settings.maxBodyBytes,
    retentionDays: settings.retentionDays,
    readTimeoutMs: settings.readTimeoutMs,
    serveMetrics: settings.metricsPort === undefined,
  });
  return { writer, handlers: { app, metricsApp: createMetricsApp(metrics), grpc: { authenticate, line, requests: metrics.requests } } };
}

/** The receiver's own metrics, and beside them the pipelines' state gauges, read at each scrape (on the read pool). */
function createReceiverMetrics(db: Database, maxPipelines: number | undefined): Metrics {
  const metrics = createMetrics({ maxPipelines });
  registerPipelineGauges(metrics.registry, {
    read: () => readPipelineStates(db.reads),
    readUpstreams: () => readPipelineUpstreams(db.reads),
    readFailed: () => metrics.databaseError('pipeline_state'),
    maxPipelines,
  });
  return metrics;
}

function receiverOf(listeners: Listeners, storage: Storage, writer: Writer): Receiver {
  let closing: Promise<void> | null = null;
  return {
    url: listeners.url,
    grpcAddress: listeners.grpcAddress,
    metricsUrl: listeners.metricsUrl,
    db: storage.db,
    defaultKey: storage.defaultKey,
    close: () => (closing ??= stop(listeners, writer, storage)),
  };
}

/** Stops accepting on every listener, lets every accepted request finish and COMMIT, then closes the database. */
async function stop(listeners: Listeners, writer: Writer, { db, retention }: Storage): Promise<void> {
  const deadline = Date.now() + SHUTDOWN_DEADLINE_MS;
  const grpcDone = listeners.stopAccepting(SHUTDOWN_DEADLINE_MS);
  while (listeners.active > 0 && Date.now() < deadline) await sleep(20);
  await grpcDone;
  await writer.close();
  listeners.closeConnections();
  retention.stop();
  await db.close();
}

/** A half-finished start undoes itself. */
async function abandon(listeners: Listeners, storage: Storage | null): Promise<void> {
  storage?.retention.stop();
  await listeners.stopAccepting(0);
  listeners.closeConnections();
  await storage?.db.close().catch(() => undefined);
}
