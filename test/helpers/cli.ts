/**
 * Commands run as a user runs them: in this process with their output captured, or as the built
 * `pipemon` in a child process; and what they leave in a spool.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { vi } from 'vitest';
import { freePort } from '../../receiver/storage/embedded-server.js';
import { readFrames } from '../../sdk/spool/frames.js';
import { CLI } from './pipemon-process.js';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command's entry point in this process, with what it writes to stdout and stderr captured. */
export async function captured(work: () => Promise<number>): Promise<CommandResult & { code: number }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await work(), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/**
 * `node dist/bin/pipemon.js <args>` with only `env` of the pipemon and OpenTelemetry variables (those of
 * the shell running the tests would decide the receiver and key). Asynchronous: a receiver in this
 * process must answer while it runs. `onStdout` sees each chunk as it comes.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv, onStdout?: (text: string) => void): Promise<CommandResult> & { pid: number } {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build; npm test does it)`);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(PIPEMON|OTEL)_/.test(name)));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CommandResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return Object.assign(done, { pid: child.pid! });
}

/** A port nothing listens on: a receiver that is down. */
export const closedPort = (): Promise<number> => freePort();

/** Records held in a spool directory's segment files, as their frame headers count them. */
export function spooledRecords(dir: string): number {
  const segments = fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.wal')) : [];
  return segments.reduce((sum, name) => sum + readFrames(fs.readFileSync(path.join(dir, name))).reduce((n, frame) => n + frame.records, 0), 0);
}
