#!/usr/bin/env node
/**
 * The pipemon command: `serve` runs the receiver, `keys` manages API keys, `exec` runs a command as a
 * monitored run, `demo` feeds a receiver realistic pipelines, `move-pglite` moves an earlier pipemon's
 * database into the embedded server.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createKey, isScope, listKeys, revokeKey, SCOPES } from '../receiver/keys.js';
import { GRPC_DEFAULT_PORT, startReceiver } from '../receiver/serve.js';
import { movePglite } from '../receiver/storage/move-pglite.js';
import { openDatabase } from '../receiver/storage/open.js';
import { demoCli, DEMO_USAGE } from '../demo/cli.js';
import { execCli, EXEC_USAGE } from '../sdk/exec.js';

const USAGE = `usage:
  pipemon serve [--port 4318] [--grpc-port 4317] [--host 127.0.0.1] [--data-dir ./.pipemon]
                [--retention-days 30] [--max-body-bytes N] [--max-queue-bytes N]
                [--metrics-port N [--metrics-host HOST]]
  pipemon keys create --tenant NAME --scopes ingest,read
  pipemon keys list
  pipemon keys revoke KEY_ID
  pipemon move-pglite [--data-dir ./.pipemon]
${EXEC_USAGE}
${DEMO_USAGE}

Storage: PostgreSQL at $DATABASE_URL when set, else the embedded PostgreSQL server that pipemon runs
with its data in --data-dir (keys works beside a running serve).`;

class UsageError extends Error {}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

const STORAGE_OPTIONS = { 'data-dir': { type: 'string', default: './.pipemon' } } as const;

function storage(values: { 'data-dir': string }) {
  return { databaseUrl: process.env.DATABASE_URL || undefined, dataDir: path.resolve(values['data-dir']) };
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...STORAGE_OPTIONS,
      port: { type: 'string' },
      'grpc-port': { type: 'string' },
      host: { type: 'string' },
      'retention-days': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'max-queue-bytes': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
    },
  });
  if (values['metrics-host'] !== undefined && values['metrics-port'] === undefined) {
    throw new UsageError('--metrics-host needs --metrics-port (without it, /metrics is served on --port)');
  }
  const options = {
    ...storage(values),
    host: values.host,
    port: integer('port', values.port),
    grpcPort: integer('grpc-port', values['grpc-port']) ?? GRPC_DEFAULT_PORT,
    retentionDays: integer('retention-days', values['retention-days']),
    maxBodyBytes: integer('max-body-bytes', values['max-body-bytes']),
    maxQueueBytes: integer('max-queue-bytes', values['max-queue-bytes']),
    metricsPort: integer('metrics-port', values['metrics-port']),
    metricsHost: values['metrics-host'],
  };
  const receiver = await startReceiver(options);
  const grpcEndpoint = `http://${receiver.grpcAddress}`;
  const lines = [
    `pipemon receiver listening on ${receiver.url} (${receiver.db.description}), OTLP/gRPC on ${grpcEndpoint}, metrics on ${receiver.metricsUrl}`,
    `Web view: ${receiver.url}/`,
  ];
  if (receiver.db.readonlyUrl) lines.push(`Read-only connection for Grafana's PostgreSQL datasource and psql: ${receiver.db.readonlyUrl}`);
  // One write, so that whoever waits for the first line has the second too.
  console.log(lines.join('\n'));
  if (receiver.defaultKey) {
    console.log(`
Created tenant "default" with an ingest+read API key (saved in ${path.join(options.dataDir, 'default-api-key')}):

  ${receiver.defaultKey}

Open the web view with this key (it is in the link's #fragment, which the browser keeps and never sends):

  ${webViewLink(receiver.url, receiver.defaultKey)}

Point any OpenTelemetry SDK or Collector at this receiver with:

  export OTEL_EXPORTER_OTLP_ENDPOINT=${receiver.url}
  export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
  export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer ${receiver.defaultKey}"

or over OTLP/gRPC (gRPC metadata keys are lower case):

  export OTEL_EXPORTER_OTLP_ENDPOINT=${grpcEndpoint}
  export OTEL_EXPORTER_OTLP_PROTOCOL=grpc
  export OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer ${receiver.defaultKey}"
`);
  }
  const stop = (signal: string) => {
    console.log(`pipemon: ${signal}: finishing accepted requests, then exiting`);
    receiver.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`pipemon: shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function keys(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { ...STORAGE_OPTIONS, tenant: { type: 'string' }, scopes: { type: 'string', default: 'ingest,read' } },
  });
  // Beside a running pipemon serve, connect to the server it runs.
  const db = await openDatabase({ ...storage(values), whenInUse: 'connect' });
  try {
    if (action === 'create') {
      if (!values.tenant) throw new UsageError('keys create needs --tenant NAME');
      const scopes = values.scopes.split(',').map((s) => s.trim()).filter(Boolean);
      if (scopes.length === 0 || !scopes.every(isScope)) {
        throw new UsageError(`--scopes must list some of ${SCOPES.join(', ')}, got "${values.scopes}"`);
      }
      const created = await createKey(db, values.tenant, scopes);
      console.log(`Key ${created.keyId} for tenant "${values.tenant}" (scopes ${scopes.join(',')}). It is shown only once:\n\n  ${created.key}\n`);
    } else if (action === 'list') {
      const rows = await listKeys(db);
      console.log(['KEY ID', 'TENANT', 'SCOPES', 'CREATED', 'REVOKED'].join('\t'));
      for (const key of rows) {
        console.log([key.keyId, key.tenant, key.scopes.join(','), iso(key.createdAt), key.revokedAt ? iso(key.revokedAt) : '-'].join('\t'));
      }
    } else if (action === 'revoke') {
      const id = positionals[0];
      if (!id) throw new UsageError('keys revoke needs a KEY_ID (see pipemon keys list)');
      if (!(await revokeKey(db, id))) throw new UsageError(`no key with id "${id}" (see pipemon keys list)`);
      console.log(`Key ${id} revoked.`);
    } else {
      throw new UsageError(`unknown keys action "${action ?? ''}"`);
    }
  } finally {
    await db.close();
  }
}

async function movePgliteCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: STORAGE_OPTIONS });
  const dataDir = path.resolve(values['data-dir']);
  console.log(`Moving the PGlite database in ${dataDir} into the embedded PostgreSQL server...`);
  const moved = await movePglite(dataDir);
  for (const [table, rows] of Object.entries(moved.rows)) console.log(`  ${table}: ${rows} rows`);
  console.log(`Done. The old files are kept in ${moved.keptAt}: delete them once pipemon serve shows your data.`);
}

/** The first-start link: the key rides in the fragment, which the page stores and then removes from the address bar. */
function webViewLink(url: string, key: string): string {
  return `${url}/#key=${encodeURIComponent(key)}`;
}

function iso(value: Date | string): string {
  return new Date(value).toISOString();
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'serve') return serve(args);
  if (command === 'keys') return keys(args);
  if (command === 'exec') process.exit(await execCli(args));
  if (command === 'demo') process.exit(await demoCli(args));
  if (command === 'move-pglite') return movePgliteCommand(args);
  if (command === undefined || command === 'help' || command === '--help') {
    console.log(USAGE);
    return;
  }
  throw new UsageError(`unknown command "${command}"`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    console.error(`pipemon: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.error(`pipemon: ${(error as Error).message}`);
  process.exit(1);
});
