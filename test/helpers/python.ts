/**
 * The Python SDK's side of the suite: the venv .ci/run makes from python/requirements-test.txt (named by the
 * file's checksum, as .ci/run names it), pytest's JUnit XML report read back per test module, and one
 * process run to its end with its output kept.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoPath } from './repo.js';

export const PYTHON_DIR = repoPath('python');
const REQUIREMENTS = path.join(PYTHON_DIR, 'requirements-test.txt');

/** ~/.cache/pipemon/venv-python-test-<first 12 hex digits of the requirements' SHA-256>. */
export function pythonTestVenv(): string {
  const checksum = createHash('sha256').update(fs.readFileSync(REQUIREMENTS)).digest('hex').slice(0, 12);
  return path.join(os.homedir(), '.cache', 'pipemon', `venv-python-test-${checksum}`);
}

/** The venv when its marker says the install finished, else null. */
export function installedVenv(): string | null {
  const venv = pythonTestVenv();
  return fs.existsSync(path.join(venv, '.installed')) ? venv : null;
}

export interface Finished {
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  output: string;
}

/** Runs `file args` in `cwd` to its end (killed after `timeoutMs`). */
export function runToEnd(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // SIGTERM first: pytest then tears its fixtures down (the receiver it started among them).
    const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export interface TestCase {
  /** The test module's name, as test_runs. */
  module: string;
  name: string;
  outcome: 'passed' | 'failed' | 'error' | 'skipped';
  /** What pytest said about a test that did not pass. */
  detail: string;
}

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'", '&amp;': '&' };
const unescape = (text: string) => text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-f]+);/gi, (entity) => {
  if (ENTITIES[entity]) return ENTITIES[entity];
  const hex = entity.startsWith('&#x');
  return String.fromCodePoint(parseInt(entity.slice(hex ? 3 : 2, -1), hex ? 16 : 10));
});
const attribute = (attributes: string, name: string) => unescape(new RegExp(`\\b${name}="([^"]*)"`).exec(attributes)?.[1] ?? '');

/**
 * The testcases of pytest's --junitxml report. A module is named by its classname (tests.e2e.test_runs or
 * tests.test_frames.TestX); a module that failed to import has an empty classname and its path as the name.
 */
export function readJunit(file: string): TestCase[] {
  const xml = fs.readFileSync(file, 'utf8');
  const cases: TestCase[] = [];
  for (const match of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const [, attributes = '', body = ''] = match;
    const classname = attribute(attributes, 'classname');
    const name = attribute(attributes, 'name');
    const module = /(?:^|\.)(test_\w+?)(?:\.|$)/.exec(classname || name)?.[1] ?? (classname || name);
    const outcome = /<(failure|error|skipped)\b/.exec(body)?.[1] as TestCase['outcome'] | undefined;
    // The report's text without its tags: the message attribute and the traceback are what a reader needs.
    const detail = outcome ? `${attribute(body, 'message')}\n${unescape(body.replace(/<[^>]*>/g, ''))}` : '';
    cases.push({ module, name, outcome: outcome ?? 'passed', detail });
  }
  return cases;
}
