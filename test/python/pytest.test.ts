/**
 * The Python SDK (python/), run from the suite: ruff's lint and format, its unit tests, and its end-to-end
 * tests against a real `pipemon serve` (which python/tests/e2e/conftest.py starts from the built CLI on a
 * fresh database of the test server). pytest runs once per suite with a JUnit report; each test module is one
 * `it` here, which passes when all of that module's tests ran and passed.
 *
 * The tools come from the venv .ci/run makes (python/requirements-test.txt): without it the suite is skipped
 * loudly on a developer's machine and fails under CI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createTestDatabase, testServerUrl } from '../helpers/backends.js';
import { CLI } from '../helpers/pipemon-process.js';
import { installedVenv, PYTHON_DIR, pythonTestVenv, readJunit, runToEnd, type Finished, type TestCase } from '../helpers/python.js';
import { required, warnSkipped, withTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/temp.js';

const SUITE = 'test/python/pytest.test.ts';
const HINT = `run .ci/run (it makes ${pythonTestVenv()} from python/requirements-test.txt)`;
const venv = installedVenv();
if (!venv) warnSkipped(SUITE, `the Python SDK's test venv (${pythonTestVenv()}) is missing`, HINT);
const test = withTools(venv);
const bin = (name: string) => path.join(required("the Python SDK's test venv", venv, HINT), 'bin', name);

/** The test modules of `dir` (python/tests or python/tests/e2e), listed when the suite is collected. */
const modulesIn = (dir: string) =>
  fs
    .readdirSync(path.join(PYTHON_DIR, dir))
    .filter((name) => /^test_\w+\.py$/.test(name))
    .map((name) => name.slice(0, -3))
    .sort();

describe('ruff', () => {
  test.each([
    ['check', ['check', '.']],
    ['format --check', ['format', '--check', '.']],
  ])('ruff %s is clean', async (_name, args) => {
    const { code, output } = await runToEnd(bin('ruff'), args, { cwd: PYTHON_DIR, timeoutMs: 60_000 });
    expect(code, output).toBe(0);
  });
});

/** Runs pytest over `paths` once; each module's `it` reads its testcases from the report. */
function pytestSuite(title: string, dir: string, pytestArgs: string[], env: () => Promise<NodeJS.ProcessEnv>, timeoutMs: number) {
  describe(title, () => {
    let cases: TestCase[] = [];
    let run: Finished = { code: null, output: '' };
    const reportDir = tempDir('pipemon-pytest-');
    beforeAll(async () => {
      // Skipped on a developer's machine without the venv; under CI, bin() fails every test with the remedy.
      if (!venv && !process.env.CI) return;
      const python = bin('python');
      const report = path.join(reportDir, 'junit.xml');
      const args = ['-p', 'no:cacheprovider', '-q', '-rfEs', `--junitxml=${report}`, ...pytestArgs];
      run = await runToEnd(python, ['-m', 'pytest', ...args], { cwd: PYTHON_DIR, env: await env(), timeoutMs });
      if (fs.existsSync(report)) cases = readJunit(report);
    }, timeoutMs + 30_000);
    afterAll(() => fs.rmSync(reportDir, { recursive: true, force: true }));

    test.each(modulesIn(dir))('%s', (module) => {
      const mine = cases.filter((c) => c.module === module);
      const context = `pytest exited ${run.code}:\n${run.output.slice(-20_000)}`;
      expect(mine.length, `no test of ${module} ran; ${context}`).toBeGreaterThan(0);
      const notPassed = mine.filter((c) => c.outcome !== 'passed').map((c) => `${c.name} ${c.outcome.toUpperCase()}\n${c.detail}`);
      expect(notPassed, `${module}: ${notPassed.length} of ${mine.length} did not pass`).toEqual([]);
    });
  });
}

const pythonEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...process.env, PYTHONPATH: path.join(PYTHON_DIR, 'src'), ...extra });

pytestSuite('the Python SDK\'s unit tests', 'tests', ['--ignore=tests/e2e', 'tests'], async () => pythonEnv(), 600_000);

// The receiver is the built CLI (npm test builds first) on a database of its own on the test server.
pytestSuite(
  "the Python SDK's end-to-end tests against pipemon serve",
  'tests/e2e',
  ['tests/e2e'],
  async () => {
    expect(fs.existsSync(CLI), `${CLI} is missing: run npm run build (npm test does it)`).toBe(true);
    return pythonEnv({ PIPEMON_TEST_CLI: CLI, PIPEMON_TEST_DATABASE_URL: await createTestDatabase(testServerUrl()) });
  },
  1_200_000,
);
