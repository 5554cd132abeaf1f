import type { Counter } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ATTR, run, shutdown, start, TimeoutError, type Stage } from '../../../sdk/index.js';
import { useHarness } from '../../helpers/sdk.js';
import { tempDir } from '../../helpers/temp.js';

const harness = useHarness('pipemon-sdk-run-');
const startSdk = () => harness.startSdk({ serviceName: 'orders-etl', flushMs: 50 });

async function runDetail(runId: string) {
  const { status, body } = await harness.get(`/api/v1/runs/${runId}`);
  expect(status).toBe(200);
  return body;
}

describe('runs and stages against the real receiver', () => {
  it('stores a successful run with its stages, rows, targets, source and capabilities', async () => {
    startSdk();
    let runId = '';
    const value = await run('orders', { sourceSystem: 'shopify', capabilities: ['authVerified'] }, async (r) => {
      runId = r.runId;
      const extracted = await r.stage('extract', async (s) => {
        s.rows({ read: 120 });
        return [1, 2, 3];
      });
      await r.stage('load', { target: { namespace: 'dw', collection: 'orders' } }, async (s) => {
        s.rows({ read: 60, written: 58, rejected: 2 });
        s.rows({ read: 60, written: 60 });
        s.capability('bootstrapped');
        s.check('null_ratio', true, { ratio: 0.01 });
      });
      return extracted.length;
    });
    expect(value).toBe(3);
    await shutdown(10_000);

    const detail = await runDetail(runId);
    expect(detail).toMatchObject({
      run_id: runId,
      pipeline: 'orders',
      state: 'ended',
      result: 'success',
      service_name: 'orders-etl',
      source_system: 'shopify',
      rows: { read: 240, written: 118, rejected: 2 },
    });
    expect(detail.duration_seconds).toBeGreaterThanOrEqual(0);
    expect(detail.attributes['pipemon.capabilities']).toEqual(['authVerified']);
    const stages = Object.fromEntries(detail.stages.map((s: any) => [s.stage, s]));
    expect(Object.keys(stages).sort()).toEqual(['extract', 'load']);
    expect(stages.extract).toMatchObject({ state: 'ended', result: 'success', rows: { read: 120, written: 0, rejected: 0 } });
    expect(stages.load).toMatchObject({
      result: 'success',
      rows: { read: 120, written: 118, rejected: 2 },
      target: { namespace: 'dw', collection: 'orders' },
    });
    expect(stages.load.attributes['pipemon.capabilities']).toEqual(['bootstrapped']);
  });

  it('names the datasets a run and its stages read and write, for the lineage graph', async () => {
    startSdk();
    let runId = '';
    let stage: Stage | undefined;
    await run('orders', { inputs: ['s3://raw/orders'] }, async (r) => {
      runId = r.runId;
      await r.stage('load', { inputs: ['postgres://shop:5432/shop.public.orders', ''], target: { namespace: 'dw', collection: 'orders' } }, (s) => {
        s.input({ namespace: 'dw', collection: 'customers' }, 'postgres://shop:5432/shop.public.orders');
        s.output('s3://lake/orders', { namespace: 'dw' }, null as unknown as string, { namespace: 'dw', collection: 42 } as unknown as string);
        stage = s;
      });
      stage!.output('s3://after/the/end');
    });
    await shutdown(10_000);

    const detail = await runDetail(runId);
    expect(detail.attributes['pipemon.lineage.inputs']).toEqual(['s3://raw/orders']);
    // A dataset named twice is named once; an empty name, a target without its collection, what is no dataset and a name after the end name none.
    expect(detail.stages[0].attributes).toMatchObject({
      'pipemon.lineage.inputs': ['postgres://shop:5432/shop.public.orders', 'dw://customers'],
      'pipemon.lineage.outputs': ['s3://lake/orders'],
    });
  });

  it('ends a run and its stage as failure with the error type and message, and rethrows the same error', async () => {
    startSdk();
    class ValidationError extends Error {}
    const thrown = new ValidationError('column "amount" is null in 12 rows');
    let runId = '';
    const caught = await run('payments', async (r) => {
      runId = r.runId;
      await r.stage('validate', () => {
        throw thrown;
      });
    }).catch((error: unknown) => error);
    expect(caught).toBe(thrown);
    await shutdown(10_000);

    const detail = await runDetail(runId);
    expect(detail).toMatchObject({ result: 'failure', error: { type: 'ValidationError', message: 'column "amount" is null in 12 rows' } });
    expect(detail.stages[0]).toMatchObject({ stage: 'validate', result: 'failure', error: { type: 'ValidationError' } });
  });

  it('lets a stage declared allowFailure fail without failing its run, and marks only its failed end as tolerated', async () => {
    startSdk();
    let runId = '';
    let traceId = '';
    const returned: unknown[] = [];
    await run('orders-with-extras', async (r) => {
      runId = r.runId;
      traceId = r.traceId;
      returned.push(
        await r.stage('enrich', { allowFailure: true }, async () => {
          throw new Error('geocoder answered 503');
        }),
      );
      returned.push(
        r.stage('notify', { allowFailure: true }, () => {
          throw new TypeError('no webhook configured');
        }),
      );
      returned.push(await r.stage('thumbnails', { allowFailure: true, timeoutMs: 20 }, () => new Promise((resolve) => setTimeout(resolve, 200))));
      returned.push(await r.stage('load', { allowFailure: true }, async () => 'loaded'));
    });
    // The failures stay in the stages' records; their callers go on with undefined.
    expect(returned).toEqual([undefined, undefined, undefined, 'loaded']);
    await shutdown(10_000);

    const detail = await runDetail(runId);
    expect(detail).toMatchObject({ result: 'success', error: null });
    const stages = Object.fromEntries(detail.stages.map((s: any) => [s.stage, s]));
    expect(stages.enrich).toMatchObject({ result: 'failure', error: { type: 'Error', message: 'geocoder answered 503' } });
    expect(stages.notify).toMatchObject({ result: 'failure', error: { type: 'TypeError' } });
    expect(stages.thumbnails).toMatchObject({ result: 'timeout', error: { type: 'TimeoutError' } });
    expect(stages.load.result).toBe('success');
    const tolerated = ['enrich', 'notify', 'thumbnails'];

    const logs = (await harness.get(`/api/v1/logs?run_id=${runId}&limit=100`)).body.items as any[];
    const spans = (await harness.get(`/api/v1/traces/${traceId}`)).body.spans as any[];
    for (const [name, stage] of Object.entries(stages) as [string, any][]) {
      const end = logs.find((l) => l.event_name === 'pipeline.stage.end' && l.stage === name);
      const span = spans.find((s) => s.name === name);
      for (const attributes of [stage.attributes, end.attributes, span.attributes]) {
        if (tolerated.includes(name)) expect(attributes['pipemon.stage.failure_allowed']).toBe(true);
        // Never false: a stage that did not fail says nothing of tolerance.
        else expect(attributes).not.toHaveProperty('pipemon.stage.failure_allowed');
      }
    }
    const runEnd = logs.find((l) => l.event_name === 'pipeline.run.end');
    expect(runEnd.attributes).toMatchObject({ 'cicd.pipeline.result': 'success' });
    expect(runEnd.attributes).not.toHaveProperty('pipemon.stage.failure_allowed');
  });

  it('logs at FATAL, worse than ERROR', async () => {
    startSdk();
    let runId = '';
    await run('fatal-log', (r) => {
      runId = r.runId;
      r.log.fatal('warehouse credentials revoked', { warehouse: 'dw' });
    });
    await shutdown(10_000);
    const logs = (await harness.get(`/api/v1/logs?run_id=${runId}&limit=100`)).body.items as any[];
    expect(logs.find((l) => l.body === 'warehouse credentials revoked')).toMatchObject({ severity_number: 21, severity_text: 'FATAL', attributes: { warehouse: 'dw' } });
  });

  it('returns synchronous values synchronously and records sync throws', async () => {
    startSdk();
    let runId = '';
    const doubled = run('sync-job', (r) => {
      runId = r.runId;
      return r.stage('compute', () => 21 * 2);
    });
    expect(doubled).toBe(42);
    let failedId = '';
    expect(() =>
      run('sync-job', (r) => {
        failedId = r.runId;
        throw new RangeError('bad range');
      }),
    ).toThrow(RangeError);
    await shutdown(10_000);
    expect((await runDetail(runId)).result).toBe('success');
    expect(await runDetail(failedId)).toMatchObject({ result: 'failure', error: { type: 'RangeError' } });
  });

  it('skips a stage whose input is empty without calling it, and records why', async () => {
    startSdk();
    let runId = '';
    let called = false;
    await run('files', async (r) => {
      runId = r.runId;
      const result = await r.stage('transform', { skipWhenEmpty: [] }, async () => {
        called = true;
        return 'ran';
      });
      expect(result).toBeUndefined();
      await r.stage('load', async (s: Stage) => {
        if (s.skipIfEmpty(new Map(), 'no new files')) return;
        called = true;
      });
    });
    expect(called).toBe(false);
    await shutdown(10_000);

    const detail = await runDetail(runId);
    expect(detail.result).toBe('success');
    const stages = Object.fromEntries(detail.stages.map((s: any) => [s.stage, s]));
    expect(stages.transform).toMatchObject({ result: 'skip' });
    expect(stages.transform.attributes['pipemon.skip.reason']).toBe('input is empty');
    expect(stages.load.attributes['pipemon.skip.reason']).toBe('no new files');

    const logs = await harness.get(`/api/v1/logs?run_id=${runId}&limit=100`);
    const checks = logs.body.items.filter((l: any) => l.event_name === 'pipeline.check');
    expect(checks.length).toBe(2);
  });

  it('marks an explicit skip and cancel, and times a slow stage out as timeout with a TimeoutError', async () => {
    startSdk();
    let runId = '';
    let aborted = false;
    const outcome = await run('slow', async (r) => {
      runId = r.runId;
      await r.stage('optional', (s) => s.skip('holiday'));
      await r.stage('abandoned', (s) => {
        s.cancel('operator stop');
        expect(s.signal.aborted).toBe(true);
      });
      await r.stage('fetch', { timeoutMs: 50 }, async (s) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        aborted = s.signal.aborted;
      });
    }).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(TimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(aborted).toBe(true);
    await shutdown(10_000);

    const detail = await runDetail(runId);
    const stages = Object.fromEntries(detail.stages.map((s: any) => [s.stage, s]));
    expect(stages.optional.result).toBe('skip');
    expect(stages.abandoned.result).toBe('cancellation');
    expect(stages.fetch).toMatchObject({ result: 'timeout', error: { type: 'TimeoutError' } });
    // The stage's TimeoutError left the run unchanged: the run timed out too.
    expect(detail).toMatchObject({ result: 'timeout', error: { type: 'TimeoutError' } });
  });

  it('ends a run as failure when a stage timeout comes out of it wrapped in another error', async () => {
    startSdk();
    let runId = '';
    const outcome = await run('wrapped-timeout', async (r) => {
      runId = r.runId;
      try {
        await r.stage('fetch', { timeoutMs: 20 }, () => new Promise((resolve) => setTimeout(resolve, 200)));
      } catch (error) {
        throw new Error('extract gave up', { cause: error });
      }
    }).catch((error: unknown) => error);
    expect((outcome as Error).cause).toBeInstanceOf(TimeoutError);
    await shutdown(10_000);

    const detail = await runDetail(runId);
    expect(detail).toMatchObject({ result: 'failure', error: { type: 'Error', message: 'extract gave up' } });
    expect(detail.stages[0]).toMatchObject({ stage: 'fetch', result: 'timeout' });
  });

  it('shows a run as running from its start record, before it ends', async () => {
    const sdk = startSdk();
    let release!: () => void;
    let runId = '';
    const pending = run('long', async (r) => {
      runId = r.runId;
      await new Promise<void>((resolve) => (release = resolve));
    });
    await sdk.flush(5_000);
    expect(await runDetail(runId)).toMatchObject({ state: 'running', result: null });
    release();
    await pending;
    await shutdown(10_000);
    expect(await runDetail(runId)).toMatchObject({ state: 'ended', result: 'success' });
  });

  it('correlates run.log records with the run and the current span, masking secret attributes', async () => {
    startSdk();
    let runId = '';
    let traceId = '';
    await run('logged', async (r) => {
      runId = r.runId;
      traceId = r.traceId;
      r.log.info('starting', { batch: 7, password: 'hunter2' });
      await r.stage('step', (s) => s.log.error(new Error('disk full')));
    });
    await shutdown(10_000);
    const logs = await harness.get(`/api/v1/logs?run_id=${runId}&limit=100`);
    expect(logs.status).toBe(200);
    const items = logs.body.items as any[];
    const info = items.find((l) => l.body === 'starting');
    expect(info).toBeDefined();
    expect(info.trace_id).toBe(traceId);
    expect(info.attributes.batch).toBe(7);
    expect(info.attributes.password).toBe('***');
    const error = items.find((l) => l.body === 'disk full');
    expect(error.severity_number).toBe(17);
    expect(error.attributes['cicd.pipeline.task.name']).toBe('step');
    expect(error.attributes['exception.type']).toBe('Error');
  });

  it('stores the metrics a run and its stages record, attached to the run and stage, with the values the run ended with', async () => {
    startSdk();
    let runId = '';
    await run('orders', async (r) => {
      runId = r.runId;
      const rows = r.meter.createCounter('orders.rows', { unit: '{row}' });
      rows.add(100, { table: 'orders' });
      await r.stage('load', async (s) => {
        s.meter.createCounter('orders.rows', { unit: '{row}' }).add(58, { table: 'orders', [ATTR.runId]: 'not-this-run' });
        s.meter.createHistogram('orders.batch.duration', { unit: 's' }).record(0.4);
      });
      rows.add(20, { table: 'orders' });
    });
    await shutdown(10_000);

    const { rows } = await harness.receiver.db.query<Record<string, unknown>>(
      `SELECT s.metric_name, s.kind, s.unit, s.pipeline, s.run_id, s.stage, s.attributes, p.value, p.count
         FROM metric_streams s JOIN metric_points p USING (tenant_id, stream_id)
        WHERE s.run_id = $1 ORDER BY s.metric_name, s.stage NULLS FIRST`,
      [runId],
    );
    const run_ = { pipeline: 'orders', run_id: runId };
    const identity = { [ATTR.pipelineName]: 'orders', [ATTR.runId]: runId };
    expect(rows).toEqual([
      { metric_name: 'orders.batch.duration', kind: 'histogram', unit: 's', ...run_, stage: 'load', attributes: { ...identity, [ATTR.stageName]: 'load' }, value: 0.4, count: '1' },
      { metric_name: 'orders.rows', kind: 'sum', unit: '{row}', ...run_, stage: null, attributes: { ...identity, table: 'orders' }, value: 120, count: null },
      { metric_name: 'orders.rows', kind: 'sum', unit: '{row}', ...run_, stage: 'load', attributes: { ...identity, [ATTR.stageName]: 'load', table: 'orders' }, value: 58, count: null },
    ]);
  });

  it('drops and counts a measurement made after its run ended or after shutdown, and says why', async () => {
    const sdk = startSdk();
    let late: Counter | undefined;
    await run('orders', (r) => {
      late = r.meter.createCounter('orders.rows');
      late.add(1);
    });
    const before = sdk.stats();
    late!.add(1);
    expect(sdk.stats().dropped - before.dropped).toBe(1);
    const report = await shutdown(10_000);
    expect(report!.message).toContain('1 metric measurement dropped: made after their run or stage ended');
    // After shutdown the instance's meters take nothing; its stats still count what it dropped.
    late!.add(1);
    expect(sdk.stats().late).toBe(2);
  });

  it('emits heartbeats for a long run', async () => {
    start({
      endpoint: harness.url,
      apiKey: harness.key,
      spoolDir: tempDir('pipemon-sdk-hb-'),
      flushMs: 50,
      handleExit: false,
    });
    let runId = '';
    await run('heartbeat', { heartbeatSeconds: 0.1 }, async (r) => {
      runId = r.runId;
      await new Promise((resolve) => setTimeout(resolve, 450));
    });
    await shutdown(10_000);
    const logs = await harness.get(`/api/v1/logs?run_id=${runId}&limit=100`);
    const beats = (logs.body.items as any[]).filter((l) => l.event_name === 'pipeline.run.heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(3);
  });
});
