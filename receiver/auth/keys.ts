/**
 * API keys per tenant. A key reads `pm_<tenant_id>_<key_id>_<secret>`: the tenant and key id let one
 * indexed lookup find the row, the 256-bit random secret is the credential. Only the SHA-256 of the
 * whole key is stored (a fast hash is enough for a random secret of that size; slow hashes are for
 * passwords people choose), so the database never holds a usable key.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { writeSecret } from '../storage/data-dir.js';
import type { Database, Queryable } from '../storage/database.js';
import { ADVISORY_LOCKS } from '../storage/migrate.js';

export const SCOPES = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface VerifiedKey {
  tenantId: number;
  tenantName: string;
  keyId: string;
  scopes: Scope[];
}

export interface KeyVerifier {
  /**
   * The key's tenant and scopes, or null for a malformed, unknown, revoked or tampered key. Rejects
   * when the database cannot answer (a transient error: the caller should answer 503, not 401).
   */
  verify(key: string): Promise<VerifiedKey | null>;
}

export interface KeyInfo {
  tenant: string;
  keyId: string;
  scopes: Scope[];
  createdAt: Date;
  revokedAt: Date | null;
}

const DEFAULT_TENANT = 'default';
const DEFAULT_SCOPES: Scope[] = ['ingest', 'read'];
export const DEFAULT_KEY_FILE = 'default-api-key';
const KEY = /^pm_([1-9][0-9]{0,9})_([0-9a-f]{12})_([0-9a-f]{64})$/;
const MAX_KEY_LENGTH = 91;
const MAX_TENANT_ID = 2 ** 31 - 1;
const MAX_TENANT_NAME = 100;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

const hashKey = (key: string) => createHash('sha256').update(key).digest();
export const isScope = (value: unknown): value is Scope => typeof value === 'string' && (SCOPES as readonly string[]).includes(value);

function checkTenantName(name: string): void {
  if (name.length === 0 || name.length > MAX_TENANT_NAME || name.trim() !== name || CONTROL_CHARACTERS.test(name)) {
    throw new Error(
      `a tenant name must be 1-${MAX_TENANT_NAME} characters without surrounding spaces or control characters, got ${JSON.stringify(name)}`,
    );
  }
}

/** The tenant's id, creating the tenant when it does not exist yet. */
export async function createTenant(db: Queryable, name: string): Promise<number> {
  return (await ensureTenant(db, name)).tenantId;
}

/** The tenant's id, creating it when there is none of that name (`created` says which). */
async function ensureTenant(db: Queryable, name: string): Promise<{ tenantId: number; created: boolean }> {
  checkTenantName(name);
  const inserted = await db.query<{ tenant_id: number }>(
    'INSERT INTO tenants (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING tenant_id',
    [name],
  );
  if (inserted.rows[0]) return { tenantId: inserted.rows[0].tenant_id, created: true };
  // A separate statement: its fresh snapshot sees a tenant that a concurrent transaction just committed,
  // which the INSERT's snapshot may not.
  const existing = await db.query<{ tenant_id: number }>('SELECT tenant_id FROM tenants WHERE name = $1', [name]);
  if (!existing.rows[0]) throw new Error(`tenant ${JSON.stringify(name)} vanished while being created`);
  return { tenantId: existing.rows[0].tenant_id, created: false };
}

/** A new key for the tenant (created when needed). The key is returned once and never stored. */
export async function createKey(
  db: Queryable,
  tenantName: string,
  scopes: readonly Scope[],
): Promise<{ key: string; keyId: string; tenantId: number; tenantCreated: boolean }> {
  const unknown = scopes.filter((scope) => !isScope(scope));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new Error(`a key needs one or more of the scopes ${SCOPES.join(', ')}; got ${JSON.stringify(scopes)}`);
  }
  const { tenantId, created: tenantCreated } = await ensureTenant(db, tenantName);
  const keyId = randomBytes(6).toString('hex');
  const key = `pm_${tenantId}_${keyId}_${randomBytes(32).toString('hex')}`;
  await db.query('INSERT INTO api_keys (tenant_id, key_id, key_hash, scopes) VALUES ($1, $2, $3, $4)', [
    tenantId,
    keyId,
    hashKey(key),
    SCOPES.filter((scope) => scopes.includes(scope)),
  ]);
  return { key, keyId, tenantId, tenantCreated };
}

