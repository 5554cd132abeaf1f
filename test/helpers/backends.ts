/**
 * The storage backends every storage-touching suite runs against, as a shared contract:
 * `describe.each(backends())('... on $name', (backend) => ...)`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { Database } from '../../receiver/storage/database.js';
import { openDatabase } from '../../receiver/storage/open.js';

export interface Backend {
  name: string;
  /** True for the PostgreSQL server: what needs several connections (races) only runs there. */
  server: boolean;
  /** A fresh, migrated, empty database. */
  open(): Promise<Database>;
  /** The databaseUrl option for a fresh database: an empty one on the server, undefined (in memory) for PGlite. */
  databaseUrl(): Promise<string | undefined>;
}

let created = 0;
// Several test processes share the server: a random part keeps their database names apart.
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

let warned = false;

export function backends(): Backend[] {
  const list: Backend[] = [
    {
      name: 'embedded (PGlite)',
      server: false,
      open: () => openDatabase({}),
      databaseUrl: async () => undefined,
    },
  ];
  const serverUrl = inject('databaseUrl');
  if (serverUrl) {
    list.push({
      name: 'PostgreSQL server',
      server: true,
      open: async () => openDatabase({ databaseUrl: await createTestDatabase(serverUrl) }),
      databaseUrl: () => createTestDatabase(serverUrl),
    });
  } else if (!warned) {
    warned = true;
    console.warn('!!! No PostgreSQL server (see the warning at the start of the run): server-database tests are SKIPPED.');
  }
  return list;
}
