/**
 * Real, throwaway PostgreSQL servers for tests, started by the same code that runs pipemon's embedded
 * server (receiver/storage/embedded-server.ts), into a temporary directory, listening on 127.0.0.1 at a
 * free port, with fsync off (durability is not what these servers are for). Two installations:
 * the npm package's (what `npm start` runs, PostgreSQL 18) and Debian's (PostgreSQL 15, the oldest
 * version users run).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { npmBinaries, startEmbeddedServer, type EmbeddedServer, type PostgresBinaries } from '../receiver/storage/embedded-server.js';

export const DEBIAN_HINT = 'install Debian\'s PostgreSQL server (apt-get install postgresql; .ci/run does it)';

export interface PostgresServer {
  /** postgres://pipemon:…@127.0.0.1:<port>/pipemon, as a superuser */
  url: string;
  /** The postmaster's pid, while it runs. */
  pid(): number | undefined;
  /** Fast shutdown: open sessions are terminated, as when an operator stops the server. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  destroy(): Promise<void>;
}

/** Debian's server binaries, newest version first (Debian keeps them off PATH), or null when not installed. */
export function debianBinaries(): PostgresBinaries | null {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs.readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = path.join(root, version, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'postgres'))) {
      return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
    }
  }
  return null;
}

const TEST_SETTINGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'max_connections=300'];

/** Starts a fresh server with a database `pipemon`: the npm package's unless other binaries are given. */
export async function startPostgres(binaries?: PostgresBinaries): Promise<PostgresServer> {
  const chosen = binaries ?? (await npmBinaries());
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-pg-'));
  const open = () => startEmbeddedServer({ dataDir, binaries: chosen, settings: TEST_SETTINGS });
  let server: EmbeddedServer | undefined;
  try {
    server = await open();
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const url = server.url;
  return {
    url,
    pid: () => server?.pid(),
    async stop() {
      await server?.stop();
      server = undefined;
    },
    async start() {
      server ??= await open();
    },
    async destroy() {
      try {
        await server?.stop();
      } finally {
        server = undefined;
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** The server's version as PostgreSQL reports it (`18.4`, `15.18`). */
export async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]!.server_version.split(' ')[0]!;
  } finally {
    await client.end();
  }
}
