import { context, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { logs as sdkLogs, NodeSDK } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, shutdown, start } from '../../../sdk/index.js';
import { startHarness, type Harness } from '../../helpers/sdk.js';
import { tempDir } from '../../helpers/temp.js';

let harness: Harness;
let app: NodeSDK | null = null;

beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await shutdown(10_000);
  await app?.shutdown();
  // NodeSDK.shutdown() leaves its providers, context manager and propagator registered.
  trace.disable();
  logs.disable();
  context.disable();
  propagation.disable();
  await harness.close();
});

describe('an application that registered its own OpenTelemetry providers with sdk-node', () => {
  it('records runs and stages through the application\'s providers and exporters once registered, joining its active span', async () => {
    const spoolDir = tempDir('pipemon-sdk-global-');
    const early = start({ spoolDir, export: false, handleExit: false, heartbeatSeconds: 0 });
    expect(early.usingGlobalProviders).toBe(false);
    await shutdown(1_000);

    const headers = { authorization: `Bearer ${harness.key}` };
    // The application's own choice of exporters: OTLP/HTTP JSON, where pipemon's own would send protobuf.
    app = new NodeSDK({
      serviceName: 'app-with-sdk-node',
      autoDetectResources: false,
      traceExporter: new OTLPTraceExporter({ url: `${harness.url}/v1/traces`, headers }),
      logRecordProcessors: [new sdkLogs.BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${harness.url}/v1/logs`, headers }) })],
    });
    app.start();

    const sdk = start({ spoolDir, handleExit: false, heartbeatSeconds: 0 });
    expect(sdk.usingGlobalProviders).toBe(true);

    const appSpan = trace.getTracer('app').startSpan('nightly');
    let runId = '';
    let runTraceId = '';
    await context.with(trace.setSpan(context.active(), appSpan), () =>
      run('through-sdk-node', async (r) => {
        runId = r.runId;
        runTraceId = r.traceId;
        await r.stage('load', { target: { namespace: 'dw', collection: 'orders' } }, async (s) => {
          s.rows({ read: 10, written: 9, rejected: 1 });
          s.log.warn('one row rejected', { row: 7 });
        });
      }),
    );
    appSpan.end();
    // pipemon flushes the application's providers on shutdown, and leaves them running.
    await shutdown(10_000);

    expect(runTraceId).toBe(appSpan.spanContext().traceId);
    const { status, body: detail } = await harness.get(`/api/v1/runs/${runId}`);
    expect(status).toBe(200);
    expect(detail).toMatchObject({
      pipeline: 'through-sdk-node',
      state: 'ended',
      result: 'success',
      service_name: 'app-with-sdk-node',
      rows: { read: 10, written: 9, rejected: 1 },
    });
    expect(detail.stages).toHaveLength(1);
    expect(detail.stages[0]).toMatchObject({ stage: 'load', result: 'success', target: { namespace: 'dw', collection: 'orders' } });
    const logsOfRun = (await harness.get(`/api/v1/logs?run_id=${runId}&limit=100`)).body.items as any[];
    expect(logsOfRun.find((l) => l.body === 'one row rejected')).toMatchObject({ severity_text: 'WARN', attributes: { row: 7 } });
    // Nothing went through pipemon's own delivery.
    expect(sdk.stats()).toMatchObject({ queued: 0, spooledBatches: 0 });
  });
});
