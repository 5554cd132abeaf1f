/**
 * `pipemon serve` as a separate process, as an operator runs it. Every process started here is stopped
 * after each test (a failed test must not leave a receiver running), and its data directory removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach } from 'vitest';
import { repoPath } from './repo.js';
import { tempDir } from './temp.js';

export const CLI = repoPath('dist/bin/pipemon.js');

export interface PipemonProcess {
  child: ChildProcess;
  url: string;
  /** The OTLP/gRPC endpoint it printed, http://host:port. */
  grpcEndpoint: string;
  key: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

const children: ChildProcess[] = [];
const directories: string[] = [];

const STOP_MS = 30_000;

/**
 * Stops a receiver still running as an operator would (SIGTERM: it stops its embedded PostgreSQL server
 * too), and kills it only when it does not exit in time. A SIGKILL alone would leave that server running,
 * still writing into the data directory as it is removed.
 */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, STOP_MS)))]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

afterEach(async () => {
  await Promise.all(children.splice(0).map(stop));
  for (const dir of directories.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A data directory removed after the test. */
export function tempDataDir(): string {
  const dir = tempDir('pipemon-process-');
  directories.push(dir);
  return dir;
}

/** Starts `pipemon serve --port 0 --grpc-port 0`; resolves once it listens (or rejects with its output when it exits first). */
export async function spawnPipemon(dataDir: string, databaseUrl: string | undefined): Promise<PipemonProcess> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build; npm test does it)`);
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--grpc-port', '0', '--data-dir', dataDir], {
    // An empty DATABASE_URL selects the embedded server, whatever the environment running the tests holds.
    env: { ...process.env, DATABASE_URL: databaseUrl ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const [url, grpcEndpoint] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pipemon did not start within 60 s:\n${output}`)), 60_000);
    const onData = () => {
      const match = /listening on (http:\/\/\S+) .*OTLP\/gRPC on (http:\/\/[^\s,]+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve([match[1]!, match[2]!]);
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`pipemon exited (${signal ?? code}) before listening:\n${output}`));
    });
  });
  // The first start on an empty database saves the default key before it listens.
  const key = fs.readFileSync(path.join(dataDir, 'default-api-key'), 'utf8').trim();
  return { child, url, grpcEndpoint, key, exited, output: () => output };
}
