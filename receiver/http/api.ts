/**
 * The JSON API under /api/v1, served from the route table of routes.ts: queries need the `read` scope,
 * key and retention management the `admin` scope, and every route sees only its key's tenant. Lists
 * answer CSV too (`Accept: text/csv` or `format=csv`), streamed. GET routes read through the database's
 * read pool, whose time limit answers 504 naming the route's filters that would narrow the read.
 */
import express, { type Request, type Response } from 'express';
import { CursorError } from '../query/pages.js';
import type { Database, Queryable } from '../storage/database.js';
import { isQueryCancelled } from '../model/database-errors.js';
import { Refusal, refusalOf } from '../model/outcome.js';
import type { Authenticate } from '../auth/auth.js';
import { sendRefusal } from './answer.js';
import { sendCsv } from './csv-stream.js';
import { openApiDocument } from './openapi.js';
import { parseParams, type Format, type Params } from './params.js';
import { queryParamsOf, ROUTES, type ApiRoute, type RouteContext } from './routes.js';
import { SCHEMAS } from './schemas.js';

export interface ApiOptions {
  /** The server's --retention-days: the longest a tenant may keep its data. */
  retentionDays: number;
  /** The read pool's time limit (--read-timeout-ms), for the answer to a read it cancelled. */
  readTimeoutMs: number;
}

const DEFAULT_LIMIT = 100;

/** Query parameters that narrow what a read scans, most effective first, each with how to use it. */
const NARROWING: Record<string, string> = {
  since: 'a later "since"',
  until: 'an earlier "until"',
  days: 'fewer "days"',
  pipeline: 'one "pipeline"',
  run_id: 'one "run_id"',
  stage: 'one "stage"',
  trace_id: 'one "trace_id"',
  depth: 'a smaller "depth"',
};

/** The answer to a read the server cancelled at the time limit: what would narrow it, among the route's parameters. */
function tooSlow(route: ApiRoute, readTimeoutMs: number): Refusal {
  const params = queryParamsOf(route);
  const hints = Object.keys(NARROWING).filter((name) => name in params).map((name) => NARROWING[name]!);
  const what = hints.length > 0 ? `narrow it (${hints.join(', ')}) and ask again` : 'ask again when the database is less busy';
  return new Refusal('too_slow', `the query ran past the ${readTimeoutMs / 1000} s read time limit and was cancelled: ${what}`);
}

/** GET routes only read: they run on the read pool, under its time limit. */
const onlyReads = (route: ApiRoute) => route.method === 'get';

function refusalFor(route: ApiRoute, error: unknown, readTimeoutMs: number): Refusal {
  if (error instanceof CursorError) return new Refusal('invalid', error.message);
  // A cancelled write (an operator's pg_cancel_backend) is answered as any other database error.
  if (onlyReads(route) && isQueryCancelled(error)) return tooSlow(route, readTimeoutMs);
  return refusalOf(error);
}

function formatOf(req: Request, given: Format | undefined): Format {
  if (given) return given;
  return req.accepts(['application/json', 'text/csv']) === 'text/csv' ? 'csv' : 'json';
}

async function answerList(req: Request, res: Response, route: ApiRoute, context: RouteContext<Params, Params>, query: Record<string, unknown>) {
  const list = route.list!;
  const pageCursor = query.cursor as string | undefined;
  const read = (n: number, at: string | undefined) => list.page(context, n, at);
  if (formatOf(req, query.format as Format | undefined) === 'csv') {
    if (query.limit !== undefined) {
      throw new Refusal('invalid', '"limit" pages JSON answers; a CSV export holds every matching row: narrow it with the filters (since, until) instead');
    }
    const name = route.path.replace(/^\//, '').replaceAll('/', '-');
    return sendCsv(res, SCHEMAS[list.item]!, read, pageCursor, name);
  }
  const page = await read((query.limit as number | undefined) ?? DEFAULT_LIMIT, pageCursor);
  res.status(route.status).json(page);
}

function serve(route: ApiRoute, db: Queryable, authenticate: Authenticate, options: ApiOptions) {
  return async (req: Request, res: Response) => {
    try {
      const tenant = await authenticate(req.headers, route.scope);
      const path = parseParams(req.params, route.pathParams);
      const query = parseParams(req.query as Record<string, unknown>, queryParamsOf(route));
      const context: RouteContext<Params, Params> = { db, tenant, query, path, body: req.body, serverRetentionDays: options.retentionDays };
      if (route.list) return await answerList(req, res, route, context, query);
      res.status(route.status).json(await route.handle!(context));
    } catch (error) {
      sendRefusal(res, refusalFor(route, error, options.readTimeoutMs));
    }
  };
}

export function createApiRouter(db: Database, authenticate: Authenticate, options: ApiOptions): express.Router {
  const router = express.Router();
  const document = openApiDocument();
  // The description of the API holds no data: it needs no key, as API clients and generators expect.
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  for (const route of ROUTES) {
    const path = route.path.replace(/\{(\w+)\}/g, ':$1');
    // Reads never hold the writer's connections; key and retention changes go through the writer's pool.
    const handler = serve(route, onlyReads(route) ? db.reads : db, authenticate, options);
    const handlers = route.requestBody ? [express.json({ limit: '16kb' }), handler] : [handler];
    router[route.method](path, ...handlers);
  }
  return router;
}
