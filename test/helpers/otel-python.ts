/**
 * The OpenTelemetry Python SDK with its OTLP/HTTP exporter, in the venv .ci/run makes for the version
 * test/fixtures/otel-python-requirements.txt pins (~/.cache/pipemon/venv-otel-python-<version>).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixturePath } from './repo.js';
import { warnSkipped } from './tools.js';

const REQUIREMENTS = fixturePath('otel-python-requirements.txt');

/** The venv's python; null (after a loud warning naming `suite`) when it is missing. */
export function otelPython(suite: string): { version: string; python: string | null; hint: string } {
  const version = /^opentelemetry-sdk==(\S+)$/m.exec(fs.readFileSync(REQUIREMENTS, 'utf8'))![1]!;
  const venv = path.join(os.homedir(), '.cache', 'pipemon', `venv-otel-python-${version}`);
  const hint = `run .ci/run, or: python3 -m venv ${venv} && ${venv}/bin/pip install -r ${path.relative(process.cwd(), REQUIREMENTS)}`;
  const python = fs.existsSync(path.join(venv, 'bin', 'python3')) ? path.join(venv, 'bin', 'python3') : null;
  if (!python) warnSkipped(suite, `the OpenTelemetry Python SDK ${version} (a venv at ${venv}) is missing`, hint);
  return { version, python, hint };
}
