/**
 * Real OpenLineage producers (Spark, Airflow, dbt) for the suites that run them against a receiver: their
 * versions as pinned in test/fixtures/*-requirements.txt, the venvs .ci/run installs from those pins under
 * ~/.cache/pipemon, and each producer run in a process group of its own, ended with everything it started.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { ReceiverOptions } from '../../receiver/index.js';
import { api } from './api.js';
import { startTestReceiver, type TestReceiver } from './receiver.js';
import { fixturePath } from './repo.js';
import { tempDir } from './temp.js';
import { warnSkipped } from './tools.js';

/** Where .ci/run installs the producers. */
export const CACHE = path.join(os.homedir(), '.cache', 'pipemon');

/** The first group of `pattern` in test/fixtures/`file`: the versions are stated there only. */
export function pinned(file: string, pattern: RegExp): string {
  const found = pattern.exec(fs.readFileSync(fixturePath(file), 'utf8'));
  if (!found) throw new Error(`test/fixtures/${file} has no line matching ${pattern}`);
  return found[1]!;
}

/** `file` in what .ci/run installed into `dir`, when its marker says the install finished; else null after warnSkipped. */
export function installed(suite: string, what: string, dir: string, file: string, hint: string): string | null {
  if (fs.existsSync(path.join(dir, '.installed'))) return path.join(dir, file);
  warnSkipped(suite, `${what} (${dir}) is missing`, hint);
  return null;
}

// A JVM, Airflow or dbt start takes seconds; each producer run is well under a minute on 2 shared cores.
const PROCESS_TIMEOUT_MS = 180_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The tail of stdout and stderr, interleaved, for failure messages. */
  output: string;
}

/** Process groups started here and still running: endProducers() ends them, whatever failed. */
const running = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

/** Ends every producer still running: for afterAll. */
export function endProducers(): void {
  for (const pid of running) killGroup(pid);
}

/**
 * Runs a producer in a process group of its own (pyspark starts a JVM, Airflow forks a task runner, dbt-ol
 * runs dbt), so that it and everything it started can be ended together: when it exits (nothing it left
 * behind lives on), on its timeout, or in endProducers().
 */
export function runProducer(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const pid = child.pid!;
    running.add(pid);
    const timer = setTimeout(() => killGroup(pid), PROCESS_TIMEOUT_MS);
    let exit: Pick<Exit, 'code' | 'signal'> = { code: null, signal: null };
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      clearTimeout(timer);
      killGroup(pid);
      running.delete(pid);
    });
    // After 'exit' ended the group, so that no leftover holding the pipes open keeps this waiting.
    child.on('close', () => resolve({ ...exit, output }));
  });
}

export const described = (exit: Exit) => `exit code ${exit.code}, signal ${exit.signal}; its output ends:\n${exit.output.slice(-4_000)}`;

/** A producers suite's receiver, work directories and API reads; see producerSuite. */
export interface ProducerSuite {
  receiver(): TestReceiver;
  /** A fresh directory, removed after the suite. */
  workDir(name: string): string;
  /** The API's answer to GET `pathAndQuery` with the receiver's key, expected 200. */
  get(pathAndQuery: string): Promise<any>;
}

/** A receiver for the suite's producers, started before its tests; after them, the producers, the receiver and the directories end. */
export function producerSuite(options: () => Promise<ReceiverOptions>): ProducerSuite {
  let r: TestReceiver | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    r = await startTestReceiver(await options());
  });
  afterAll(async () => {
    endProducers();
    await r?.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    receiver: () => r!,
    workDir(name) {
      const dir = tempDir(`pipemon-${name}-`);
      dirs.push(dir);
      return dir;
    },
    async get(pathAndQuery) {
      const answer = await api(r!.url, pathAndQuery, { key: r!.key });
      expect(answer.status, `GET ${pathAndQuery}: ${answer.text.slice(0, 300)}`).toBe(200);
      return answer.body;
    },
  };
}
