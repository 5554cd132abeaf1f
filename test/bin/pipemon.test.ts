import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/async.js';
import { backends } from '../helpers/backends.js';
import { GRPC_STATUS } from '../../receiver/model/outcome.js';
import { grpcClient } from '../helpers/grpc.js';
import { listenOnLoopback } from '../helpers/net.js';
import { CLI, spawnPipemon, tempDataDir } from '../helpers/pipemon-process.js';
import { logsRequest } from '../helpers/receiver.js';
import { repoPath } from '../helpers/repo.js';
import { tempDir } from '../helpers/temp.js';

const run = promisify(execFile);

async function pipemon(args: string[], env: Record<string, string | undefined>) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test does)`);
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe.each(backends())('pipemon keys on $name', (backend) => {
  it('creates a key shown once, lists it without the secret, and revokes it', async () => {
    const dataDir = tempDir('pipemon-cli-');
    const env = { DATABASE_URL: await backend.databaseUrl() };
    const storage = ['--data-dir', dataDir];

    const created = await pipemon(['keys', 'create', '--tenant', 'analytics', '--scopes', 'ingest,read', ...storage], env);
    expect(created.code).toBe(0);
    const key = /pm_\d+_([0-9a-f]{12})_[0-9a-f]{64}/.exec(created.stdout);
    expect(key).not.toBeNull();
    const keyId = key![1]!;

    const listed = await pipemon(['keys', 'list', ...storage], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${keyId}\\tanalytics\\tingest,read\\t\\S+\\t-`));
    expect(listed.stdout).not.toContain(key![0]);

    expect((await pipemon(['keys', 'revoke', keyId, ...storage], env)).code).toBe(0);
    expect((await pipemon(['keys', 'list', ...storage], env)).stdout).not.toMatch(new RegExp(`${keyId}\\t.*\\t-\\n`));

    const unknown = await pipemon(['keys', 'revoke', 'nope', ...storage], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no key with id "nope"/);
  });

  it('refuses unknown scopes and commands with usage and exit code 2', async () => {
    const env = { DATABASE_URL: await backend.databaseUrl() };
    const dataDir = tempDir('pipemon-cli-');
    const bad = await pipemon(['keys', 'create', '--tenant', 'x', '--scopes', 'root', '--data-dir', dataDir], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--scopes must list some of ingest, read, admin/);
    const unknown = await pipemon(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/usage:/);
  });
});

describe('pipemon serve on its embedded server', () => {
  it('prints a read-only connection string that works, lets keys run beside it, and refuses a second serve', async () => {
    const dataDir = tempDataDir();
    const serve = await spawnPipemon(dataDir, undefined);
    const readonly = /Read-only connection for Grafana's PostgreSQL datasource and psql: (postgres:\/\/pipemon_reader:\S+)/.exec(serve.output());
    expect(readonly, serve.output()).not.toBeNull();
    const { reader } = JSON.parse(readFileSync(path.join(dataDir, 'server.json'), 'utf8'));
    expect(readonly![1]).toContain(`:${reader.password}@127.0.0.1:`);
    const client = new pg.Client({ connectionString: readonly![1] });
    await client.connect();
    try {
      expect((await client.query('SELECT name FROM tenants')).rows).toEqual([{ name: 'default' }]);
    } finally {
      await client.end();
    }

    const env = { DATABASE_URL: '' };
    const created = await pipemon(['keys', 'create', '--tenant', 'beside', '--scopes', 'ingest,read', '--data-dir', dataDir], env);
    expect(created.code, created.stderr).toBe(0);
    const key = /pm_\d+_[0-9a-f]{12}_[0-9a-f]{64}/.exec(created.stdout)![0];
    // The running receiver sees the key at once: one server, two processes.
    const response = await fetch(`${serve.url}/api/v1/runs`, { headers: { 'x-api-key': key } });
    expect(response.status).toBe(200);

    const second = await pipemon(['serve', '--port', '0', '--grpc-port', '0', '--data-dir', dataDir], env);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`${dataDir} is in use by pipemon process ${serve.child.pid}: stop that pipemon first`);
    // The refused start changed nothing for the running one.
    expect((await fetch(`${serve.url}/readyz`)).status).toBe(200);
  });
});

