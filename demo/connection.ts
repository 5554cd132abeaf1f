/**
 * Where the demo sends, and whether it can: the endpoint and key resolve as for any pipeline (sdk/delivery/config.ts:
 * flags, then PIPEMON_* and OTEL_EXPORTER_OTLP_* variables), with one fallback a newcomer needs: the key
 * that `pipemon serve` saved in its data directory. One empty export request then tells "nothing
 * listens there" and "wrong key" apart before anything is sent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { authorizationOf, resolveConfig } from '../sdk/delivery/config.js';

export interface Connection {
  endpoint: string;
  /** Every header the exporters send, Authorization included. */
  headers: Record<string, string>;
  /** The key when the demo chose it (flag, PIPEMON_API_KEY or the saved key), for `pipemon exec` children. */
  apiKey: string | undefined;
  /** Where the key came from, for error messages. */
  keySource: string;
}

/** Configuration the user must fix: the CLI exits 2. */
export class DemoConfigError extends Error {
  override name = 'DemoConfigError';
}

/** The receiver cannot be reached or refuses us: the CLI exits 1. */
export class ReceiverError extends Error {
  override name = 'ReceiverError';
}

export interface ConnectionOptions {
  endpoint?: string;
  key?: string;
  /** Where `pipemon serve` saved its default key (default ./.pipemon). */
  dataDir?: string;
}

const KEY_FILE = 'default-api-key';
const PROBE_TIMEOUT_MS = 5000;

export function resolveConnection(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  let config: ReturnType<typeof resolveConfig>;
  try {
    config = resolveConfig({ endpoint: options.endpoint, apiKey: options.key }, env);
  } catch (error) {
    throw new DemoConfigError((error as Error).message.replace(/^pipemon: /, ''));
  }
  const headers = { ...config.headers };
  if (options.key) return { endpoint: config.endpoint, headers, apiKey: options.key, keySource: '--key' };
  if (env.PIPEMON_API_KEY) return { endpoint: config.endpoint, headers, apiKey: env.PIPEMON_API_KEY, keySource: 'PIPEMON_API_KEY' };
  if (authorizationOf(headers) !== undefined) return { endpoint: config.endpoint, headers, apiKey: undefined, keySource: 'OTEL_EXPORTER_OTLP_HEADERS' };

  const keyFile = path.resolve(options.dataDir ?? './.pipemon', KEY_FILE);
  let key: string;
  try {
    key = fs.readFileSync(keyFile, 'utf8').trim();
  } catch {
    throw new DemoConfigError(
      `no API key: pass --key KEY, set PIPEMON_API_KEY, or start the receiver with "npm start" (pipemon serve), ` +
        `which saves its key in ${keyFile} (use --data-dir if it runs with another one)`,
    );
  }
  if (key === '') throw new DemoConfigError(`${keyFile} is empty: pass --key KEY or set PIPEMON_API_KEY`);
  headers.Authorization = `Bearer ${key}`;
  return { endpoint: config.endpoint, headers, apiKey: key, keySource: keyFile };
}

function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/**
 * An empty OTLP/JSON logs request: the receiver authenticates it and stores nothing. JSON rather than
 * protobuf so that a refusal comes back as a readable message.
 */
export async function checkReceiver(connection: Connection): Promise<void> {
  const { endpoint } = connection;
  let response: Response;
  try {
    response = await fetch(`${endpoint}/v1/logs`, {
      method: 'POST',
      headers: { ...connection.headers, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ReceiverError(
      `cannot reach the receiver at ${endpoint} (${networkCause(error)}): start one with "npm start" (pipemon serve), ` +
        'or point --endpoint or OTEL_EXPORTER_OTLP_ENDPOINT at yours',
    );
  }
  const text = await response.text().catch(() => '');
  let message = text;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    // Not JSON (a proxy's page): show it as it came.
  }
  if (response.status === 401 || response.status === 403) {
    throw new ReceiverError(
      `the receiver at ${endpoint} refused the API key from ${connection.keySource} (HTTP ${response.status}: ${message.trim()}); ` +
        'pass --key KEY or set PIPEMON_API_KEY to a key with the ingest scope ("pipemon keys create --tenant NAME --scopes ingest,read")',
    );
  }
  if (!response.ok) {
    throw new ReceiverError(`the receiver at ${endpoint} answered a test request with HTTP ${response.status}: ${message.trim().slice(0, 300)}`);
  }
}
