import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { identifiedMeter } from '../../../sdk/activity/identified-meter.js';
import { ATTR } from '../../../contract/vocabulary.js';

const RUN = { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'run-1' };
const STAGE = { ...RUN, [ATTR.stageName]: 'load' };

/** A real MeterProvider and what one collection of it holds, by metric name: each point's attributes and value. */
function world() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const collect = async (): Promise<Record<string, [Attributes, unknown][]>> => {
    exporter.reset();
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics));
    return Object.fromEntries(metrics.map((m) => [m.descriptor.name, (m.dataPoints as DataPoint<unknown>[]).map((p) => [p.attributes, p.value])]));
  };
  return { meter: provider.getMeter('pipemon'), collect, close: () => provider.shutdown() };
}

function gate() {
  const state = { open: true, dropped: 0 };
  return { state, gate: { isOpen: () => state.open, dropped: () => void state.dropped++ } };
}

describe('a meter that carries its activity\'s identity', () => {
  it('adds the run\'s or stage\'s identity to every synchronous measurement, over attributes of the same name', async () => {
    const w = world();
    const run = identifiedMeter(w.meter, RUN, gate().gate);
    const stage = identifiedMeter(w.meter, STAGE, gate().gate);
    run.createCounter('rows').add(5, { table: 'orders', [ATTR.runId]: 'another-run' });
    stage.createCounter('rows').add(2);
    run.createUpDownCounter('in_flight').add(-1);
    stage.createHistogram('batch.seconds').record(0.5, { table: 'orders' });
    run.createGauge('lag').record(7);
    const points = await w.collect();
    expect(points.rows).toEqual([
      [{ table: 'orders', ...RUN }, 5],
      [STAGE, 2],
    ]);
    expect(points.in_flight).toEqual([[RUN, -1]]);
    expect(points['batch.seconds']!.map(([attributes]) => attributes)).toEqual([{ table: 'orders', ...STAGE }]);
    expect(points.lag).toEqual([[RUN, 7]]);
    await w.close();
  });

  it('adds it to observations, single and batched, and removes callbacks it was given', async () => {
    const w = world();
    const stage = identifiedMeter(w.meter, STAGE, gate().gate);
    const queue = stage.createObservableGauge('queue.depth');
    const calls = { depth: 0, batch: 0 };
    const depth = (result: { observe(value: number, attributes?: Attributes): void }) => {
      calls.depth++;
      result.observe(12, { queue: 'orders' });
    };
    queue.addCallback(depth);
    queue.addCallback(depth);
    const read = stage.createObservableCounter('bytes.read');
    const written = stage.createObservableUpDownCounter('bytes.buffered');
    const batch = (result: { observe(observable: any, value: number, attributes?: Attributes): void }) => {
      calls.batch++;
      result.observe(read, 4096);
      result.observe(written, 512, { [ATTR.stageName]: 'other' });
    };
    stage.addBatchObservableCallback(batch, [read, written]);
    const points = await w.collect();
    expect(points['queue.depth']).toEqual([[{ queue: 'orders', ...STAGE }, 12]]);
    expect(points['bytes.read']).toEqual([[STAGE, 4096]]);
    expect(points['bytes.buffered']).toEqual([[STAGE, 512]]);
    // Added twice, called once.
    expect(calls).toEqual({ depth: 1, batch: 1 });

    queue.removeCallback(depth);
    stage.removeBatchObservableCallback(batch, [read, written]);
    await w.collect();
    expect(calls).toEqual({ depth: 1, batch: 1 });
    await w.close();
  });

  it('drops and counts measurements once its gate is closed, and observes nothing then', async () => {
    const w = world();
    const { state, gate: closing } = gate();
    const meter = identifiedMeter(w.meter, RUN, closing);
    const rows = meter.createCounter('rows');
    const lag = meter.createHistogram('lag');
    let observed = 0;
    meter.createObservableGauge('depth').addCallback((result) => {
      observed++;
      result.observe(1);
    });
    rows.add(1);
    await w.collect();
    expect(observed).toBe(1);

    state.open = false;
    rows.add(10);
    lag.record(3);
    const points = await w.collect();
    expect(state.dropped).toBe(2);
    expect(observed).toBe(1);
    expect(points.rows).toEqual([[RUN, 1]]);
    expect(points.lag ?? []).toEqual([]);
    await w.close();
  });
});
