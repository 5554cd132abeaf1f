/**
 * bench:query's ingest load at a tiny size: the child process stores every record it reports as
 * acknowledged, at full speed for a set time and at a rate until stopped.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ingestFor, startIngest } from '../../bench/query-ingest.js';
import { createKey } from '../../receiver/auth/keys.js';
import type { Database } from '../../receiver/storage/database.js';
import { openDatabase } from '../../receiver/storage/open.js';
import { createTestDatabase } from '../helpers/backends.js';

describe.each(inject('databaseServers'))('bench:query ingest load on $name', (server) => {
  let db: Database;
  let order: { databaseUrl: string; key: string; retentionDays: number };

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase(server.url);
    db = await openDatabase({ databaseUrl });
    order = { databaseUrl, key: (await createKey(db, 'acme', ['ingest'])).key, retentionDays: 30 };
  });

  afterAll(async () => {
    await db?.close();
  });

  const count = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM logs')).rows[0]!.n;

  it('ingests at full speed for the time given, every acknowledged record stored', async () => {
    const before = await count();
    const result = await ingestFor({ ...order, rate: 0 }, 1);
    expect(result.records).toBeGreaterThan(0);
    expect(result.refused).toEqual({});
    expect((await count()) - before).toBe(result.records);
  }, 120_000);

  it('ingests at a rate until stopped, and stops', async () => {
    const before = await count();
    const running = await startIngest({ ...order, rate: 2000 });
    // Until some records are in: the load runs on its own until told to stop.
    while ((await count()) === before) await new Promise((resolve) => setTimeout(resolve, 100));
    const result = await running.stop();
    expect(result.records).toBeGreaterThan(0);
    const after = await count();
    expect(after - before).toBe(result.records);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await count()).toBe(after);
  }, 120_000);

  it('reports a load the receiver refuses, with why', async () => {
    await expect(ingestFor({ ...order, key: 'pm_0_not_a_key', rate: 0 }, 1)).resolves.toMatchObject({ records: 0, refused: { 401: expect.any(Number) } });
  }, 120_000);
});
