/**
 * The HTTP surface: OTLP ingest, notebook and workflow loggers' activity records, the query API, health and Prometheus metrics, the web view; and, when metrics have a
 * listener of their own (`--metrics-port`), the app that serves only them.
 */
import express from 'express';
import { SIGNALS } from '../../contract/signal.js';
import type { Database } from '../storage/database.js';
import { describeDatabaseError } from '../model/database-errors.js';
import type { IngestLine } from '../ingest/line.js';
import type { Metrics } from '../metrics/metrics.js';
import { Refusal, refusalOf } from '../model/outcome.js';
import { createActivityHandlers } from './activity.js';
import { createApiRouter } from './api.js';
import { sendRefusal } from './answer.js';
import type { Authenticate } from '../auth/auth.js';
import { createLineageHandler } from './lineage.js';
import { createOtlpHandler } from './otlp.js';
import { createWebViewRouter } from './web.js';

export interface AppOptions {
  db: Database;
  line: IngestLine;
  metrics: Metrics;
  authenticate: Authenticate;
  maxBodyBytes: number;
  /** The server's --retention-days: the longest a tenant may keep its data. */
  retentionDays: number;
  /** The read pool's time limit (--read-timeout-ms), named in the answer to a read it cancelled. */
  readTimeoutMs: number;
  /** False when /metrics has a listener of its own: it names every tenant and pipeline, and needs no key. */
  serveMetrics: boolean;
}

function bareApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  return app;
}

function serveMetricsOn(app: express.Express, metrics: Metrics): void {
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

function notFound(app: express.Express): void {
  app.use((req, res) => {
    sendRefusal(res, new Refusal('not_found', `no route for ${req.method} ${req.path}`));
  });
}

/** Only GET /metrics, for a listener that Prometheus alone reaches. */
export function createMetricsApp(metrics: Metrics): express.Express {
  const app = bareApp();
  serveMetricsOn(app, metrics);
  notFound(app);
  return app;
}

export function createApp({ db, line, metrics, authenticate, maxBodyBytes, retentionDays, readTimeoutMs, serveMetrics }: AppOptions): express.Express {
  const app = bareApp();

  for (const signal of SIGNALS) {
    app.all(`/v1/${signal}`, createOtlpHandler({ signal, authenticate, line, requests: metrics.requests, maxBodyBytes }));
  }
  // Before the API router, which answers every other /api/v1 path and GET /api/v1/lineage (the graph);
  // any other method is OpenLineage ingest's, which refuses all but POST.
  const lineage = createLineageHandler({ authenticate, line, requests: metrics.requests, maxBodyBytes });
  app.all('/api/v1/lineage', (req, res, next) => (req.method === 'GET' || req.method === 'HEAD' ? next() : lineage(req, res)));
  // Notebook and workflow loggers' activity records: before the query API, whose GET /api/v1/logs stays as is.
  const activity = createActivityHandlers({ authenticate, line, requests: metrics.requests, maxBodyBytes });
  app.post('/api/v1/logs', activity.one);
  app.all('/api/v1/logs/batch', activity.batch);
  app.use('/api/v1', createApiRouter(db, authenticate, { retentionDays, readTimeoutMs }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Migrations run before the server listens, so reachable means ready.
  app.get('/readyz', async (_req, res) => {
    try {
      await db.query('SELECT 1');
      res.json({ status: 'ready', database: db.description });
    } catch (error) {
      res.status(503).json({ status: 'unavailable', database: db.description, error: describeDatabaseError(error) });
    }
  });
  if (serveMetrics) serveMetricsOn(app, metrics);
  // The web view's files, last: no API or ingest path is ever shadowed by a file.
  app.use(createWebViewRouter());

  notFound(app);
  // Body-parser failures (malformed or oversized JSON on the API) arrive here with their status.
  app.use((error: { status?: number; message?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = error.status ?? 500;
    if (status < 400 || status >= 500) return sendRefusal(res, refusalOf(error));
    const kind = status === 413 ? 'too_large' : status === 415 ? 'unsupported_media_type' : 'invalid';
    sendRefusal(res, new Refusal(kind, `invalid request: ${error.message ?? 'unknown error'}`));
  });
  return app;
}
