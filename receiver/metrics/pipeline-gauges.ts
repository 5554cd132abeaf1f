/**
 * The pipelines' state as Prometheus gauges, read from the database at each scrape (query/pipeline-state.ts,
 * query/pipeline-upstreams.ts) rather than kept in memory: right from the first scrape after a restart,
 * and the same on every receiver sharing the database. The alert rules (dashboards/prometheus) and the
 * Grafana dashboards read these names and labels.
 */
import client from 'prom-client';
import type { PipelineUpstream } from '../../contract/lineage-sql.js';
import { isUnhealthy, type PipelineState } from '../../contract/pipeline-facts.js';
import { createLabelBound, type LabelBound } from './label-bound.js';
import { describeDatabaseError } from '../model/database-errors.js';

export interface PipelineGaugeOptions {
  /** Every pipeline's state now: readPipelineStates bound to the database. */
  read(): Promise<PipelineState[]>;
  /** Every pipeline's direct upstreams: readPipelineUpstreams bound to the database. */
  readUpstreams(): Promise<PipelineUpstream[]>;
  /** Counts a failed read; the gauges keep their previous values. */
  readFailed(): void;
  /** Distinct pipeline (and owner) values per gauge, past which a value is OVERFLOW_LABEL. */
  maxPipelines?: number;
  /** Unix milliseconds, for the late and stuck judgements: Date.now unless a test steps a clock of its own. */
  now?: () => number;
}

interface Snapshot {
  states: PipelineState[];
  upstreams: PipelineUpstream[];
}

/** A gauge's values for one pipeline, each with its labels beyond tenant and pipeline. */
type Series = [labels: Record<string, string>, value: number][];
const one = (value: number | null): Series => (value === null ? [] : [[{}, value]]);

interface StateGauge {
  name: string;
  help: string;
  extraLabels: string[];
  series(state: PipelineState, bounded: LabelBound): Series;
}

const gauge = (name: string, help: string, series: (state: PipelineState) => number | null): StateGauge => ({
  name,
  help,
  extraLabels: [],
  series: (state) => one(series(state)),
});

const GAUGES: StateGauge[] = [
  {
    name: 'pipemon_pipeline_info',
    help: 'Always 1: a pipeline and the team that owns it (pipemon.pipeline.owner of its latest run).',
    extraLabels: ['owner'],
    series: (s, bounded) => [[{ owner: bounded('owners', s.owner) }, 1]],
  },
  gauge('pipemon_pipeline_runs_in_progress', 'Pipeline runs started and not yet ended.', (s) => s.running),
  gauge(
    'pipemon_pipeline_expected_interval_seconds',
    'How often the pipeline should run: declared by its latest run, else the median gap between its latest run starts.',
    (s) => s.expectedIntervalSeconds,
  ),
  // From the database, not from the runs this receiver saw end: with several receivers, each sees some.
  gauge(
    'pipemon_pipeline_last_success_timestamp_seconds',
    'When the last successful run of the pipeline ended (Unix seconds). Alert on time() minus this.',
    (s) => s.lastSuccessSeconds,
  ),
  gauge('pipemon_pipeline_last_run_end_timestamp_seconds', 'When the latest ended run ended (Unix seconds).', (s) => s.lastRunEndSeconds),
  gauge('pipemon_pipeline_last_run_duration_seconds', 'Duration of the latest ended run.', (s) => s.lastRunDurationSeconds),
  {
    name: 'pipemon_pipeline_last_run_rows',
    help: 'Rows of the latest ended run, by kind (read, written, rejected), as the run reported them.',
    extraLabels: ['kind'],
    series: (s) => (['read', 'written', 'rejected'] as const).flatMap((kind): Series => (s.lastRunRows[kind] === null ? [] : [[{ kind }, s.lastRunRows[kind]!]])),
  },
  gauge(
    'pipemon_pipeline_last_run_failed_checks',
    'Data-quality checks (pipeline.check records) that failed in the latest ended run.',
    (s) => s.lastRunFailedChecks,
  ),
  gauge(
    'pipemon_pipeline_consecutive_failures',
    'Ended runs that failed (failure, error, timeout) since the last successful one: 0 once a run succeeds.',
    (s) => s.consecutiveFailures,
  ),
  gauge(
    'pipemon_pipeline_oldest_running_heartbeat_timestamp_seconds',
    'The oldest last sign of life (start or heartbeat) among running runs (Unix seconds). Alert on time() minus this.',
    (s) => s.oldestRunningHeartbeatSeconds,
  ),
  gauge('pipemon_pipeline_oldest_running_start_timestamp_seconds', 'When the oldest running run started (Unix seconds).', (s) => s.oldestRunningStartSeconds),
];

