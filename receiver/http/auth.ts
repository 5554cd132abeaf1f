/**
 * API keys on every data route: `Authorization: Bearer <key>` or `X-API-Key: <key>`. The key decides
 * the tenant; no request names its tenant itself, so a key of tenant A can never reach tenant B's rows.
 */
import type { IncomingMessage } from 'node:http';
import type { Scope } from '../keys.js';
import type { Tenant } from '../storage/write-batch.js';
import { HttpError } from './errors.js';

export interface KeyVerifier {
  verify(key: string): Promise<{ tenantId: number; tenantName: string; keyId: string; scopes: Scope[] } | null>;
}

export type Authenticate = (req: IncomingMessage, scope: Scope) => Promise<Tenant>;

function presentedKey(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1]! : null;
  }
  const apiKey = req.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.trim() !== '' ? apiKey.trim() : null;
}

export function createAuthenticate(verifier: KeyVerifier): Authenticate {
  return async (req, scope) => {
    const key = presentedKey(req);
    if (key === null) {
      throw new HttpError(401, 'missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"', {
        'WWW-Authenticate': 'Bearer',
      });
    }
    const principal = await verifier.verify(key);
    if (!principal) {
      throw new HttpError(401, 'unknown or revoked API key: create one with "pipemon keys create"', {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
    }
    if (!principal.scopes.includes(scope)) {
      throw new HttpError(403, `API key ${principal.keyId} lacks the "${scope}" scope (it has: ${principal.scopes.join(', ')})`);
    }
    return { id: principal.tenantId, name: principal.tenantName };
  };
}
