/**
 * API keys on every data route and OTLP/gRPC call: `Authorization: Bearer <key>` or `X-API-Key: <key>`. Shared by both
 * transports, so it sits below them. The key decides the tenant; no request names its tenant itself, so a key of
 * tenant A can never reach tenant B's rows.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Scope } from './keys.js';
import type { Tenant } from '../model/records.js';
import { Refusal } from '../model/outcome.js';

export interface KeyVerifier {
  verify(key: string): Promise<{ tenantId: number; tenantName: string; keyId: string; scopes: Scope[] } | null>;
}

/** The tenant of the key in `headers` (HTTP headers, or gRPC metadata as headers), if it has `scope`. */
export type Authenticate = (headers: IncomingHttpHeaders, scope: Scope) => Promise<Tenant>;

function presentedKey(headers: IncomingHttpHeaders): string | null {
  const header = headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1]! : null;
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.trim() !== '' ? apiKey.trim() : null;
}

export function createAuthenticate(verifier: KeyVerifier): Authenticate {
  return async (headers, scope) => {
    const key = presentedKey(headers);
    if (key === null) {
      throw new Refusal('unauthenticated', 'missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"', {
        'WWW-Authenticate': 'Bearer',
      });
    }
    const principal = await verifier.verify(key);
    if (!principal) {
      throw new Refusal('unauthenticated', 'unknown or revoked API key: create one with "pipemon keys create --tenant NAME --scopes ingest,read"', {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
    }
    if (!principal.scopes.includes(scope)) {
      throw new Refusal('forbidden', `API key ${principal.keyId} lacks the "${scope}" scope (it has: ${principal.scopes.join(', ')})`);
    }
    return { id: principal.tenantId, name: principal.tenantName };
  };
}
