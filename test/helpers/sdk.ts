/**
 * A real receiver (on a fresh database of the test server) and an SDK pointed at it, for the SDK suites.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createKey } from '../../receiver/auth/keys.js';
import { createTestDatabase, testServerUrl } from './backends.js';
import { tempDir } from './temp.js';
import { startReceiver, type Receiver } from '../../receiver/serve.js';
import { shutdown, start, type Pipemon, type StartOptions } from '../../sdk/index.js';

export interface Harness {
  receiver: Receiver;
  url: string;
  key: string;
  get(pathname: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startHarness(port = 0): Promise<Harness> {
  const receiver = await startReceiver({ port, databaseUrl: await createTestDatabase(testServerUrl()) });
  const { key } = await createKey(receiver.db, 'acme', ['ingest', 'read']);
  return {
    receiver,
    url: receiver.url,
    key,
    async get(pathname) {
      const response = await fetch(`${receiver.url}${pathname}`, { headers: { authorization: `Bearer ${key}` } });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    close: () => receiver.close(),
  };
}

export interface SuiteHarness {
  readonly url: string;
  readonly key: string;
  readonly receiver: Receiver;
  get(pathname: string): Promise<{ status: number; body: any }>;
  /** Starts the SDK against this receiver, with a fresh spool and quick flushes; `options` override. */
  startSdk(options?: StartOptions): Pipemon;
}

/** One receiver for the calling suite, and the SDK shut down after each of its tests. */
export function useHarness(spoolPrefix: string): SuiteHarness {
  let harness: Harness | undefined;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });
  afterEach(async () => {
    await shutdown(10_000);
  });
  const current = () => {
    if (!harness) throw new Error('the harness starts in beforeAll: use it inside tests');
    return harness;
  };
  return {
    get url() {
      return current().url;
    },
    get key() {
      return current().key;
    },
    get receiver() {
      return current().receiver;
    },
    get: (pathname) => current().get(pathname),
    startSdk: (options = {}) =>
      start({
        endpoint: current().url,
        apiKey: current().key,
        spoolDir: tempDir(spoolPrefix),
        flushMs: 20,
        handleExit: false,
        heartbeatSeconds: 0,
        ...options,
      }),
  };
}
