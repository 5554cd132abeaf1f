/**
 * The JSON API under /api/v1. Queries need the `read` scope, key management the `admin` scope; every
 * route sees only its key's tenant.
 */
import express, { type Request, type Response } from 'express';
import { RESULTS, isResult } from '../../sdk/vocabulary.js';
import { createKey, isScope, listKeys, revokeKey, SCOPES, type Scope } from '../keys.js';
import { CursorError, getRun, getTrace, listLogs, listRuns } from '../query.js';
import type { Queryable } from '../storage/database.js';
import type { Tenant } from '../model/records.js';
import { Refusal, refusalOf } from '../outcome.js';
import type { Authenticate } from './auth.js';
import { sendRefusal } from './answer.js';

const SEVERITY_NAMES: Record<string, number> = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, WARNING: 13, ERROR: 17, FATAL: 21 };
const TRACE_ID = /^[0-9a-f]{32}$/;

type Query = Request['query'];

function param(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new Refusal('invalid', `query parameter "${name}" must be given once`);
  return value;
}

function time(query: Query, name: string): Date | undefined {
  const value = param(query, name);
  if (value === undefined) return undefined;
  // RFC 3339, or Unix milliseconds as Grafana's ${__from} gives them.
  const date = /^\d+$/.test(value) ? new Date(Number(value)) : new Date(value);
  if (Number.isNaN(date.getTime())) throw new Refusal('invalid', `"${name}" must be an RFC 3339 time or Unix milliseconds, got "${value}"`);
  return date;
}

function limit(query: Query): number {
  const value = param(query, 'limit');
  if (value === undefined) return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Refusal('invalid', `"limit" must be an integer from 1 to 1000, got "${value}"`);
  return n;
}

function severity(query: Query): number | undefined {
  const value = param(query, 'severity_min');
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : SEVERITY_NAMES[value.toUpperCase()];
  if (n === undefined || n < 1 || n > 24) {
    throw new Refusal('invalid', `"severity_min" must be 1-24 or one of ${Object.keys(SEVERITY_NAMES).join(', ')}, got "${value}"`);
  }
  return n;
}

function traceId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const id = value.toLowerCase();
  if (!TRACE_ID.test(id)) throw new Refusal('invalid', `trace id must be 32 hex characters, got "${value}"`);
  return id;
}

function sendError(res: Response, caught: unknown): void {
  sendRefusal(res, caught instanceof CursorError ? new Refusal('invalid', caught.message) : refusalOf(caught));
}

/** PostgreSQL text cannot hold a NUL byte: one in a path or query parameter is refused before any SQL. */
function refuseNul(req: Request): void {
  for (const [name, value] of [...Object.entries(req.params), ...Object.entries(req.query)]) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === 'string' && v.includes('\u0000'))) {
      throw new Refusal('invalid', `"${name}" contains a NUL byte (%00), which no stored value holds: remove it`);
    }
  }
}

export function createApiRouter(db: Queryable, authenticate: Authenticate): express.Router {
  const router = express.Router();
  const route = (handler: (req: Request, tenant: Tenant) => Promise<unknown>, scope: Scope = 'read', status = 200) => async (req: Request, res: Response) => {
    try {
      const tenant = await authenticate(req.headers, scope);
      refuseNul(req);
      const body = await handler(req, tenant);
      if (body === null) throw new Refusal('not_found', `${req.path} not found for this tenant`);
      res.status(status).json(body);
    } catch (error) {
      sendError(res, error);
    }
  };

  router.get(
    '/logs',
    route((req, tenant) =>
      listLogs(
        db,
        tenant.id,
        {
          pipeline: param(req.query, 'pipeline'),
          runId: param(req.query, 'run_id'),
          traceId: traceId(param(req.query, 'trace_id')),
          severityMin: severity(req.query),
          since: time(req.query, 'since'),
          until: time(req.query, 'until'),
        },
        limit(req.query),
        param(req.query, 'cursor'),
      ),
    ),
  );
  router.get(
    '/runs',
    route((req, tenant) => {
      const result = param(req.query, 'result');
      if (result !== undefined && !isResult(result)) throw new Refusal('invalid', `unknown result "${result}": use one of ${RESULTS.join(', ')}`);
      return listRuns(
        db,
        tenant.id,
        { pipeline: param(req.query, 'pipeline'), result, since: time(req.query, 'since'), until: time(req.query, 'until') },
        limit(req.query),
        param(req.query, 'cursor'),
      );
    }),
  );
  router.get(
    '/runs/:runId',
    route((req, tenant) => getRun(db, tenant.id, String(req.params.runId))),
  );
  router.get(
    '/traces/:traceId',
    route((req, tenant) => getTrace(db, tenant.id, traceId(String(req.params.traceId))!)),
  );

  router.get(
    '/keys',
    route(async (_req, tenant) => ({ items: (await listKeys(db, tenant.id)).map(keyInfo) }), 'admin'),
  );
  router.post(
    '/keys',
    express.json({ limit: '16kb' }),
    route(
      async (req, tenant) => {
        const scopes: unknown = req.body?.scopes;
        if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every(isScope)) {
          throw new Refusal('invalid', `"scopes" must be a non-empty array of ${SCOPES.join(', ')}`);
        }
        const created = await createKey(db, tenant.name, scopes);
        return { key: created.key, key_id: created.keyId, tenant: tenant.name, scopes };
      },
      'admin',
      201,
    ),
  );
  router.delete(
    '/keys/:keyId',
    route(async (req, tenant) => ((await revokeKey(db, String(req.params.keyId), tenant.id)) ? { revoked: req.params.keyId } : null), 'admin'),
  );
  return router;
}

function keyInfo(key: Awaited<ReturnType<typeof listKeys>>[number]) {
  return {
    key_id: key.keyId,
    scopes: key.scopes,
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt ? key.revokedAt.toISOString() : null,
  };
}
