/**
 * The pipemon mixin's one config: every threshold, window and selector the alert and recording rules
 * use. Edit it, then rebuild the committed YAML:
 *
 *   npx tsc -p tsconfig.json && node dist/dashboards/prometheus/build.js
 *
 * Durations are Prometheus durations ('90s', '5m', '1h', '7d'). Tests against a real Prometheus
 * shrink them: see rules.ts.
 */

export const ALERT_NAMES = [
  'PipelineRunFailed',
  'PipelineLate',
  'PipelineRunStuck',
  'PipelineUpstreamUnhealthy',
  'PipelineDurationAnomaly',
  'PipelineZeroRowsWritten',
  'PipelineRowsRejected',
  'PipelineDataQualityCheckFailed',
  'PipelineErrorRateHigh',
  'PipemonDown',
  'PipemonRefusingRecords',
  'PipemonWriteFailures',
  'PipemonQueueNearlyFull',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** Pipelines whose names match `pipeline` (a fully anchored RE2 regex, as PromQL's `=~`) page after `failures` failed runs in a row. */
export interface FlakyPipeline {
  pipeline: string;
  failures: number;
}

export interface MixinConfig {
  /** Label matchers of pipemon's scrape job, added to every selector (and to `absent()` for PipemonDown). */
  pipemonSelector: string;
  /** Where RUNBOOK.md is served: each alert links to `<runbookUrl>#<alert name in lower case>`. */
  runbookUrl: string;
  /** How long each alert's condition must hold before it fires. */
  for: Record<AlertName, string>;
  failedRuns: {
    /** Failed runs (failure, error, timeout) in a row before PipelineRunFailed fires; a success resets the count. */
    failuresBeforePaging: number;
    /** Overrides for flaky pipelines; the first matching entry wins. */
    flakyPipelines: FlakyPipeline[];
  };
  late: {
    /**
     * Late once the last success (or, for a pipeline that never succeeded, the last run end) is this
     * many expected intervals old. Two, as prometheus.io advises for batch jobs: one missed run is a
     * warning sign, two are an outage.
     */
    expectedIntervals: number;
  };
  stuck: {
    /** A running run with no record (start or heartbeat) for this long is stuck: the SDK heartbeats every 60 s, so this is 10 missed beats. */
    afterSeconds: number;
  };
  durationAnomaly: {
    /** The last run took more than `factor` times the median duration of the pipeline's last runs over `window`. */
    factor: number;
    /**
     * The median is taken over time of the last-run-duration gauge, which holds each run's duration
     * until the next run ends: for a regular schedule, every run weighs the same. A median, not a p95
     * or a mean, so that the anomalous run itself does not raise the bar while it is the latest.
     */
    window: string;
    /** Runs shorter than this never count as anomalous: a 10 s job taking 30 s is no news. */
    minimumSeconds: number;
  };
  /**
   * Data health, judged on the latest ended run: PipelineZeroRowsWritten, PipelineRowsRejected and
   * PipelineDataQualityCheckFailed fire on it, and the query API, the web view and the Grafana status
   * show the pipeline as `warning` (receiver/query/pipeline-state.ts, dashboards/grafana/attention.ts).
   */
  zeroRows: {
    /**
     * Pipelines (RE2 regexes) for which a successful run that writes nothing is normal, e.g. incremental
     * loaders. Every other pipeline's history writes rows: a run that did not fail and wrote 0 is news.
     */
    allowedPipelines: string[];
  };
  rowsRejected: {
    /** The latest run rejected more rows than this. */
    moreThan: number;
  };
  failedChecks: {
    /** More data-quality checks than this failed in the latest run. */
    moreThan: number;
  };
  errorRate: {
    /** PipelineErrorRateHigh fires when more than this share of the runs in `window` failed... */
    ratio: number;
    window: string;
    /** ...and at least this many runs ended in it: two runs of a daily job are not a rate. */
    minimumRuns: number;
  };
  /** Windows of the receiver's refused and failed record counters. */
  receiver: {
    refusedWindow: string;
    failedWindow: string;
    /** The writer's queue (request bytes held before COMMIT) as a share of --max-queue-bytes; past 1 the receiver answers 503. */
    queueNearlyFullRatio: number;
  };
}

export const config: MixinConfig = {
  pipemonSelector: 'job="pipemon"',
  // A placeholder: point it at where your team reads dashboards/RUNBOOK.md (your repository, a wiki).
  runbookUrl: 'https://github.com/OWNER/pipemon/blob/main/dashboards/RUNBOOK.md',
  for: {
    // A failed run is a stored fact, not a level that wavers: nothing to wait out, so it fires at the
    // first evaluation that sees it (dashboards/RUNBOOK.md, "Time to page"). Pipelines whose failures
    // a retry usually mends page later through failedRuns.flakyPipelines, not through a wait.
    PipelineRunFailed: '0s',
    // Gauges of the last run change once per run: a short wait only rides over one odd scrape (they
    // are read from the database at scrape time; a failed read repeats the previous values).
    PipelineZeroRowsWritten: '1m',
    PipelineRowsRejected: '1m',
    PipelineDataQualityCheckFailed: '1m',
    // The thresholds hold the grace already (two intervals, ten heartbeats); five more minutes let
    // senders' spools replay what a receiver outage held back.
    PipelineLate: '5m',
    PipelineRunStuck: '5m',
    // Shorter than PipelineLate's and PipelineRunStuck's: it inhibits them (dashboards/alertmanager), so
    // it must fire before they do.
    PipelineUpstreamUnhealthy: '1m',
    // Warnings about trends over days: no hurry.
    PipelineDurationAnomaly: '5m',
    PipelineErrorRateHigh: '15m',
    // A restart (an upgrade) takes seconds; five minutes without a scrape is an outage.
    PipemonDown: '5m',
    // Refused records are lost, but one sender's bad batch is not yet a trend.
    PipemonRefusingRecords: '5m',
    // Senders retry 503s from their spools: a short outage or burst heals itself.
    PipemonWriteFailures: '10m',
    PipemonQueueNearlyFull: '10m',
  },
  failedRuns: {
    failuresBeforePaging: 1,
    // e.g. { pipeline: 'partner-api-.*', failures: 3 }: page only after 3 failed runs in a row.
    flakyPipelines: [],
  },
  late: { expectedIntervals: 2 },
  stuck: { afterSeconds: 600 },
  durationAnomaly: { factor: 2, window: '7d', minimumSeconds: 60 },
  zeroRows: { allowedPipelines: [] },
  // Any rejected row and any failed check: each is data the target is missing or should not trust.
  rowsRejected: { moreThan: 0 },
  failedChecks: { moreThan: 0 },
  errorRate: { ratio: 0.2, window: '1d', minimumRuns: 5 },
  receiver: { refusedWindow: '10m', failedWindow: '5m', queueNearlyFullRatio: 0.8 },
};

/** One RE2 alternation of `regexes`, each grouped so that its own `|` stays inside it. */
export function anyOf(regexes: readonly string[]): string {
  return regexes.map((regex) => `(?:${regex})`).join('|');
}

/**
 * `regexes` matched against a whole name, as PromQL's `=~` matches a label, for the judgments made
 * outside PromQL (JavaScript in the API, PostgreSQL in Grafana): null when there are none. The lists
 * here hold plain patterns (`incremental-.*`), whose syntax RE2, JavaScript and PostgreSQL read alike.
 */
export function wholeNameRegex(regexes: readonly string[]): string | null {
  return regexes.length === 0 ? null : `^(?:${anyOf(regexes)})$`;
}

/** Every alert's `for:` set to `duration`: for tests against a real Prometheus, e.g. `{ ...config, for: forEveryAlert('10s') }`. */
export function forEveryAlert(duration: string): Record<AlertName, string> {
  return Object.fromEntries(ALERT_NAMES.map((name) => [name, duration])) as Record<AlertName, string>;
}
