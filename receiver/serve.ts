/**
 * Starting and stopping a receiver. Start: open the ports (OTLP/HTTP and the API, and OTLP/gRPC when
 * asked), open the database (migrated), create the first key on an empty database, then serve. Stop:
 * stop accepting on every listener, let every accepted request finish and COMMIT, then close the
 * database, so a SIGTERM loses nothing that was acknowledged.
 */
import { bootstrapDefaultKey, createKeyVerifier } from './keys.js';
import { createMetrics } from './metrics.js';
import { createAuthenticate } from './auth.js';
import { createApp, createMetricsApp } from './http/app.js';
import { openListeners } from './listeners.js';
import type { Database } from './storage/database.js';
import { describeDatabaseError } from './storage/errors.js';
import { openDatabase } from './storage/open.js';
import { createPartitionManager } from './storage/partitions.js';
import { cleanupShorterRetentions } from './storage/retention.js';
import { createWriter } from './ingest/commit.js';
import { applyEffects } from './ingest/effects.js';
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
} as const;

/** OTLP/gRPC's default port (OTLP spec); `pipemon serve` listens on it unless told otherwise. */
export const GRPC_DEFAULT_PORT = 4317;

const HOUR_MS = 3_600_000;
const SHUTDOWN_DEADLINE_MS = 30_000;

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const settings = { ...DEFAULTS, ...stripUndefined(options) };
  if (!(settings.retentionDays >= 1)) throw new Error(`retention must be at least 1 day, got ${settings.retentionDays}`);
  if (settings.maxQueueBytes < settings.maxBodyBytes) {
    throw new Error(
      `the writer budget (${settings.maxQueueBytes} bytes) is smaller than the body limit (${settings.maxBodyBytes} bytes): ` +
        'the largest requests would be refused forever; raise --max-queue-bytes or lower --max-body-bytes',
    );
  }
  // The ports first: a port another program holds is reported before a database or a key exists.
  const listeners = await openListeners({ ...settings, metricsPort: options.metricsPort, metricsHost: options.metricsHost, grpcPort: options.grpcPort });
  let db: Database | null = null;
  let retention: NodeJS.Timeout | undefined;
  try {
    db = await openDatabase({ databaseUrl: options.databaseUrl, dataDir: options.dataDir });
    const opened = db;
    const defaultKey = await bootstrapDefaultKey(opened, options.dataDir);
    const metrics = createMetrics({ maxPipelines: options.maxPipelines });
    metrics.attachDatabase(opened);
    const partitions = createPartitionManager();
    const warn = (what: string) => (error: unknown) => {
      // Retried at the next hour; the data path does not depend on it.
      console.warn(`pipemon: retention (${what}) failed: ${describeDatabaseError(error)}`);
    };
    const dropOld = () => partitions.dropOlderThan(opened, settings.retentionDays).catch(warn(`older than ${settings.retentionDays} days`));
    // Row by row, so it can take a while: never before the receiver serves.
    const cleanTenants = () => cleanupShorterRetentions(opened, settings.retentionDays).catch(warn("a tenant's own"));
    await dropOld();
    retention = setInterval(() => void dropOld().then(cleanTenants), HOUR_MS).unref();

    const writer = createWriter({
      db: opened,
      partitions,
      metrics,
      budgetBytes: settings.maxQueueBytes,
      onCommitted: (effects) => applyEffects(metrics, effects),
    });
    const line = createIngestLine({ writer, metrics, retentionDays: settings.retentionDays });
    const authenticate = createAuthenticate(createKeyVerifier(opened));
    const app = createApp({
      db: opened,
      line,
      metrics,
      authenticate,
      maxBodyBytes: settings.maxBodyBytes,
      retentionDays: settings.retentionDays,
      serveMetrics: options.metricsPort === undefined,
    });
    listeners.serve({ app, metricsApp: createMetricsApp(metrics), grpc: { authenticate, line, metrics } });
    void cleanTenants();

    let closing: Promise<void> | null = null;
    return {
      url: listeners.url,
      grpcAddress: listeners.grpcAddress,
      metricsUrl: listeners.metricsUrl,
      db: opened,
      defaultKey,
      close() {
        closing ??= (async () => {
          const deadline = Date.now() + SHUTDOWN_DEADLINE_MS;
          const grpcDone = listeners.stopAccepting(SHUTDOWN_DEADLINE_MS);
          while (listeners.active > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
          await grpcDone;
          await writer.close();
          listeners.closeConnections();
          clearInterval(retention);
          await opened.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    // A half-finished start undoes itself.
    clearInterval(retention);
    await listeners.stopAccepting(0);
    listeners.closeConnections();
    await db?.close().catch(() => undefined);
    throw error;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
