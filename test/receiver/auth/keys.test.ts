/**
 * API keys and tenants (receiver/auth/keys.ts) on every supported server: a key verifies to its tenant and
 * scopes and nothing else does, only its hash is stored, revocation and the verifier's cache behave as
 * stated, and a fresh database gets exactly one default key.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrapDefaultKey, createKey, createKeyVerifier, createTenant, listKeys, revokeKey } from '../../../receiver/auth/keys.js';
import type { Queryable } from '../../../receiver/storage/database.js';
import { openDatabase } from '../../../receiver/storage/open.js';
import { backends, databaseFor, freshDatabase } from '../../helpers/backends.js';
import { tempDataDir } from '../../helpers/pipemon-process.js';
import { recording } from '../../helpers/storage.js';

describe.each(backends())('keys on $name', (backend) => {
  const db = databaseFor(backend);

  describe('API keys', () => {
    it('creates a key that verifies to its tenant and scopes', async () => {
      const created = await createKey(db, 'acme', ['ingest', 'read']);
      expect(created.key).toMatch(new RegExp(`^pm_${created.tenantId}_${created.keyId}_[0-9a-f]{64}$`));
      expect(created.keyId).toMatch(/^[0-9a-f]{12}$/);
      const verified = await createKeyVerifier(db).verify(created.key);
      expect(verified).toEqual({ tenantId: created.tenantId, tenantName: 'acme', keyId: created.keyId, scopes: ['ingest', 'read'] });
    });

    it('stores only the SHA-256 of the key', async () => {
      const { key, keyId } = await createKey(db, 'acme', ['read']);
      const { rows } = await db.query<{ key_hash: Buffer }>('SELECT key_hash FROM api_keys WHERE key_id = $1', [keyId]);
      expect(rows[0]!.key_hash.toString('hex')).toBe(createHash('sha256').update(key).digest('hex'));
    });

    it('creates a tenant once, whatever the number of keys', async () => {
      const id = await createTenant(db, 'globex');
      expect(await createTenant(db, 'globex')).toBe(id);
      expect((await createKey(db, 'globex', ['admin'])).tenantId).toBe(id);
    });

    it('refuses bad tenant names and scope lists', async () => {
      await expect(createTenant(db, '')).rejects.toThrow(/tenant name/);
      await expect(createTenant(db, ' padded ')).rejects.toThrow(/tenant name/);
      await expect(createKey(db, 'acme', [])).rejects.toThrow(/scopes/);
      await expect(createKey(db, 'acme', ['root' as 'admin'])).rejects.toThrow(/scopes/);
    });

    it('rejects malformed, unknown and tampered keys', async () => {
      const { key, tenantId, keyId } = await createKey(db, 'initech', ['ingest']);
      const other = await createKey(db, 'acme', ['ingest']);
      const verifier = createKeyVerifier(db, { cacheMs: 0 });
      const secret = key.slice(-64);
      const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
      for (const bad of [
        '',
        'nope',
        `${key}0`,
        key.toUpperCase(),
        `pm_${tenantId}_${keyId}_${flip(secret)}`, // tampered secret
        `pm_${tenantId}_${flip(keyId)}_${secret}`, // unknown key id
        `pm_${other.tenantId}_${keyId}_${secret}`, // another tenant's id
        `pm_${tenantId}_${other.keyId}_${other.key.slice(-64)}`, // another tenant's key under this tenant
        `pm_99999999999_${keyId}_${secret}`,
        'x'.repeat(10_000),
      ]) {
        expect(await verifier.verify(bad), bad.slice(0, 40)).toBeNull();
      }
      expect(await verifier.verify(key)).not.toBeNull();
    });

    it('lists keys with tenant, id, scopes and dates, never the hash', async () => {
      const { keyId } = await createKey(db, 'listed', ['read', 'ingest']);
      await revokeKey(db, keyId);
      const listed = (await listKeys(db)).find((info) => info.keyId === keyId);
      expect(listed).toEqual({ tenant: 'listed', keyId, scopes: ['ingest', 'read'], createdAt: expect.any(Date), revokedAt: expect.any(Date) });
      expect(Object.keys(listed!)).not.toContain('key_hash');
    });

    it('revokes a key, and says false for an id it does not know', async () => {
      const { key, keyId } = await createKey(db, 'acme', ['ingest']);
      expect(await revokeKey(db, keyId)).toBe(true);
      expect(await revokeKey(db, keyId)).toBe(true);
      expect(await revokeKey(db, '000000000000')).toBe(false);
      expect(await createKeyVerifier(db, { cacheMs: 0 }).verify(key)).toBeNull();
    });

    it('answers from its cache for cacheMs, good and bad keys alike, with one lookup for concurrent checks', async () => {
      const { key, keyId, tenantId } = await createKey(db, 'cached', ['ingest']);
      const spy = recording(db);
      const verifier = createKeyVerifier(spy, { cacheMs: 60_000 });
      const answers = await Promise.all([1, 2, 3, 4, 5].map(() => verifier.verify(key)));
      expect(answers.every((answer) => answer?.tenantName === 'cached')).toBe(true);
      expect(spy.sql).toHaveLength(1);

      const unknown = `pm_${tenantId}_${'f'.repeat(12)}_${'0'.repeat(64)}`;
      for (let i = 0; i < 5; i++) expect(await verifier.verify(unknown)).toBeNull();
      expect(spy.sql).toHaveLength(2);
      // Malformed keys never reach the database.
      for (let i = 0; i < 5; i++) expect(await verifier.verify(`garbage-${i}`)).toBeNull();
      expect(spy.sql).toHaveLength(2);

      // Revocation reaches a verifier when its cache entry expires.
      await revokeKey(db, keyId);
      expect(await verifier.verify(key)).not.toBeNull();
      expect(await createKeyVerifier(db, { cacheMs: 0 }).verify(key)).toBeNull();
    });

    it('bounds its cache', async () => {
      const spy = recording(db);
      const verifier = createKeyVerifier(spy, { cacheMs: 60_000, maxEntries: 2 });
      const keys = [1, 2, 3].map((n) => `pm_1_${String(n).padStart(12, '0')}_${'0'.repeat(64)}`);
      for (const key of keys) await verifier.verify(key);
      await verifier.verify(keys[2]!);
      expect(spy.sql).toHaveLength(3);
      await verifier.verify(keys[0]!); // evicted: asked again
      expect(spy.sql).toHaveLength(4);
    });

    it('does not cache a lookup that failed, so the next request asks again', async () => {
      let fail = true;
      const flaky: Queryable = {
        query: (sql, params) => (fail ? Promise.reject(new Error('Connection terminated unexpectedly')) : db.query(sql, params)),
      };
      const { key } = await createKey(db, 'flaky', ['ingest']);
      const verifier = createKeyVerifier(flaky);
      await expect(verifier.verify(key)).rejects.toThrow(/Connection terminated/);
      fail = false;
      expect(await verifier.verify(key)).not.toBeNull();
    });
  });

  describe('default key', () => {
    it('creates exactly one default ingest+read key on an empty database and saves it with mode 0600', async () => {
      const fresh = await freshDatabase(backend);
      const dir = path.join(tempDataDir(), 'data');
      const key = await bootstrapDefaultKey(fresh, dir);
      expect(key).toMatch(/^pm_\d+_[0-9a-f]{12}_[0-9a-f]{64}$/);
      const file = path.join(dir, 'default-api-key');
      expect(fs.readFileSync(file, 'utf8')).toBe(`${key}\n`);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(await createKeyVerifier(fresh).verify(key!)).toMatchObject({ tenantName: 'default', scopes: ['ingest', 'read'] });

      expect(await bootstrapDefaultKey(fresh, dir)).toBeNull();
      expect(fs.readFileSync(file, 'utf8')).toBe(`${key}\n`);
      expect(await listKeys(fresh)).toHaveLength(1);
    });

    it('creates no key on a database that already has tenants, and needs no directory', async () => {
      const fresh = await freshDatabase(backend);
      await createTenant(fresh, 'existing');
      expect(await bootstrapDefaultKey(fresh, undefined)).toBeNull();
      expect(await listKeys(fresh)).toEqual([]);
    });

    it('creates one default tenant and key when two receivers start together', async () => {
      const url = await backend.databaseUrl();
      const [first, second] = await Promise.all([openDatabase({ databaseUrl: url }), openDatabase({ databaseUrl: url })]);
      try {
        const keys = await Promise.all([bootstrapDefaultKey(first, tempDataDir()), bootstrapDefaultKey(second, tempDataDir())]);
        expect(keys.filter((key) => key !== null)).toHaveLength(1);
        const { rows } = await first.query<{ name: string }>('SELECT name FROM tenants');
        expect(rows).toEqual([{ name: 'default' }]);
        expect(await listKeys(first)).toHaveLength(1);
      } finally {
        await first.close();
        await second.close();
      }
    });
  });
});
