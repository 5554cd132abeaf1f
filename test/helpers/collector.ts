/**
 * The OpenTelemetry Collector built from collector/builder-config.yaml (by collector/build.sh), for
 * tests: runs its `validate` and `print-config` commands, and starts it on 127.0.0.1 with the gateway
 * config (otel-collector.yaml, plus overlays) on free ports, its persistent queues in a temporary
 * directory. A started Collector can be killed with any signal and started again on the same ports and
 * queues, as a supervisor restarts it.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../receiver/storage/embedded-server.js';
import { REPO } from './repo.js';
import { sleep } from './async.js';
import { tempDir } from './temp.js';

export const GATEWAY_CONFIG = path.join(REPO, 'otel-collector.yaml');
const BUILD_SCRIPT = path.join(REPO, 'collector', 'build.sh');

export const COLLECTOR_HINT = 'build the Collector first: collector/build.sh (needs Go 1.21+; about 2.5 minutes once, then cached; .ci/run does it)';

let binary: string | undefined;

/** Where collector/build.sh puts the binary for the current manifest: the script is the one place that computes it. */
export function collectorBinary(): string {
  binary ??= execFileSync('bash', [BUILD_SCRIPT, '--path'], { encoding: 'utf8' }).trim();
  return binary;
}

export function collectorBuilt(): boolean {
  return fs.existsSync(collectorBinary());
}

/** Runs the binary with `args` to completion (validate, print-config): its exit code and output. */
export function runCollectorCommand(args: string[], env: Record<string, string> = {}): { code: number | null; output: string } {
  const result = spawnSync(collectorBinary(), args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw new Error(`running ${collectorBinary()} ${args.join(' ')} failed: ${result.error.message}`);
  return { code: result.status, output: result.stdout + result.stderr };
}

export interface CollectorOptions {
  /** Where otlp_http/pipemon sends (PIPEMON_ENDPOINT). */
  pipemonUrl: string;
  pipemonKey: string;
  /** Config files after otel-collector.yaml (overlays). */
  overlays?: string[];
  /** More environment, e.g. an overlay's variables. */
  env?: Record<string, string>;
}

export interface Collector {
  /** OTLP/HTTP base URL (the JS exporters append /v1/logs, /v1/traces). */
  httpUrl: string;
  /** OTLP/gRPC URL, http:// (plaintext). */
  grpcUrl: string;
  metricsUrl: string;
  storageDir: string;
  pid(): number | undefined;
  /** Everything the Collector wrote to stdout and stderr, over all its starts. */
  output(): string;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same ports, config and queues; resolves when health_check says ready. */
  start(): Promise<void>;
  /** SIGTERM (a graceful stop), then removes the queues' directory. */
  stop(): Promise<void>;
}

/** Starts the gateway config with the environment a test needs; resolves when health_check answers 200. */
export async function startCollector(options: CollectorOptions): Promise<Collector> {
  const storageDir = tempDir('pipemon-otelcol-');
  const [grpcPort, httpPort, healthPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    PIPEMON_ENDPOINT: options.pipemonUrl,
    PIPEMON_API_KEY: options.pipemonKey,
    PIPEMON_COLLECTOR_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpcPort}`,
    PIPEMON_COLLECTOR_OTLP_HTTP_ENDPOINT: `127.0.0.1:${httpPort}`,
    PIPEMON_COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${healthPort}`,
    PIPEMON_COLLECTOR_METRICS_HOST: '127.0.0.1',
    PIPEMON_COLLECTOR_METRICS_PORT: String(metricsPort),
    PIPEMON_COLLECTOR_STORAGE: storageDir,
    ...options.env,
  };
  const args = [GATEWAY_CONFIG, ...(options.overlays ?? [])].flatMap((file) => ['--config', file]);
  const command = collectorBinary();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const kill = async (signal: NodeJS.Signals) => {
    if (!running()) return;
    child!.kill(signal);
    await exited;
  };
  const start = async () => {
    if (running()) throw new Error('the Collector is already running');
    const current = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = current;
    current.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    current.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((resolve) => current.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (current.exitCode !== null || current.signalCode !== null) throw new Error(`the Collector exited while starting:\n${output}`);
      if (await fetch(`http://127.0.0.1:${healthPort}/`).then((r) => r.ok, () => false)) return;
      if (Date.now() > deadline) {
        await kill('SIGKILL');
        throw new Error(`the Collector's health_check did not answer 200 within 30 s:\n${output}`);
      }
      await sleep(50);
    }
  };
  const stop = async () => {
    await kill('SIGTERM');
    fs.rmSync(storageDir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (err) {
    fs.rmSync(storageDir, { recursive: true, force: true });
    throw err;
  }
  return {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    grpcUrl: `http://127.0.0.1:${grpcPort}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    storageDir,
    pid: () => (running() ? child!.pid : undefined),
    output: () => output,
    kill,
    start,
    stop,
  };
}
