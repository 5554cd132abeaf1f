import { metrics, type Meter } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMetricsProtobuf } from '../../../receiver/decode/otlp-metrics-protobuf.js';
import type { MetricPointRow } from '../../../receiver/model/records.js';
import { metricChannel } from '../../../sdk/activity/metric-points.js';
import { createRunMeters, deliveredRunProvider, sharedRunProvider } from '../../../sdk/activity/run-meters.js';
import { createRecordQueue } from '../../../sdk/delivery/record-queue.js';
import { ATTR } from '../../../contract/vocabulary.js';
import { until } from '../../helpers/async.js';

const RUN = { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'run-1' };
const resource = resourceFromAttributes({ 'service.name': 'orders-etl' });

interface Append {
  signal: string;
  keep: boolean;
  records: number;
  rows: MetricPointRow[];
}

/** Run meters over a real record queue and metrics channel, into a spool that keeps each append decoded. */
function delivered(intervalMs = 60_000) {
  const appends: Append[] = [];
  const spool = {
    append(signal: string, keep: boolean, records: number, body: Uint8Array) {
      appends.push({ signal, keep, records, rows: decodeMetricsProtobuf(body) });
    },
  };
  const queue = createRecordQueue({
    channel: metricChannel(resource),
    spool,
    maxBatch: 512,
    maxQueue: 8192,
    bufferMs: 60_000,
    onAppend: () => undefined,
    onUnserializable: () => undefined,
  });
  const meters = createRunMeters(deliveredRunProvider({ queue, resource, scope: 'pipemon', intervalMs }));
  return { meters, appends, values: () => appends.flatMap((a) => a.rows.map((row) => [a.keep, row.metric.name, row.attributes, row.asDouble ?? Number(row.asInt)])) };
}

const soon = () => Date.now() + 5_000;
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('the meters of runs', () => {
  it('collect a run\'s metrics at its end, as kept records on the spool, by the time its close resolves', async () => {
    const { meters, appends, values } = delivered();
    const run = meters.open();
    const rows = run.meter(RUN, () => true).createCounter('rows');
    rows.add(40, { table: 'orders' });
    rows.add(2, { table: 'orders' });
    expect(appends).toEqual([]);
    await run.close();
    expect(appends.map((a) => [a.signal, a.keep, a.records])).toEqual([['metrics', true, 1]]);
    expect(values()).toEqual([[true, 'rows', { table: 'orders', ...RUN }, 42]]);
    expect(appends[0]!.rows[0]!.resource.attributes).toEqual({ 'service.name': 'orders-etl' });
    expect(appends[0]!.rows[0]!.scope.name).toBe('pipemon');
  });

  it('collect open runs every interval and on flush, as ordinary records, each run on its own', async () => {
    const { meters, appends, values } = delivered(50);
    const first = meters.open();
    const second = meters.open();
    first.meter(RUN, () => true).createCounter('rows').add(1);
    second.meter({ ...RUN, [ATTR.runId]: 'run-2' }, () => true).createCounter('rows').add(2);
    await until(async () => appends.length >= 2, 'two periodic collections');
    expect(appends.every((a) => !a.keep)).toBe(true);
    expect(new Set(values().map(([, , attributes]) => (attributes as Record<string, unknown>)[ATTR.runId]))).toEqual(new Set(['run-1', 'run-2']));

    const slow = delivered();
    const open = slow.meters.open();
    open.meter(RUN, () => true).createGauge('lag').record(9);
    await slow.meters.flush(soon());
    expect(slow.values()).toEqual([[false, 'lag', RUN, 9]]);
    first.close();
    second.close();
    open.close();
  });

  it('drop and count measurements after the run\'s end, the activity\'s end or the shutdown, and make no provider for a run without metrics', async () => {
    const { meters, appends, values } = delivered();
    const run = meters.open();
    let stageOpen = true;
    const stageRows = run.meter({ ...RUN, [ATTR.stageName]: 'load' }, () => stageOpen).createCounter('rows');
    const runRows = run.meter(RUN, () => true).createCounter('rows');
    stageRows.add(1);
    stageOpen = false;
    stageRows.add(1);
    expect(meters.late).toBe(1);
    run.close();
    runRows.add(1);
    expect(meters.late).toBe(2);

    const quiet = meters.open();
    quiet.close();
    const opened = meters.open();
    opened.meter(RUN, () => true).createCounter('rows').add(5);
    await meters.shutdown(soon());
    // The open run's last values were collected by the shutdown, kept; after it every measurement is late.
    expect(values().filter(([keep]) => keep)).toHaveLength(2);
    expect(values()).toContainEqual([true, 'rows', RUN, 5]);
    const appended = appends.length;
    opened.meter(RUN, () => true).createCounter('rows').add(1);
    meters.open().meter(RUN, () => true).createHistogram('seconds').record(1);
    await settled();
    expect(meters.late).toBe(4);
    expect(appends.length).toBe(appended);
    // The stage's one measurement before its end is in its run's last collection.
    expect(values()).toContainEqual([true, 'rows', { ...RUN, [ATTR.stageName]: 'load' }, 1]);
  });
});

describe('run meters over a shared meter', () => {
  afterEach(() => metrics.disable());

  it('record on the application\'s global meter provider, with the run\'s identity, registered after the SDK started', async () => {
    let meterOf: Meter | null = null;
    const meters = createRunMeters(sharedRunProvider(() => (meterOf = metrics.getMeter('pipemon'))));
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    const run = meters.open();
    run.meter(RUN, () => true).createCounter('rows').add(3);
    expect(meterOf).not.toBeNull();
    await reader.forceFlush();
    const points = exporter.getMetrics().flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics.flatMap((metric) => metric.dataPoints as DataPoint<unknown>[])));
    expect(points.map((p) => [p.attributes, p.value])).toEqual([[RUN, 3]]);
    run.close();
    run.meter(RUN, () => true).createCounter('rows').add(3);
    expect(meters.late).toBe(1);
    await provider.shutdown();
  });
});
