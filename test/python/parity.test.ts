/**
 * What the Python SDK states again in its own language, asked of both SDKs live and compared: the
 * configuration one environment gives (defaults, precedence, endpoint, spool directory) and the sentence a
 * process says about records it could not deliver, which log records the spool keeps apart (never evicted,
 * on disk before the call returns), and a dataset's one name (contract/dataset-name.ts). The Python tests hold the same figures as literals;
 * this is what keeps those literals and the Node SDK from drifting apart.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../sdk/delivery/config.js';
import { deliveryReport } from '../../sdk/delivery/delivery-report.js';
import type { DeliveryStats } from '../../sdk/delivery/delivery-stats.js';
import { mustKeepLog } from '../../sdk/activity/providers.js';
import { EVENT } from '../../contract/vocabulary.js';
import { datasetName, type DatasetRef } from '../../contract/dataset-name.js';
import { repoPath } from '../helpers/repo.js';

const SRC = repoPath('python/src');

/** Runs `code` with the Python SDK importable; what it prints as JSON. Plain python3: the SDK needs nothing else. */
function python(code: string, input: unknown): any {
  const result = spawnSync('python3', ['-c', code], {
    input: JSON.stringify(input),
    env: { ...process.env, PYTHONPATH: SRC },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

const ENVIRONMENTS: Record<string, string>[] = [
  {},
  { OTEL_EXPORTER_OTLP_ENDPOINT: 'HTTP://Receiver.Example:80/', PIPEMON_API_KEY: 'pm_1_abc' },
  { PIPEMON_ENDPOINT: 'http://127.0.0.1:4318/base//', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:1' },
  { OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20k2,x-a=1', OTEL_SERVICE_NAME: 'svc', PIPEMON_ENVIRONMENT: 'prod' },
  { OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-resource,team=data', PIPEMON_BUFFER_MS: '25', PIPEMON_FLUSH_MS: '250' },
  { PIPEMON_SPOOL_MAX_BYTES: '1048576', PIPEMON_SPOOL_FSYNC: 'off', PIPEMON_HEARTBEAT_SECONDS: '0', PIPEMON_EXPORT: 'no' },
  { PIPEMON_MAX_QUEUE: '100', PIPEMON_EXPORT_TIMEOUT_MS: '750', PIPEMON_LOCAL_OUTPUT: 'stderr', PIPEMON_SPOOL_DIR: '/tmp/a/../spool' },
];

const PYTHON_CONFIG = `
import dataclasses, json, sys
from pipemon._config import resolve_config
out = []
for env in json.load(sys.stdin):
    config = dataclasses.asdict(resolve_config({}, env))
    config["resource"].pop("service.instance.id")
    if "OTEL_SERVICE_NAME" not in env and "service.name" not in env.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        config["resource"].pop("service.name")  # each names its own script by default
    out.append(config)
print(json.dumps(out))
`;

/** The fields both SDKs have, under the Python SDK's names. */
function nodeConfig(env: Record<string, string>) {
  const c = resolveConfig({}, env);
  const { 'service.instance.id': _, ...resource } = c.resource;
  if (!env.OTEL_SERVICE_NAME && !env.OTEL_RESOURCE_ATTRIBUTES?.includes('service.name')) delete resource['service.name'];
  return {
    endpoint: c.endpoint,
    headers: c.headers,
    resource,
    spool_dir: c.spoolDir,
    spool_max_bytes: c.spoolMaxBytes,
    spool_fsync: c.spoolFsync,
    buffer_ms: c.bufferMs,
    max_queue: c.maxQueue,
    max_batch: c.maxBatch,
    flush_ms: c.flushMs,
    export_timeout_ms: c.exportTimeoutMs,
    heartbeat_seconds: c.heartbeatSeconds,
    shutdown_ms: c.shutdownMs,
    local_output: c.localOutput,
    export: c.export,
    handle_exit: c.handleExit,
  };
}

const STATS: DeliveryStats[] = [
  { queued: 0, spooledBatches: 0, spooledBytes: 0, dropped: 0, refused: 0, undelivered: 0, delivered: 5, receiverDown: false, lastFailure: null },
  { queued: 0, spooledBatches: 1, spooledBytes: 1280, dropped: 0, refused: 0, undelivered: 1, delivered: 0, receiverDown: false, lastFailure: null },
  { queued: 0, spooledBatches: 2, spooledBytes: 300, dropped: 0, refused: 0, undelivered: 3, delivered: 0, receiverDown: true, lastFailure: { kind: 'no-key', status: 401, message: 'HTTP 401' } },
  { queued: 0, spooledBatches: 2, spooledBytes: 3145733, dropped: 0, refused: 0, undelivered: 2, delivered: 0, receiverDown: true, lastFailure: { kind: 'key-refused', status: 403, message: 'HTTP 403' } },
  { queued: 0, spooledBatches: 1, spooledBytes: 10, dropped: 0, refused: 0, undelivered: 7, delivered: 0, receiverDown: true, lastFailure: { kind: 'unavailable', status: null, message: 'connect ECONNREFUSED 127.0.0.1:4318' } },
  { queued: 0, spooledBatches: 1, spooledBytes: 10, dropped: 0, refused: 0, undelivered: 4, delivered: 1, receiverDown: true, lastFailure: { kind: 'unavailable', status: 404, message: 'HTTP 404' } },
  { queued: 0, spooledBatches: 1, spooledBytes: 10, dropped: 0, refused: 0, undelivered: 1, delivered: 0, receiverDown: true, lastFailure: { kind: 'unavailable', status: 503, message: 'HTTP 503' } },
  { queued: 0, spooledBatches: 0, spooledBytes: 0, dropped: 9, refused: 4, undelivered: 0, delivered: 2, receiverDown: false, lastFailure: { kind: 'malformed', status: 400, message: 'HTTP 400' } },
  { queued: 0, spooledBatches: 0, spooledBytes: 0, dropped: 5, refused: 0, undelivered: 0, delivered: 0, receiverDown: false, lastFailure: null },
];

const PYTHON_REPORTS = `
import json, sys
from pipemon._delivery import DeliveryFailure, DeliveryStats
from pipemon._report import delivery_report
out = []
for s in json.load(sys.stdin):
    failure = s["lastFailure"] and DeliveryFailure(s["lastFailure"]["kind"], s["lastFailure"]["status"], s["lastFailure"]["message"])
    stats = DeliveryStats(s["queued"], s["spooledBatches"], s["spooledBytes"], s["dropped"], s["refused"], s["undelivered"],
                          s["delivered"], s["receiverDown"], failure)
    out.append(delivery_report(stats, "http://127.0.0.1:4318", "/tmp/pipemon spool's").message)
print(json.dumps(out))
`;

// Every event name, with no event name, at each severity either side of ERROR.
const LOGS = [undefined, ...Object.values(EVENT)].flatMap((eventName) => [9, 13, 17, 21].map((severityNumber) => ({ eventName, severityNumber })));

const PYTHON_KEPT = `
import json, sys
from pipemon._records import LogRecord
from pipemon._telemetry import must_keep_log
out = []
for log in json.load(sys.stdin):
    record = LogRecord(0, log["severityNumber"], "", "", {}, event_name=log.get("eventName") or "")
    out.append(must_keep_log(record))
print(json.dumps(out))
`;

// Every way a namespace and a name are joined: a bare scheme, an authority, a name already starting with a slash,
// a namespace already ending with one, Airflow's `file://` with a relative path; and names an SDK may be given.
const DATASETS: DatasetRef[] = [
  { namespace: 'dw', name: 'orders' },
  { namespace: 'bigquery', name: 'project.dataset.table' },
  { namespace: 'file', name: '/tmp/in.csv' },
  { namespace: 'postgres://db:5432', name: 'shop.public.orders' },
  { namespace: 's3://lake', name: 'orders/2026/part-0.parquet' },
  { namespace: 's3://lake/', name: 'orders' },
  { namespace: 's3://lake', name: '/orders' },
  { namespace: 'file://', name: 'tmp/x' },
  { namespace: 'file://', name: '/tmp/x' },
  { namespace: 'hdfs://nn:8020/', name: '/warehouse/t' },
  { namespace: 'dw', name: 'sales.orders' },
  { namespace: 'dw', name: '' },
  { namespace: 'lager', name: 'bestände/größe' },
];

const PYTHON_DATASET_NAMES = `
import json, sys
from pipemon._dataset_name import dataset_name
print(json.dumps([dataset_name(d["namespace"], d["name"]) for d in json.load(sys.stdin)]))
`;

describe('the Python SDK beside the Node SDK', () => {
  it('resolves the same configuration from the same environment (defaults, precedence, endpoint, spool directory)', () => {
    expect(python(PYTHON_CONFIG, ENVIRONMENTS)).toEqual(ENVIRONMENTS.map(nodeConfig));
  });

  it('keeps the same log records apart: errors and the records of a run\'s history', () => {
    const node = LOGS.map((log) => mustKeepLog(log as any));
    expect(node).toContain(true);
    expect(node).toContain(false);
    expect(python(PYTHON_KEPT, LOGS)).toEqual(node);
  });

  it("names a dataset as contract/dataset-name.ts does, in each of its joins", () => {
    const node = DATASETS.map(datasetName);
    const joins = DATASETS.map(({ namespace, name }, i) =>
      node[i] === `${namespace}://${name}` ? 'scheme' : node[i] === `${namespace}${name}` ? 'joined' : 'slash',
    );
    expect(new Set(joins)).toEqual(new Set(['scheme', 'joined', 'slash']));
    expect(python(PYTHON_DATASET_NAMES, DATASETS)).toEqual(node);
  });

  it('says the same sentence about records it could not deliver', () => {
    const node = STATS.map((stats) => deliveryReport(stats, { endpoint: 'http://127.0.0.1:4318', spoolDir: "/tmp/pipemon spool's" }).message);
    expect(node.filter((message) => message !== null).length).toBeGreaterThan(5);
    expect(python(PYTHON_REPORTS, STATS)).toEqual(node);
  });
});
