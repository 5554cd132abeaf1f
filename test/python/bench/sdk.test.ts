/**
 * bench:python in its small mode, python/bench/sdk.py run by the Python SDK's test venv as
 * `npm run bench:python -- --small` runs it, so that it keeps running as the Python SDK and OpenTelemetry's
 * change: every case measured, pipemon delivering all it sent, and the goals read as booleans (no timings
 * are asserted). Without the venv the test is skipped loudly on a developer's machine and fails under CI.
 */
import os from 'node:os';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { benchJson, eachOf, finite, positive } from '../../helpers/bench.js';
import { installedVenv, PYTHON_DIR, pythonTestVenv } from '../../helpers/python.js';
import { required, warnSkipped, withTools } from '../../helpers/tools.js';

const SUITE = 'test/python/bench/sdk.test.ts';
const HINT = `run .ci/run (it makes ${pythonTestVenv()} from python/requirements-test.txt)`;
const venv = installedVenv();
if (!venv) warnSkipped(SUITE, `the Python SDK's test venv (${pythonTestVenv()}) is missing`, HINT);
const test = withTools(venv);

const CASES = ['bare_call', 'monitored_sampled_out', 'monitored_sampled_in', 'log_record', 'stage', 'otel_log_emit'];

describe('bench:python --small', () => {
  test('measures every case beside OpenTelemetry\'s logger.emit, delivers all it sent, and prints every figure', async () => {
    const python = path.join(required("the Python SDK's test venv", venv, HINT), 'bin', 'python');
    const env = { ...process.env, PYTHONPATH: path.join(PYTHON_DIR, 'src') };
    const out = await benchJson(python, [path.join(PYTHON_DIR, 'bench', 'sdk.py'), '--small'], env);
    expect(out).toMatchObject({ python: expect.stringMatching(/^3\.\d+\.\d+/), cpus: os.cpus().length, busy_processes: 0, small: true, rounds: 2 });
    expect(out.load_average).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
    expect(out.ns_per_op).toEqual(eachOf(CASES, positive()));
    expect(out.monitored_overhead_us).toEqual(eachOf(['sampled_out', 'sampled_in'], finite()));
    expect(out.log_record_vs_otel_log_emit).toEqual(positive());
    expect(out.goals).toEqual(eachOf(['monitored_sampled_out', 'monitored_sampled_in', 'log_record_vs_otel'], { goal: expect.any(String), met: expect.any(Boolean) }));
    expect(out.delivery).toEqual({ undelivered: 0, dropped: 0 });
  }, 300_000);
});
