/**
 * vitest globalSetup: the PostgreSQL servers every storage suite runs against, for the whole run. Tests
 * read them with inject('databaseServers').
 *
 * The npm package's server (what `npm start` runs) always; Debian's as well where it is installed. Without
 * Debian's: in CI that is a broken runner and fails the run; on a developer's machine its tests are
 * skipped with a loud warning.
 */
import type { TestProject } from 'vitest/node';
import { DEBIAN_HINT, debianBinaries, serverVersion, startPostgres, type PostgresServer } from '../../harness/postgres.js';

export interface DatabaseServer {
  /** 'PostgreSQL 18.4 (npm)', 'PostgreSQL 15.18 (Debian)' */
  name: string;
  /** A superuser's URL of the server's database `pipemon`. */
  url: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseServers: DatabaseServer[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: PostgresServer[] = [];
  const servers: DatabaseServer[] = [];
  const add = async (label: string, server: PostgresServer) => {
    started.push(server);
    servers.push({ name: `PostgreSQL ${await serverVersion(server.url)} (${label})`, url: server.url });
  };
  try {
    await add('npm', await startPostgres());
    const debian = debianBinaries();
    if (debian) {
      await add('Debian', await startPostgres(debian));
    } else if (process.env.CI) {
      throw new Error(`CI is set and Debian's PostgreSQL server is missing: ${DEBIAN_HINT}`);
    } else {
      const line = '!'.repeat(100);
      console.warn(`\n${line}\n  Debian's PostgreSQL server not found: tests against PostgreSQL 15 are SKIPPED.\n  To run them, ${DEBIAN_HINT}.\n${line}\n`);
    }
  } catch (err) {
    await Promise.all(started.map((server) => server.destroy()));
    throw err;
  }
  project.provide('databaseServers', servers);
  return async () => {
    await Promise.all(started.map((server) => server.destroy()));
  };
}
