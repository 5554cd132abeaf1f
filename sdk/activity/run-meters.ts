/**
 * The metrics runs record. Each run that asks for a meter gets a MeterProvider of its own, collected
 * every `metricIntervalMs` and once more at the run's end, with cumulative temporality (what Prometheus
 * and the Collector expect): a process that runs run after run (a server, a scheduler) holds only its
 * open runs' streams, where one provider for all would hold and resend every run's cumulative streams
 * for the process's lifetime (and, past 2,000 per instrument, fold new runs into an overflow stream).
 * Each collection goes to the delivery's `metrics` queue and onto the spool at once.
 */
import { createNoopMeter, type Attributes, type Meter } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { withDeadline } from '../delivery/delivery.js';
import type { RecordQueue } from '../delivery/record-queue.js';
import { identifiedMeter } from './identified-meter.js';
import { pointsOf, type MetricPoint } from './metric-points.js';

export interface RunMeters {
  /** The meters of one run, made on its first `meter()`: a run that records no metric costs nothing. */
  open(): RunMeter;
  /** Collects every open run's metrics into the delivery, until `deadline` (epoch ms). Never rejects. */
  flush(deadline: number): Promise<void>;
  /** Closes every open run as its end does, and every run opened later; waits until `deadline`. Never rejects. */
  shutdown(deadline: number): Promise<void>;
  /** Measurements dropped because they came after their run, stage or the SDK ended. */
  readonly late: number;
}

export interface RunMeter {
  /** A Meter whose measurements carry `identity`; once this run is closed or `isOpen()` is false, they are dropped and counted. */
  meter(identity: Attributes, isOpen: () => boolean): Meter;
  /**
   * Collects the run's metrics a last time, as kept records; later measurements are dropped. Resolves
   * once they are on the spool (microtasks, for synchronous instruments) or at the next turn of the event
   * loop, whichever comes first, so that waiting for it never holds a run longer. Idempotent; never rejects.
   */
  close(): Promise<void>;
}

/** Where one run's measurements go. */
export interface RunProvider {
  readonly meter: Meter;
  flush(): Promise<void>;
  /** The last collection, then nothing more. */
  close(): Promise<void>;
}

const NOOP_METER = createNoopMeter();
const NOTHING_TO_COLLECT = Promise.resolve();

export function createRunMeters(provide: () => RunProvider): RunMeters {
  let late = 0;
  let stopped = false;
  const live = new Map<RunMeter, RunProvider>();
  const closing = new Set<Promise<void>>();
  const gateDropped = () => void late++;

  const track = (closed: Promise<void>): Promise<void> => {
    const settled: Promise<void> = closed.catch(() => undefined).finally(() => closing.delete(settled));
    closing.add(settled);
    return settled;
  };

  const open = (): RunMeter => {
    let provider: RunProvider | null = null;
    let closed = stopped;
    const run: RunMeter = {
      meter(identity, isOpen) {
        if (!closed && provider === null) live.set(run, (provider = provide()));
        return identifiedMeter(provider?.meter ?? NOOP_METER, identity, { isOpen: () => !closed && isOpen(), dropped: gateDropped });
      },
      close() {
        if (closed || provider === null) {
          closed = true;
          return NOTHING_TO_COLLECT;
        }
        closed = true;
        live.delete(run);
        return Promise.race([track(provider.close()), new Promise<void>((resolve) => setImmediate(resolve))]);
      },
    };
    return run;
  };

  return {
    open,
    flush: (deadline) => withDeadline(Promise.allSettled([...[...live.values()].map((provider) => provider.flush()), ...closing]), deadline, Date.now),
    shutdown(deadline) {
      stopped = true;
      for (const run of [...live.keys()]) run.close();
      return withDeadline(Promise.allSettled(closing), deadline, Date.now);
    },
    get late() {
      return late;
    },
  };
}

export interface DeliveredOptions {
  queue: RecordQueue<MetricPoint>;
  resource: Resource;
  /** The instrumentation scope of the run's meter. */
  scope: string;
  intervalMs: number;
}

/** Per run, a MeterProvider whose periodic reader hands each collection to the delivery. */
export function deliveredRunProvider({ queue, resource, scope, intervalMs }: DeliveredOptions): () => RunProvider {
  return () => {
    let last = false;
    const exporter: PushMetricExporter = {
      export(collected: ResourceMetrics, done: (result: ExportResult) => void) {
        for (const point of pointsOf(collected, last)) queue.push(point);
        // On disk now rather than within the buffer interval: a collection is already a batch.
        queue.flush();
        done({ code: ExportResultCode.SUCCESS });
      },
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    const provider = new MeterProvider({ resource, readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: intervalMs })] });
    return {
      meter: provider.getMeter(scope),
      flush: () => provider.forceFlush(),
      close() {
        last = true;
        return provider.shutdown();
      },
    };
  };
}

/**
 * One meter for every run, which something else collects: the application's globally registered
 * MeterProvider (its readers export), or a no-op one when export is off.
 */
export function sharedRunProvider(meterOf: () => Meter): () => RunProvider {
  return () => ({ meter: meterOf(), flush: () => Promise.resolve(), close: () => Promise.resolve() });
}
