/**
 * OTLP metrics from the OpenTelemetry Python SDK and its OTLP/HTTP exporter (test/fixtures/otel_metrics_export.py)
 * against the real receiver on each backend: the points stored, and read through the query API as the run's,
 * equal the points the script printed it exported.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { apiPoints, apiPointsOf } from '../../helpers/api-points.js';
import { sortedPoints, type PointFacts } from '../../helpers/metrics-sdk.js';
import { otelPython } from '../../helpers/otel-python.js';
import { receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { fixturePath } from '../../helpers/repo.js';
import { receiverCount, storedPoints, storedRunIds } from '../../helpers/stored-points.js';
import { required, withTools } from '../../helpers/tools.js';

const { python, hint } = otelPython('test/receiver/http/otlp-metrics-python.test.ts');

describe.each(receiverBackends())('OTLP/HTTP metrics from the OpenTelemetry Python SDK on $name', (backend) => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await backend.options()), maxBodyBytes: 1024 * 1024 });
  });
  afterAll(() => r?.close());

  withTools(python)("stores the counter, histogram, gauge and up-down counter the Python exporter sent, on the resource's run", async () => {
    const bin = required('the OpenTelemetry Python SDK', python, hint);
    const accepted = () => receiverCount(r.receiver.metricsUrl, 'pipemon_receiver_accepted_records_total', { signal: 'metrics' });
    const before = await accepted();
    // Only PATH: no OTEL_* setting of the machine changes what the script exports.
    const { stdout } = await promisify(execFile)(bin, [fixturePath('otel_metrics_export.py'), r.url, r.key, 'python-metrics', 'python-run-1'], {
      env: { PATH: process.env.PATH },
      timeout: 60_000,
    });
    const exported = sortedPoints(JSON.parse(stdout) as PointFacts[]);

    expect(new Set(exported.map((p) => `${p.metric} ${p.kind} ${p.temporality} ${p.monotonic}`))).toEqual(
      new Set(['rows.read sum 2 true', 'batch.duration histogram 2 false', 'disk.temperature gauge 0 false', 'queue.depth sum 2 false']),
    );
    // Two flushes and the shutdown's collection, of five series (two of rows.read).
    expect(exported.length).toBeGreaterThanOrEqual(10);
    expect(await storedPoints(r.receiver.db, 'python-metrics')).toEqual(exported);
    expect(await apiPoints(r.url, r.key, 'run_id=python-run-1')).toEqual(apiPointsOf(exported));
    expect((await accepted()) - before).toBe(exported.length);
    expect(await storedRunIds(r.receiver.db, 'python-metrics')).toEqual({
      'batch.duration': 'python-run-1',
      'disk.temperature': 'python-run-1',
      'queue.depth': 'python-run-1',
      'rows.read': 'python-run-1',
    });
  });
});
