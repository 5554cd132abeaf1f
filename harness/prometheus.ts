/**
 * A real Prometheus and a real Alertmanager (Debian's `prometheus` and `prometheus-alertmanager`) for the
 * tests and the benchmarks: each on 127.0.0.1 at a free port, with the given configuration files and its
 * data in a temporary directory, stopped and removed by stop(). A server the calling process leaves
 * running (a beforeAll that timed out while starting it, a crash) is killed when that process ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../receiver/storage/embedded-server.js';

export const PROMETHEUS_HINT = "install Debian's prometheus and prometheus-alertmanager (apt-get install prometheus prometheus-alertmanager; .ci/run does it)";

const BINARIES = { prometheus: '/usr/bin/prometheus', alertmanager: '/usr/bin/prometheus-alertmanager' } as const;

/** Whether both servers are installed. */
export function prometheusInstalled(): boolean {
  return Object.values(BINARIES).every((file) => fs.existsSync(file));
}

/** Servers started here and still running. */
const running = new Set<ChildProcess>();
const killRunning = () => {
  for (const child of running) child.kill('SIGKILL');
};
process.on('exit', killRunning);
// Vitest ends its worker processes with SIGTERM, on which Node runs no 'exit' listener: kill them then,
// and end as SIGTERM would have without this listener.
process.once('SIGTERM', () => {
  killRunning();
  if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
});

export interface Server {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

async function startServer(binary: string, args: (dir: string, address: string) => string[], files: Record<string, string>, readyPath: string): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pipemon-${path.basename(binary)}-`));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  const address = `127.0.0.1:${await freePort()}`;
  const child: ChildProcess = spawn(binary, args(dir, address), { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://${address}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${binary} exited while starting:\n${output}`);
    }
    const ready = await fetch(url + readyPath).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${binary} was not ready within 30 s:\n${output}`);
    }
    await sleep(100);
  }
  return { url, output: () => output, stop };
}

/**
 * A Prometheus on `files`: `prometheus.yml` and what it names beside it (rule files resolve relative to
 * the configuration file), with `flags` added to its command line.
 */
export function startPrometheusWithFiles(files: { 'prometheus.yml': string } & Record<string, string>, flags: string[] = []): Promise<Server> {
  return startServer(
    BINARIES.prometheus,
    (dir, address) => [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${address}`,
      ...flags,
    ],
    files,
    '/-/ready',
  );
}

/** An Alertmanager with `config` (YAML), clustering off. */
export function startAlertmanager(config: string): Promise<Server> {
  return startServer(
    BINARIES.alertmanager,
    (dir, address) => [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${address}`,
      '--cluster.listen-address=',
    ],
    { 'alertmanager.yml': config },
    '/-/ready',
  );
}

/** An instant query through Prometheus' HTTP API; throws with Prometheus' own error when it fails to parse or run. */
export async function instantQuery(prometheusUrl: string, expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error}`);
  const result = body.data!.result;
  if (body.data!.resultType === 'scalar') return [{ metric: {}, value: result as [number, string] }];
  return result as { metric: Record<string, string>; value: [number, string] }[];
}
