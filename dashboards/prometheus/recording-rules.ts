/**
 * Recording rules, named `level:metric:operations` (prometheus.io/docs/practices/rules): what the
 * alerts compare against and what dashboards plot. Aggregated `by (job, tenant, pipeline)`: several
 * receivers on one database export the same pipelines.
 */
import { FAILED_RESULTS } from '../../contract/vocabulary.js';
import type { MixinConfig } from '../../contract/alert-config.js';
import { PIPELINE, select } from './promql.js';
import type { RecordingRule, RuleFile } from './rule-types.js';

/** The recorded series' names: they carry the configured windows. */
export function recordedNames(config: MixinConfig) {
  const { window: durationWindow } = config.durationAnomaly;
  const { window: rateWindow } = config.errorRate;
  return {
    /** Median duration of the pipeline's runs over the anomaly window. */
    medianDuration: `tenant_pipeline:pipemon_pipeline_last_run_duration_seconds:median_over_time${durationWindow}`,
    /** Runs ended in the error-rate window (all results). */
    runs: `tenant_pipeline:pipemon_pipeline_runs:increase${rateWindow}`,
    /** Share of those runs that failed (failure, error, timeout); 0 for a pipeline with runs and no failure. */
    failedRatio: `tenant_pipeline:pipemon_pipeline_runs_failed:ratio${rateWindow}`,
  };
}

export function recordingRules(config: MixinConfig): RuleFile<RecordingRule> {
  const names = recordedNames(config);
  const failed = select(config, 'pipemon_pipeline_runs_total', `result=~"${FAILED_RESULTS.join('|')}"`);
  return {
    groups: [
      {
        name: 'pipemon-pipelines.rules',
        rules: [
          {
            record: names.medianDuration,
            expr: `max by (${PIPELINE}) (\n  quantile_over_time(0.5, ${select(config, 'pipemon_pipeline_last_run_duration_seconds')}[${config.durationAnomaly.window}])\n)`,
          },
          {
            record: names.runs,
            expr: `sum by (${PIPELINE}) (increase(${select(config, 'pipemon_pipeline_runs_total')}[${config.errorRate.window}]))`,
          },
          {
            // A pipeline whose runs all succeeded has no failed series: `or 0 * runs` records 0 for it; one
            // without runs in the window records nothing rather than 0/0.
            record: names.failedRatio,
            expr: `(\n  sum by (${PIPELINE}) (increase(${failed}[${config.errorRate.window}]))\n  or 0 * ${names.runs}\n)\n/ (${names.runs} > 0)`,
          },
        ],
      },
    ],
  };
}