/** Registers the pipeline state gauges on `registry`: from now on each scrape reads the state once. */
export function registerPipelineGauges(registry: client.Registry, options: PipelineGaugeOptions): void {
  const snapshot = sharedRead(options);
  const bounded = createLabelBound(options.maxPipelines);
  for (const { name, help, extraLabels, series } of GAUGES) {
    new client.Gauge({
      name,
      help,
      labelNames: ['tenant', 'pipeline', ...extraLabels],
      registers: [registry],
      async collect() {
        const read = await snapshot();
        if (!read) return;
        this.reset();
        for (const state of read.states) {
          const pipeline = bounded('state', state.pipeline);
          for (const [labels, value] of series(state, bounded)) this.set({ tenant: state.tenant, pipeline, ...labels }, value);
        }
      },
    });
  }
  registerUpstreamGauge(registry, snapshot, bounded, options.now ?? Date.now);
}

/**
 * One series per pipeline and direct upstream, 1 while the upstream is unhealthy: what the
 * PipelineUpstreamUnhealthy alert fires on, and what inhibits the pipeline's own late and stuck alerts.
 * The upstream label is bounded as the pipeline label is, under the same key, so that it names the
 * upstream's own series. Pairs that overflow into one series keep the worst value.
 */
function registerUpstreamGauge(registry: client.Registry, snapshot: () => Promise<Snapshot | null>, bounded: LabelBound, now: () => number): void {
  new client.Gauge({
    name: 'pipemon_pipeline_upstream_unhealthy',
    help: 'Per direct upstream pipeline (one that writes a dataset this pipeline reads): 1 while the upstream is unhealthy (its latest run failed, it is late, or it is stuck), else 0.',
    labelNames: ['tenant', 'pipeline', 'upstream'],
    registers: [registry],
    async collect() {
      const read = await snapshot();
      if (!read) return;
      this.reset();
      for (const { labels, value } of upstreamSeries(read, bounded, now() / 1000)) this.set(labels, value);
    },
  });
}

function upstreamSeries({ states, upstreams }: Snapshot, bounded: LabelBound, nowSeconds: number): { labels: Record<string, string>; value: number }[] {
  const byName = new Map(states.map((state) => [`${state.tenant}\u0000${state.pipeline}`, state]));
  const series = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const { tenant, pipeline, upstream } of upstreams) {
    const state = byName.get(`${tenant}\u0000${upstream}`);
    const labels = { tenant, pipeline: bounded('state', pipeline), upstream: bounded('state', upstream) };
    const key = JSON.stringify(labels);
    // An upstream without runs (static lineage only) has no state to judge: not unhealthy.
    const value = Math.max(series.get(key)?.value ?? 0, state && isUnhealthy(state, nowSeconds) ? 1 : 0);
    series.set(key, { labels, value });
  }
  return [...series.values()];
}

/**
 * One read per scrape, shared by every gauge (prom-client collects them together); a read under way
 * serves the scrapes that arrive meanwhile (several Prometheus servers), so reads never pile up. A
 * failed read resolves to null, is counted, and is logged once per reason.
 */
function sharedRead({ read, readUpstreams, readFailed }: PipelineGaugeOptions): () => Promise<Snapshot | null> {
  let reading: Promise<Snapshot | null> | null = null;
  let lastError = '';
  const failed = (error: unknown) => {
    readFailed();
    const why = describeDatabaseError(error);
    if (why !== lastError) console.warn(`pipemon: reading the pipelines' state for /metrics failed (shown once per reason): ${why}`);
    lastError = why;
    return null;
  };
  return () =>
    (reading ??= Promise.all([read(), readUpstreams()])
      .then(([states, upstreams]) => ({ states, upstreams }))
      .catch(failed)
      .finally(() => {
        reading = null;
      }));
}
