/**
 * A real, throwaway PostgreSQL server for tests: initdb into a temporary directory, listen on
 * 127.0.0.1 at a free port, and remove it all at the end. The suite's shared server (globalSetup) is
 * one; a test that stops and restarts the database starts its own.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

export const INSTALL_HINT =
  'install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql), ' +
  'or put the directory holding initdb, pg_ctl and postgres on PATH';

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/pipemon */
  url: string;
  /** Fast shutdown: open sessions are terminated, as when an operator stops the server. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  destroy(): Promise<void>;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The directory with initdb, pg_ctl and postgres: from PATH, else Debian's /usr/lib/postgresql/<ver>/bin. */
export function findPostgresBin(): string | null {
  const candidates = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  // Debian keeps the server binaries off PATH, one directory per major version: newest first.
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs.readdirSync(debian).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => path.join(debian, version, 'bin')));
  }
  for (const dir of candidates) {
    const initdb = path.join(dir, 'initdb');
    if (!isExecutable(initdb)) continue;
    // A symlink on PATH (/usr/local/bin/initdb) leads to the directory that also holds pg_ctl and postgres.
    const real = path.dirname(fs.realpathSync(initdb));
    if (isExecutable(path.join(real, 'pg_ctl')) && isExecutable(path.join(real, 'postgres'))) return real;
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// Servers still running when the process exits (a crashed or interrupted run) are stopped, so that no
// postgres outlives the tests.
const running = new Map<string, () => void>();
let exitHookInstalled = false;
function stopAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const stopNow of running.values()) stopNow();
  });
}

async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

/** Starts a fresh server with a database `pipemon`; throws with INSTALL_HINT when the binaries are missing. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(`PostgreSQL server binaries not found: ${INSTALL_HINT}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'postgres.log');
  // PostgreSQL refuses to run as root: as root (CI containers), run it as the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    let uid: number;
    let gid: number;
    try {
      uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    } catch {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error('running as root, and PostgreSQL needs an unprivileged "postgres" user: create one (useradd postgres) or run as another user');
    }
    fs.chownSync(dir, uid, gid);
  }
  const command = (program: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, program), ...args]] : [path.join(bin, program), args];
  const run = async (program: string, args: string[]) => {
    const [file, argv] = command(program, args);
    try {
      await execFileAsync(file, argv, { encoding: 'utf8' });
    } catch (err) {
      const logTail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
      const { stderr } = err as { stderr?: string };
      throw new Error(`${program} ${args.join(' ')} failed: ${stderr || (err as Error).message}\n${logTail}`, { cause: err });
    }
  };

  let port = 0;
  let up = false;
  const start = async () => {
    await run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', 'start']);
    up = true;
  };
  const stop = async () => {
    if (!up) return;
    await run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    up = false;
  };
  const destroy = async () => {
    try {
      await stop();
    } finally {
      running.delete(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
    running.set(dir, () => {
      if (!up) return;
      const [file, argv] = command('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      execFileSync(file, argv, { stdio: 'ignore' });
    });
    stopAllOnExit();
    // In the configuration file rather than on pg_ctl's command line (which goes through a shell), so
    // that start() after stop() brings back the same server. Durability is not under test: fsync off.
    const settings = [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 200',
    ];
    fs.appendFileSync(path.join(data, 'postgresql.conf'), `\n${settings.join('\n')}\n`);
    // A port found free can be taken before the server binds it: try another.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      fs.appendFileSync(path.join(data, 'postgresql.conf'), `port = ${port}\n`);
      try {
        await start();
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    await createDatabase(`postgres://postgres@127.0.0.1:${port}/postgres`, 'pipemon');
  } catch (err) {
    await destroy().catch(() => undefined);
    throw err;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/pipemon`, start, stop, destroy };
}
