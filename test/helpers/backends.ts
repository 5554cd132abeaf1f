/**
 * The PostgreSQL servers every storage-touching suite runs against, as a shared contract:
 * `describe.each(backends())('... on $name', (backend) => ...)`. They come from globalSetup
 * (test/setup/postgres-server.ts): the npm package's server, and Debian's where installed.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject, onTestFinished } from 'vitest';
import type { Database } from '../../receiver/storage/database.js';
import { openDatabase } from '../../receiver/storage/open.js';

export interface Backend {
  name: string;
  /** A fresh, migrated, empty database. */
  open(): Promise<Database>;
  /** The URL of a fresh, empty database (not migrated). */
  databaseUrl(): Promise<string>;
}

let created = 0;
// Several test processes share the servers: a random part keeps their database names apart.
const runId = randomBytes(3).toString('hex');

/** CREATE DATABASE pipemon_test_<run>_<n> on the test server; returns its URL (not migrated). */
export async function createTestDatabase(serverUrl: string): Promise<string> {
  const name = `pipemon_test_${runId}_${++created}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export function backends(): Backend[] {
  return inject('databaseServers').map((server) => ({
    name: server.name,
    open: async () => openDatabase({ databaseUrl: await createTestDatabase(server.url) }),
    databaseUrl: () => createTestDatabase(server.url),
  }));
}

/**
 * A fresh, migrated database on `backend` for the tests of the enclosing describe: opened before them and
 * closed after. It is handed out before it opens (describe bodies run first), so it forwards to it.
 */
export function databaseFor(backend: Backend): Database {
  let opened: Database | undefined;
  beforeAll(async () => {
    opened = await backend.open();
  });
  afterAll(async () => {
    await opened?.close();
  });
  const current = (): Database => {
    if (!opened) throw new Error('the database opens in beforeAll: use it inside a test or hook, not in a describe body');
    return opened;
  };
  return {
    query: <R>(sql: string, params?: readonly unknown[]) => current().query<R>(sql, params),
    reads: { query: <R>(sql: string, params?: readonly unknown[]) => current().reads.query<R>(sql, params) },
    transaction: (fn) => current().transaction(fn),
    close: () => current().close(),
    get description() {
      return current().description;
    },
    get writeConcurrency() {
      return current().writeConcurrency;
    },
  };
}

/** A fresh, migrated database on `backend` for the calling test alone: closed when the test finishes. */
export async function freshDatabase(backend: Backend): Promise<Database> {
  const db = await backend.open();
  onTestFinished(() => db.close());
  return db;
}

/** The npm package's server: for tests that need one server, not each. */
export function testServerUrl(): string {
  return inject('databaseServers')[0]!.url;
}
