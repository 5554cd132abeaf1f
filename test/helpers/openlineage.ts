/**
 * OpenLineage events shaped as the Python client serializes them (spec 2-0-2), for the decoder's unit
 * tests and the receiver's end-to-end tests that do not need the real client.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixturePath } from './repo.js';
import { warnSkipped } from './tools.js';

const REQUIREMENTS = fixturePath('openlineage-requirements.txt');

/**
 * The real OpenLineage Python client, in the venv .ci/run makes for the version that
 * test/fixtures/openlineage-requirements.txt pins; `python` is null (after a loud warning) when it is missing.
 */
export function openlineageClient(suite: string): { version: string; python: string | null; hint: string } {
  const version = /^openlineage-python==(\S+)$/m.exec(fs.readFileSync(REQUIREMENTS, 'utf8'))![1]!;
  const venv = path.join(os.homedir(), '.cache', 'pipemon', `venv-openlineage-${version}`);
  const hint = `run .ci/run, or: python3 -m venv ${venv} && ${venv}/bin/pip install -r ${path.relative(process.cwd(), REQUIREMENTS)}`;
  const python = fs.existsSync(path.join(venv, 'bin', 'python')) ? path.join(venv, 'bin', 'python') : null;
  if (!python) warnSkipped(suite, `the OpenLineage Python client ${version} (a venv at ${venv}) is missing`, hint);
  return { version, python, hint };
}

const SPEC = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs';
const PRODUCER = 'https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python';

export const facet = (name: string, fields: Record<string, unknown>) => ({
  _producer: PRODUCER,
  _schemaURL: `https://openlineage.io/spec/facets/1-0-0/${name}.json#/$defs/${name}`,
  ...fields,
});

export interface RunEventSpec {
  eventType?: string;
  eventTime?: string;
  runId?: string;
  namespace?: string;
  name?: string;
  parent?: { runId: string; namespace?: string; name: string; root?: { runId: string; namespace?: string; name: string } };
  error?: { message: string; programmingLanguage?: string; stackTrace?: string };
  inputs?: { namespace: string; name: string; rowCount?: number }[];
  outputs?: { namespace: string; name: string; rowCount?: number; size?: number; fileCount?: number }[];
}

const ref = (r: { runId: string; namespace?: string; name: string }) => ({
  run: { runId: r.runId },
  job: { namespace: r.namespace ?? 'airflow', name: r.name },
});

export function runEvent(spec: RunEventSpec = {}): Record<string, any> {
  const facets: Record<string, unknown> = {};
  if (spec.parent) facets.parent = facet('ParentRunFacet', { ...ref(spec.parent), ...(spec.parent.root ? { root: ref(spec.parent.root) } : {}) });
  if (spec.error) facets.errorMessage = facet('ErrorMessageRunFacet', { programmingLanguage: 'python', ...spec.error });
  return {
    eventTime: spec.eventTime ?? new Date().toISOString(),
    producer: PRODUCER,
    schemaURL: `${SPEC}/RunEvent`,
    eventType: spec.eventType ?? 'START',
    run: { runId: spec.runId ?? randomUUID(), facets },
    job: { namespace: spec.namespace ?? 'airflow', name: spec.name ?? 'orders_dag', facets: {} },
    inputs: (spec.inputs ?? []).map(({ rowCount, ...dataset }) => ({
      ...dataset,
      facets: {},
      inputFacets: rowCount === undefined ? {} : { inputStatistics: facet('InputStatisticsInputDatasetFacet', { rowCount }) },
    })),
    outputs: (spec.outputs ?? []).map(({ rowCount, size, fileCount, ...dataset }) => ({
      ...dataset,
      facets: {},
      outputFacets:
        rowCount === undefined ? {} : { outputStatistics: facet('OutputStatisticsOutputDatasetFacet', { rowCount, size, fileCount }) },
    })),
  };
}

export function jobEvent(name = 'orders_dag.load'): Record<string, any> {
  return {
    eventTime: new Date().toISOString(),
    producer: PRODUCER,
    schemaURL: `${SPEC}/JobEvent`,
    job: { namespace: 'airflow', name, facets: {} },
    inputs: [{ namespace: 'postgres://db:5432', name: 'shop.public.orders', facets: {} }],
    outputs: [{ namespace: 'postgres://db:5432', name: 'dw.public.orders', facets: {} }],
  };
}

export function datasetEvent(name = 'dw.public.orders'): Record<string, any> {
  return {
    eventTime: new Date().toISOString(),
    producer: PRODUCER,
    schemaURL: `${SPEC}/DatasetEvent`,
    dataset: { namespace: 'postgres://db:5432', name, facets: {} },
  };
}
