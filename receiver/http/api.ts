/**
 * The JSON API under /api/v1, served from the route table of routes.ts: queries need the `read` scope,
 * key and retention management the `admin` scope, and every route sees only its key's tenant. Lists
 * answer CSV too (`Accept: text/csv` or `format=csv`), streamed.
 */
import express, { type Request, type Response } from 'express';
import { CursorError } from '../query/pages.js';
import type { Queryable } from '../storage/database.js';
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
}

const DEFAULT_LIMIT = 100;

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
      sendRefusal(res, error instanceof CursorError ? new Refusal('invalid', error.message) : refusalOf(error));
    }
  };
}

export function createApiRouter(db: Queryable, authenticate: Authenticate, options: ApiOptions): express.Router {
  const router = express.Router();
  const document = openApiDocument();
  // The description of the API holds no data: it needs no key, as API clients and generators expect.
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  for (const route of ROUTES) {
    const path = route.path.replace(/\{(\w+)\}/g, ':$1');
    const handlers = route.requestBody ? [express.json({ limit: '16kb' }), serve(route, db, authenticate, options)] : [serve(route, db, authenticate, options)];
    router[route.method](path, ...handlers);
  }
  return router;
}