describe.each(backends())('pipemon serve over OTLP/gRPC on $name', (backend) => {
  it('prints the gRPC endpoint and the SDK settings for it, and takes exports there', async () => {
    const serve = await spawnPipemon(tempDataDir(), await backend.databaseUrl());
    const endpoint = new URL(serve.grpcEndpoint);
    expect(endpoint.hostname).toBe('127.0.0.1');
    expect(endpoint.port).not.toBe('4317');
    await until(() => serve.output().includes('PROTOCOL=grpc'), 'the settings are printed');
    expect(serve.output()).toContain(`export OTEL_EXPORTER_OTLP_ENDPOINT=${serve.grpcEndpoint}\n  export OTEL_EXPORTER_OTLP_PROTOCOL=grpc\n`);
    expect(serve.output()).toContain(`export OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer ${serve.key}"`);
    const client = grpcClient(endpoint.host);
    try {
      const answer = await client.call('logs', logsRequest([{ body: 'over gRPC from the CLI' }]), { key: serve.key });
      expect(answer.code, answer.details).toBe(GRPC_STATUS.OK);
    } finally {
      client.close();
    }
  });
});

describe('pipemon serve', () => {
  it('refuses settings that could never work, before opening anything', async () => {
    const retention = await pipemon(['serve', '--retention-days', '0'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(retention.code).toBe(1);
    expect(retention.stderr).toMatch(/retention must be at least 1 day/);
    const budget = await pipemon(['serve', '--max-queue-bytes', '1000'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(budget.stderr).toMatch(/smaller than the body limit.*raise --max-queue-bytes/);
    const readLimit = await pipemon(['serve', '--read-timeout-ms', '0'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(readLimit.code).toBe(1);
    expect(readLimit.stderr).toMatch(/the read time limit \(--read-timeout-ms\) must be .* at least 1, got 0/);
  });

  it('refuses --metrics-host without --metrics-port', async () => {
    const result = await pipemon(['serve', '--metrics-host', '0.0.0.0'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--metrics-host needs --metrics-port/);
  });

  it('explains an unreachable DATABASE_URL and exits 1 instead of hanging', async () => {
    const result = await pipemon(['serve', '--port', '0', '--grpc-port', '0'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DATABASE_URL unreachable at 127\.0\.0\.1:1.*unset DATABASE_URL/);
  });
});

describe('every pipemon command explains itself', () => {
  const noDatabase = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
  const manifest = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };

  it('answers --help, -h, help and no command with the commands, and --version with the version', async () => {
    for (const args of [[], ['--help'], ['-h'], ['help']]) {
      const result = await pipemon(args, noDatabase);
      expect(result.code, args.join(' ')).toBe(0);
      for (const command of ['serve', 'exec', 'demo', 'keys', 'flush', 'move-pglite']) expect(result.stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    }
    for (const flag of ['--version', '-V', 'version']) expect((await pipemon([flag], noDatabase)).stdout.trim()).toBe(manifest.version);
    const extra = await pipemon(['--version', 'extra'], noDatabase);
    expect([extra.code, extra.stderr]).toEqual([2, expect.stringContaining('pipemon: --version takes no arguments, got "extra"')]);
  });

  it.each(['serve', 'exec', 'demo', 'keys', 'flush', 'move-pglite'])('answers "%s --help" and "help %s" with its usage, exit 0, touching nothing', async (command) => {
    const dataDir = path.join(tempDir('pipemon-cli-'), 'data');
    const storage = ['serve', 'keys', 'move-pglite', 'demo'].includes(command) ? ['--data-dir', dataDir] : [];
    for (const args of [[command, '--help', ...storage], [command, '-h', ...storage], ['help', command]]) {
      const result = await pipemon(args, noDatabase);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stdout).toContain(`pipemon ${command}`);
      expect(result.stderr).toBe('');
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each([
    [['serve', '--prot', '4318'], /unknown option "--prot"/],
    [['keys', 'list', '--tenat', 'x'], /unknown option "--tenat"/],
    [['move-pglite', '--data-dri', 'x'], /unknown option "--data-dri"/],
    [['demo', '--dayz', '1'], /unknown option "--dayz"/],
    [['exec', '--pipelin', 'x', '--', 'true'], /unknown option "--pipelin"/],
    [['demo', '--seed'], /--seed needs a value/],
    [['keys', 'list', 'extra'], /keys list: unexpected argument "extra"/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('refuses %j with exit 2 and the usage', async (args, message) => {
    const result = await pipemon(args, noDatabase);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/usage/);
  });

  it('exec with a typo sends nothing and spools nothing: no pipeline is named after the typo', async () => {
    const spool = path.join(tempDir('pipemon-cli-'), 'spool');
    const requests: string[] = [];
    const receiver = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end();
    });
    const port = await listenOnLoopback(receiver);
    try {
      const env = { PIPEMON_ENDPOINT: `http://127.0.0.1:${port}`, PIPEMON_SPOOL_DIR: spool };
      for (const args of [['exec', '--help'], ['exec', '--pipelin', 'x', '--', 'true'], ['exec', '-x', 'true']]) {
        const result = await pipemon(args, env);
        expect(result.code, args.join(' ')).toBe(args.includes('--help') ? 0 : 2);
      }
      expect(requests).toEqual([]);
      expect(existsSync(spool)).toBe(false);
    } finally {
      receiver.close();
    }
  });
});

describe.each(backends())('pipemon keys create on $name', (backend) => {
  it('needs --scopes, creating nothing without it, and says when it creates a tenant', async () => {
    const env = { DATABASE_URL: await backend.databaseUrl() };
    const storage = ['--data-dir', tempDir('pipemon-cli-')];
    const tenant = `t${Date.now().toString(36)}`;
    const missing = await pipemon(['keys', 'create', '--tenant', tenant, ...storage], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/keys create needs --scopes/);
    expect((await pipemon(['keys', 'list', ...storage], env)).stdout).not.toContain(`\t${tenant}\t`);

    const first = await pipemon(['keys', 'create', '--tenant', tenant, '--scopes', 'ingest', ...storage], env);
    expect(first.stdout).toContain(`Created tenant "${tenant}".`);
    const second = await pipemon(['keys', 'create', '--tenant', tenant, '--scopes', 'read', ...storage], env);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('Created tenant');
  });
});

describe('pipemon serve and its key', () => {
  it('finds a taken port before it creates anything, without grpc-js noise; a later start says where the key is', async () => {
    const dataDir = tempDataDir();
    const held = createServer();
    const taken = String(await listenOnLoopback(held));
    try {
      for (const [flags, named] of [[['--port', taken, '--grpc-port', '0'], '--port'], [['--port', '0', '--grpc-port', taken], '--grpc-port']] as const) {
        const refused = await pipemon(['serve', ...flags, '--data-dir', dataDir], { DATABASE_URL: '' });
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`port ${taken} on 127.0.0.1 is already in use: stop the other process or pass ${named}\n`);
        expect(refused.stderr).not.toMatch(/No address added/);
        expect(readdirSync(dataDir)).toEqual([]);
      }
    } finally {
      held.close();
    }

    const first = await spawnPipemon(dataDir, undefined);
    expect(first.output()).toContain(`${first.url}/#key=${encodeURIComponent(first.key)}`);
    first.child.kill('SIGTERM');
    await first.exited;
    const later = await spawnPipemon(dataDir, undefined);
    await until(() => later.output().includes('PIPEMON_API_KEY'), 'the key is explained');
    expect(later.output()).toContain(`The API key made on first start is in ${path.join(dataDir, 'default-api-key')}`);
    expect(later.output()).toContain(`export PIPEMON_API_KEY=$(cat ${path.join(dataDir, 'default-api-key')})`);
    // Only the first start shows the key itself.
    expect(later.output()).not.toContain(later.key);
  });
});

describe('pipemon keys outside a receiver', () => {
  it('refuses a folder without a pipemon database instead of starting a new, empty one there', async () => {
    const dataDir = path.join(tempDir('pipemon-cli-'), '.pipemon');
    const result = await pipemon(['keys', 'create', '--tenant', 'x', '--scopes', 'ingest', '--data-dir', dataDir], { DATABASE_URL: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no pipemon database in ${dataDir}: run pipemon keys in the folder where pipemon serve runs`);
    expect(existsSync(dataDir)).toBe(false);
  });
});
