/** `pipemon serve`: the receiver, with what a user needs to reach it printed on every start. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { DEFAULT_KEY_FILE } from '../receiver/auth/keys.js';
import { GRPC_DEFAULT_PORT, startReceiver, type Receiver } from '../receiver/serve.js';
import { shellWord } from '../sdk/delivery/delivery-report.js';
import { HELP, integerOption, parseCommand, printUsage, UsageError, type Command } from './command.js';
import { STORAGE_OPTIONS, storage } from './storage.js';

const USAGE = `  pipemon serve [--port 4318] [--grpc-port 4317] [--host 127.0.0.1] [--data-dir ./.pipemon]
                [--retention-days 30] [--max-body-bytes N] [--max-queue-bytes N]
                [--read-timeout-ms 5000] [--metrics-port N [--metrics-host HOST]]
                runs the receiver: OTLP over HTTP (--port) and gRPC (--grpc-port), the API and the web
                view, storing in PostgreSQL at $DATABASE_URL when set, else in the embedded PostgreSQL
                server it runs with its data in --data-dir. --read-timeout-ms: PostgreSQL cancels a read
                (API query, metrics scrape) that runs longer. --metrics-port serves /metrics apart`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the receiver, the API and the web view',
  usage: USAGE,
  async run(args) {
    const { values } = parseCommand(() => parseArgs({ args, strict: true, options: {
      ...HELP,
      ...STORAGE_OPTIONS,
      port: { type: 'string' },
      'grpc-port': { type: 'string' },
      host: { type: 'string' },
      'retention-days': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'max-queue-bytes': { type: 'string' },
      'read-timeout-ms': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
    } }));
    if (values.help) return printUsage(USAGE);
    if (values['metrics-host'] !== undefined && values['metrics-port'] === undefined) {
      throw new UsageError('--metrics-host needs --metrics-port (without it, /metrics is served on --port)');
    }
    const options = {
      ...storage(values['data-dir']),
      host: values.host,
      port: integerOption('port', values.port),
      grpcPort: integerOption('grpc-port', values['grpc-port']) ?? GRPC_DEFAULT_PORT,
      retentionDays: integerOption('retention-days', values['retention-days']),
      maxBodyBytes: integerOption('max-body-bytes', values['max-body-bytes']),
      maxQueueBytes: integerOption('max-queue-bytes', values['max-queue-bytes']),
      readTimeoutMs: integerOption('read-timeout-ms', values['read-timeout-ms']),
      metricsPort: integerOption('metrics-port', values['metrics-port']),
      metricsHost: values['metrics-host'],
    };
    const receiver = await startReceiver(options);
    // One write, so that whoever waits for the first line has the rest too.
    console.log(startMessage(receiver, options.dataDir));
    stopOnSignals(receiver);
    return undefined;
  },
};

function startMessage(receiver: Receiver, dataDir: string): string {
  const grpcEndpoint = `http://${receiver.grpcAddress}`;
  const lines = [
    `pipemon receiver listening on ${receiver.url} (${receiver.db.description}), OTLP/gRPC on ${grpcEndpoint}, metrics on ${receiver.metricsUrl}`,
    `Web view: ${receiver.url}/`,
  ];
  if (receiver.db.readonlyUrl) lines.push(`Read-only connection for Grafana's PostgreSQL datasource and psql: ${receiver.db.readonlyUrl}`);
  const keyFile = path.join(dataDir, DEFAULT_KEY_FILE);
  lines.push(receiver.defaultKey ? firstStart(receiver, receiver.defaultKey, keyFile, grpcEndpoint) : laterStart(receiver, keyFile));
  return lines.join('\n');
}

/** The key exists nowhere else on screen: shown once, with every way to use it. */
function firstStart(receiver: Receiver, key: string, keyFile: string, grpcEndpoint: string): string {
  return `
Created tenant "default" with an ingest+read API key (saved in ${keyFile}):

  ${key}

Open the web view with this key (it is in the link's #fragment, which the browser keeps and never sends):

  ${webViewLink(receiver.url, key)}

Point pipemon exec, the SDK, any OpenTelemetry SDK or Collector at this receiver with:

  export PIPEMON_API_KEY=${key}
  export OTEL_EXPORTER_OTLP_ENDPOINT=${receiver.url}
  export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
  export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer ${key}"

or over OTLP/gRPC (gRPC metadata keys are lower case):

  export OTEL_EXPORTER_OTLP_ENDPOINT=${grpcEndpoint}
  export OTEL_EXPORTER_OTLP_PROTOCOL=grpc
  export OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer ${key}"
`;
}

/** Every later start says where the key is: a command that reads it, not the key itself. */
function laterStart(receiver: Receiver, keyFile: string): string {
  const createOne = 'pipemon keys create --tenant NAME --scopes ingest,read';
  if (!existsSync(keyFile)) {
    return `
No key file in ${path.dirname(keyFile)} (this database's first key was saved by another start). Make a key with:

  ${createOne}
`;
  }
  return `
The API key made on first start is in ${keyFile}. Set it for pipemon exec and the SDK with:

  export PIPEMON_API_KEY=$(cat ${shellWord(keyFile)})

The web view asks for it once: paste it there, or open ${receiver.url}/#key= followed by the key.
Another key: ${createOne}
`;
}

/** The first-start link: the key rides in the fragment, which the page stores and then removes from the address bar. */
function webViewLink(url: string, key: string): string {
  return `${url}/#key=${encodeURIComponent(key)}`;
}


function stopOnSignals(receiver: Receiver): void {
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
