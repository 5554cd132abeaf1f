/**
 * The HTTP surface: OTLP ingest, the query API, health and Prometheus metrics.
 */
import express from 'express';
import type { Database } from '../storage/database.js';
import { describeDatabaseError } from '../storage/errors.js';
import type { Writer } from '../writer.js';
import type { Metrics } from '../metrics.js';
import { createApiRouter } from './api.js';
import type { Authenticate } from './auth.js';
import { createOtlpHandler } from './otlp.js';

export interface AppOptions {
  db: Database;
  writer: Writer;
  metrics: Metrics;
  authenticate: Authenticate;
  maxBodyBytes: number;
  retentionDays: number;
}

export function createApp({ db, writer, metrics, authenticate, maxBodyBytes, retentionDays }: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  for (const signal of ['logs', 'traces'] as const) {
    app.all(`/v1/${signal}`, createOtlpHandler({ signal, authenticate, writer, metrics, maxBodyBytes, retentionDays }));
  }
  app.use('/api/v1', createApiRouter(db, authenticate));

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
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use((req, res) => {
    res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
  });
  // Body-parser failures (malformed or oversized JSON on the API) arrive here with their status.
  app.use((error: { status?: number; message?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    res.status(status).json({ error: `invalid request: ${error.message ?? 'unknown error'}` });
  });
  return app;
}
