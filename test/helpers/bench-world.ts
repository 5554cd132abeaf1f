/**
 * bench:query's world at a tiny size for a suite: a test database filled through the write path
 * (bench/query-load.ts), analyzed, with a receiver on it; opened before the suite's tests and closed after.
 */
import { afterAll, beforeAll } from 'vitest';
import { load, type Loaded } from '../../bench/query-load.js';
import { startReceiver, type Receiver } from '../../receiver/serve.js';
import type { Database } from '../../receiver/storage/database.js';
import { openDatabase } from '../../receiver/storage/open.js';
import { createTestDatabase } from './backends.js';

export interface BenchWorld {
  db: Database;
  receiver: Receiver;
  loaded: Loaded;
  /** The time the records were generated up to. */
  nowMs: number;
}

/**
 * The world of `records` records on `serverUrl`'s server, made in a beforeAll: a suite's own beforeAll
 * registered after this call may read it.
 */
export function benchWorld(serverUrl: string, records: number): () => BenchWorld {
  let world: BenchWorld | undefined;
  let db: Database | undefined;
  let receiver: Receiver | undefined;
  beforeAll(async () => {
    const databaseUrl = await createTestDatabase(serverUrl);
    db = await openDatabase({ databaseUrl });
    const nowMs = Date.now();
    const loaded = await load(db, records, nowMs);
    await db.query('VACUUM ANALYZE');
    receiver = await startReceiver({ port: 0, databaseUrl });
    world = { db, receiver, loaded, nowMs };
  });
  afterAll(async () => {
    await receiver?.close();
    await db?.close();
  });
  return () => {
    if (!world) throw new Error('the bench world is made in beforeAll: read it in a test or a later hook');
    return world;
  };
}
