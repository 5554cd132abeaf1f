/**
 * Tools the tests need from outside npm (Debian's packages, the built Collector): found on PATH, or
 * missing, which skips their tests loudly on a developer's machine and fails them under CI, where a
 * missing tool is a broken runner.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { it } from 'vitest';
import { REPO } from './repo.js';

/** The executable `name` on PATH, or null. */
export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** Outside CI, says loudly that the tests of `suite` needing `what` are skipped and how to run them. */
export function warnSkipped(suite: string, what: string, hint: string): void {
  if (process.env.CI) return;
  const line = '!'.repeat(100);
  console.warn(`\n${line}\n  ${what}: its tests in ${suite} are SKIPPED.\n  To run them, ${hint}.\n${line}\n`);
}

/** `name` on PATH, or null after warnSkipped. */
export function tool(suite: string, name: string, hint: string): string | null {
  const file = onPath(name);
  if (!file) warnSkipped(suite, `${name} not found on PATH`, hint);
  return file;
}

/** The tool's path; under CI (where a test runs without it) an Error naming what to install. */
export function required(name: string, file: string | null, hint: string): string {
  if (!file) throw new Error(`CI is set and ${name} is missing: ${hint}`);
  return file;
}

/** `it` when everything is there or CI must fail without it; `it.skip` on a developer's machine without it. */
export const withTools = (...found: unknown[]): typeof it.skip => (found.every(Boolean) || process.env.CI ? it : it.skip);

/** Runs `file args` to completion, from the repository unless told: its output, or an Error with the command and all it printed. */
export async function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  try {
    return await promisify(execFile)(file, args, { cwd: options.cwd ?? REPO, env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${(err as Error).message}\n${stdout}\n${stderr}`);
  }
}
