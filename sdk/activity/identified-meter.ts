/**
 * A Meter whose measurements carry a run's or stage's identity (pipeline, run id, stage) as data point
 * attributes, over the meter of its run: the receiver attaches the points to the run by them. The
 * identity wins over attributes of the same name, so that no point can claim another run.
 */
import type {
  Attributes,
  BatchObservableCallback,
  Context,
  Counter,
  Meter,
  Observable,
  ObservableCallback,
} from '@opentelemetry/api';

export interface MeasurementGate {
  /** False once the activity ended or its run's meters closed: measurements are then dropped. */
  isOpen(): boolean;
  /** Counts a measurement dropped because the gate was closed. */
  dropped(): void;
}

type Measure = (value: number, attributes?: Attributes, context?: Context) => void;

export function identifiedMeter(meter: Meter, identity: Attributes, gate: MeasurementGate): Meter {
  const withIdentity = (attributes: Attributes | undefined): Attributes =>
    attributes === undefined ? identity : Object.assign({}, attributes, identity);
  const gated =
    (measure: Measure): Measure =>
    (value, attributes, context) => {
      if (gate.isOpen()) measure(value, withIdentity(attributes), context);
      else gate.dropped();
    };
  const counter = (inner: Counter): Counter => ({ add: gated((value, attributes, context) => inner.add(value, attributes, context)) });
  const recorder = (inner: { record: Measure }) => ({ record: gated((value, attributes, context) => inner.record(value, attributes, context)) });

  // Wrapped observables go to the caller; batch callbacks name them, where the meter wants its own.
  const innerOf = new WeakMap<Observable, Observable>();
  const unwrap = (observables: Observable[]) => observables.map((observable) => innerOf.get(observable) ?? observable);
  const observable = (inner: Observable): Observable => {
    const callbacks = new WeakMap<ObservableCallback, ObservableCallback>();
    const wrapped: Observable = {
      addCallback(callback) {
        if (callbacks.has(callback)) return;
        // After the activity's end its callbacks observe nothing; they go with the run's meters.
        const own: ObservableCallback = (result) =>
          gate.isOpen() ? callback({ observe: (value, attributes) => result.observe(value, withIdentity(attributes)) }) : undefined;
        callbacks.set(callback, own);
        inner.addCallback(own);
      },
      removeCallback(callback) {
        const own = callbacks.get(callback);
        if (own === undefined) return;
        callbacks.delete(callback);
        inner.removeCallback(own);
      },
    };
    innerOf.set(wrapped, inner);
    return wrapped;
  };
  const batchCallbacks = new WeakMap<BatchObservableCallback, BatchObservableCallback>();
  const ownBatch = (callback: BatchObservableCallback): BatchObservableCallback => {
    let own = batchCallbacks.get(callback);
    if (own === undefined) {
      own = (result) =>
        gate.isOpen()
          ? callback({ observe: (observed, value, attributes) => result.observe(innerOf.get(observed) ?? observed, value, withIdentity(attributes)) })
          : undefined;
      batchCallbacks.set(callback, own);
    }
    return own;
  };

  return {
    createCounter: (name, options) => counter(meter.createCounter(name, options)),
    createUpDownCounter: (name, options) => counter(meter.createUpDownCounter(name, options)),
    createHistogram: (name, options) => recorder(meter.createHistogram(name, options)),
    createGauge: (name, options) => recorder(meter.createGauge(name, options)),
    createObservableCounter: (name, options) => observable(meter.createObservableCounter(name, options)),
    createObservableUpDownCounter: (name, options) => observable(meter.createObservableUpDownCounter(name, options)),
    createObservableGauge: (name, options) => observable(meter.createObservableGauge(name, options)),
    addBatchObservableCallback: (callback, observables) => meter.addBatchObservableCallback(ownBatch(callback), unwrap(observables)),
    removeBatchObservableCallback: (callback, observables) => meter.removeBatchObservableCallback(ownBatch(callback), unwrap(observables)),
  };
}
