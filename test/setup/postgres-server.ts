/**
 * vitest globalSetup: one real PostgreSQL server for the whole run, so that every storage suite runs
 * against the server as well as the embedded database. Tests read its URL with inject('databaseUrl').
 *
 * Without the server binaries: in CI that is a broken runner and fails the run; on a developer's machine
 * the server tests are skipped with a loud warning, and the embedded-database tests still run.
 */
import type { TestProject } from 'vitest/node';
import { findPostgresBin, INSTALL_HINT, startPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared test server's database, or null when no server could be started outside CI. */
    databaseUrl: string | null;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  if (!findPostgresBin()) {
    if (process.env.CI) throw new Error(`CI is set and the PostgreSQL server binaries are missing: ${INSTALL_HINT}`);
    const line = '!'.repeat(100);
    console.warn(
      `\n${line}\n  PostgreSQL server binaries not found: tests against a PostgreSQL server are SKIPPED.\n` +
        `  To run them, ${INSTALL_HINT}.\n${line}\n`,
    );
    project.provide('databaseUrl', null);
    return;
  }
  const server = await startPostgres();
  project.provide('databaseUrl', server.url);
  return () => server.destroy();
}