/** Every key (of one tenant when tenantId is given), by tenant then age; never the hashes. */
export async function listKeys(db: Queryable, tenantId?: number): Promise<KeyInfo[]> {
  const { rows } = await db.query<{ tenant: string; key_id: string; scopes: string[]; created_at: Date; revoked_at: Date | null }>(
    `SELECT t.name AS tenant, k.key_id, k.scopes, k.created_at, k.revoked_at
       FROM api_keys k JOIN tenants t USING (tenant_id)
      WHERE $1::int IS NULL OR k.tenant_id = $1
      ORDER BY t.name, k.created_at, k.key_id`,
    [tenantId ?? null],
  );
  return rows.map((row) => ({
    tenant: row.tenant,
    keyId: row.key_id,
    scopes: row.scopes.filter(isScope),
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  }));
}

/**
 * Revokes the key (of that tenant only, when tenantId is given; a second revoke keeps the first time);
 * false when no such key exists. Verifiers that cached the key accept it until their cache entry
 * expires (cacheMs).
 */
export async function revokeKey(db: Queryable, keyId: string, tenantId?: number): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
      WHERE key_id = $1 AND ($2::int IS NULL OR tenant_id = $2) RETURNING key_id`,
    [keyId, tenantId ?? null],
  );
  return rows.length > 0;
}

export interface KeyVerifierOptions {
  /** How long an answer, positive or negative, is reused without asking the database. */
  cacheMs?: number;
  /** Bound on cached answers, so a flood of distinct bad keys cannot grow memory. */
  maxEntries?: number;
}

/**
 * Verifies keys against the database, caching answers for cacheMs: a client sending the same key with
 * every request, or a flood of one bad key, costs one lookup per cacheMs. Concurrent checks of one key
 * share one lookup.
 */
export function createKeyVerifier(db: Queryable, { cacheMs = 10_000, maxEntries = 10_000 }: KeyVerifierOptions = {}): KeyVerifier {
  // Keyed by the key's hash, so the cache holds no usable key; Map order is insertion order, so the
  // first entry is the oldest to evict.
  const cache = new Map<string, { expiresMs: number; answer: Promise<VerifiedKey | null> }>();

  async function lookup(tenantId: number, keyId: string, hash: Buffer): Promise<VerifiedKey | null> {
    const { rows } = await db.query<{ key_hash: Buffer; scopes: string[]; revoked: boolean; tenant: string }>(
      `SELECT k.key_hash, k.scopes, k.revoked_at IS NOT NULL AS revoked, t.name AS tenant
         FROM api_keys k JOIN tenants t USING (tenant_id)
        WHERE k.tenant_id = $1 AND k.key_id = $2`,
      [tenantId, keyId],
    );
    const row = rows[0];
    if (!row || row.revoked || row.key_hash.length !== hash.length || !timingSafeEqual(row.key_hash, hash)) return null;
    return Object.freeze({ tenantId, tenantName: row.tenant, keyId, scopes: Object.freeze(row.scopes.filter(isScope)) as Scope[] });
  }

  return {
    verify(key) {
      if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH) return Promise.resolve(null);
      const match = KEY.exec(key);
      const tenantId = Number(match?.[1]);
      if (!match || tenantId > MAX_TENANT_ID) return Promise.resolve(null);

      const hash = hashKey(key);
      const cacheKey = hash.toString('base64');
      const now = Date.now();
      const cached = cache.get(cacheKey);
      if (cached && cached.expiresMs > now) return cached.answer;
      cache.delete(cacheKey);

      const answer = lookup(tenantId, match[2]!, hash);
      if (cacheMs > 0) {
        cache.set(cacheKey, { expiresMs: now + cacheMs, answer });
        if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
        // A failed lookup (database down) is no answer: forget it so that the next request asks again.
        answer.catch(() => {
          if (cache.get(cacheKey)?.answer === answer) cache.delete(cacheKey);
        });
      }
      return answer;
    },
  };
}

/**
 * On a database without tenants, creates tenant "default" with an ingest+read key, saves the key in
 * `<dataDir>/default-api-key` (mode 0600) when dataDir is given, and returns it; otherwise null.
 * Receivers starting together on one database create one key: the check and the creation hold a lock.
 */
export async function bootstrapDefaultKey(db: Database, dataDir: string | undefined): Promise<string | null> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.defaultKey})`);
    const { rows } = await tx.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM tenants) AS any');
    if (rows[0]?.any) return null;
    const { key } = await createKey(tx, DEFAULT_TENANT, DEFAULT_SCOPES);
    // Written before COMMIT: if writing fails, no key exists that nobody can read back.
    if (dataDir !== undefined) writeSecret(path.join(dataDir, DEFAULT_KEY_FILE), `${key}\n`);
    return key;
  });
}
