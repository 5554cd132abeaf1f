/**
 * Bringing a database's schema up to date (receiver/storage/migrate.ts): each migration is applied and
 * recorded once, also when two receivers start together, and a database a newer pipemon migrated is refused.
 */
import { describe, expect, it } from 'vitest';
import { migrate } from '../../../receiver/storage/migrate.js';
import { openServerDatabase } from '../../../receiver/storage/pg.js';
import { rejection } from '../../helpers/async.js';
import { backends, databaseFor, freshDatabase } from '../../helpers/backends.js';
import { MIGRATION_VERSIONS } from '../../helpers/storage.js';

describe.each(backends())('migrate on $name', (backend) => {
  const db = databaseFor(backend);

  it('records every migration once', async () => {
    const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((row) => row.version)).toEqual(MIGRATION_VERSIONS);
  });

  it('applies nothing when run again', async () => {
    expect(await migrate(db)).toEqual({ applied: [] });
  });

  it('lets two receivers starting together migrate once', async () => {
    const url = await backend.databaseUrl();
    const [a, b] = await Promise.all([openServerDatabase(url), openServerDatabase(url)]);
    try {
      const results = await Promise.all([migrate(a), migrate(b)]);
      expect(results.map((result) => result.applied).sort((x, y) => x.length - y.length)).toEqual([[], MIGRATION_VERSIONS]);
      const { rows } = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0]!.n).toBe(MIGRATION_VERSIONS.length);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses a database migrated by a newer pipemon', async () => {
    const newer = await freshDatabase(backend);
    await newer.query(`INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')`);
    expect((await rejection(migrate(newer))).message).toMatch(/schema version 9999, newer than this pipemon knows .*upgrade pipemon/);
  });
});
