/**
 * The alerting rules: one group about pipelines (each alert carries the pipeline's `owner`, for
 * Alertmanager to route on) and one about pipemon itself. Names, labels and annotations follow the
 * monitoring mixins: CamelCase with a shared prefix, `severity`, a static `summary`, a `description`
 * templated with labels and `$value`, and a `runbook_url` into dashboards/RUNBOOK.md.
 */
import { anyOf, type AlertName, type MixinConfig } from '../../contract/alert-config.js';
import { PIPELINE, PIPELINE_SERIES, quote, select, withOwner } from './promql.js';
import { recordedNames } from './recording-rules.js';
import type { AlertingRule, RuleFile, Severity } from './rule-types.js';

const PIPELINE_NAME = '{{ $labels.pipeline }} (tenant {{ $labels.tenant }})';
const RECEIVER_NAME = 'pipemon {{ $labels.instance }}';

export function alertingRules(config: MixinConfig): RuleFile<AlertingRule> {
  const alert = (name: AlertName, severity: Severity, expr: string, summary: string, description: string): AlertingRule => ({
    alert: name,
    expr,
    for: config.for[name],
    labels: { severity },
    annotations: { summary, description, runbook_url: `${config.runbookUrl}#${name.toLowerCase()}` },
  });
  const metric = (name: string, ...matchers: string[]) => select(config, name, ...matchers);
  // A run that failed is PipelineRunFailed's: the other last-run alerts stay quiet about it.
  const lastRunFailed = `${metric('pipemon_pipeline_consecutive_failures')} > 0`;
  const recorded = recordedNames(config);
  const { durationAnomaly, errorRate, failedChecks, late, receiver, rowsRejected, stuck } = config;

  return {
    groups: [
      {
        name: 'pipemon-pipelines',
        rules: [
          alert(
            'PipelineRunFailed',
            'critical',
            withOwner(config, failedRunsCondition(config)),
            'Pipeline runs failed.',
            `${PIPELINE_NAME}: {{ printf "%.0f" $value }} failed runs in a row (failure, error or timeout). This resolves when a run succeeds.${downstreamPipelines(config)}`,
          ),
          alert(
            'PipelineLate',
            'critical',
            withOwner(
              config,
              // A pipeline that never succeeded is measured from its last run end; one that never ended a
              // run, or has no expected interval (declared, or inferred from 3 runs), cannot be late.
              `(\n  time() - ${metric('pipemon_pipeline_last_success_timestamp_seconds')}\n  or\n  (\n    time() - ${metric('pipemon_pipeline_last_run_end_timestamp_seconds')}\n    unless on (${PIPELINE_SERIES}) ${metric('pipemon_pipeline_last_success_timestamp_seconds')}\n  )\n)\n> ${late.expectedIntervals} * ${metric('pipemon_pipeline_expected_interval_seconds')}`,
            ),
            'A pipeline has not succeeded within its expected interval.',
            `${PIPELINE_NAME} has had no successful run for {{ $value | humanizeDuration }}: more than ${late.expectedIntervals} of its expected intervals.`,
          ),
          alert(
            'PipelineRunStuck',
            'warning',
            withOwner(config, `time() - ${metric('pipemon_pipeline_oldest_running_heartbeat_timestamp_seconds')} > ${stuck.afterSeconds}`),
            'A pipeline run stopped sending heartbeats without ending.',
            `A run of ${PIPELINE_NAME} has not ended and sent no record for {{ $value | humanizeDuration }}.`,
          ),
          alert(
            'PipelineUpstreamUnhealthy',
            'warning',
            withOwner(config, `${metric('pipemon_pipeline_upstream_unhealthy')} == 1`),
            'A pipeline waits on an upstream pipeline that failed, is late or is stuck.',
            `${PIPELINE_NAME} reads what {{ $labels.upstream }} writes, and {{ $labels.upstream }} is failing, late or stuck: the late and stuck alerts of {{ $labels.pipeline }} are inhibited while this lasts, so that {{ $labels.upstream }}'s own alert is the one that pages.`,
          ),
          alert(
            'PipelineDurationAnomaly',
            'warning',
            withOwner(
              config,
              `(${metric('pipemon_pipeline_last_run_duration_seconds')} > ${durationAnomaly.minimumSeconds})\n> on (${PIPELINE}) group_left\n  ${durationAnomaly.factor} * ${recorded.medianDuration}\nunless on (${PIPELINE_SERIES}) ${lastRunFailed}`,
            ),
            'A pipeline run took far longer than usual.',
            `The last run of ${PIPELINE_NAME} took {{ $value | humanizeDuration }}: more than ${durationAnomaly.factor} times its median over ${durationAnomaly.window}.`,
          ),
          alert(
            'PipelineZeroRowsWritten',
            'warning',
            withOwner(config, `${zeroRowsSelector(config)} == 0\nunless on (${PIPELINE_SERIES}) ${lastRunFailed}`),
            'A pipeline run wrote no rows.',
            `The last run of ${PIPELINE_NAME} ended without failing and wrote {{ printf "%.0f" $value }} rows.`,
          ),
          alert(
            'PipelineRowsRejected',
            'warning',
            withOwner(config, `${metric('pipemon_pipeline_last_run_rows', 'kind="rejected"')} > ${rowsRejected.moreThan}`),
            'A pipeline run rejected rows.',
            `The last run of ${PIPELINE_NAME} rejected {{ printf "%.0f" $value }} rows.`,
          ),
          alert(
            'PipelineDataQualityCheckFailed',
            'warning',
            withOwner(config, `${metric('pipemon_pipeline_last_run_failed_checks')} > ${failedChecks.moreThan}`),
            'A data-quality check failed in a pipeline run.',
            `{{ printf "%.0f" $value }} data-quality checks failed in the last run of ${PIPELINE_NAME}.`,
          ),
          alert(
            'PipelineErrorRateHigh',
            'warning',
            withOwner(config, `${recorded.failedRatio} > ${errorRate.ratio}\nand ${recorded.runs} >= ${errorRate.minimumRuns}`),
            'Many runs of a pipeline failed.',
            `{{ $value | humanizePercentage }} of the runs of ${PIPELINE_NAME} in the last ${errorRate.window} failed (the threshold is ${Number((errorRate.ratio * 100).toFixed(2))}%).`,
          ),
        ],
      },
      {
        name: 'pipemon-receiver',
        rules: [
          alert(
            'PipemonDown',
            'critical',
            `${metric('up')} == 0\nor\nabsent(${metric('up')})`,
            'Prometheus cannot scrape pipemon.',
            `Prometheus cannot scrape ${RECEIVER_NAME} (job {{ $labels.job }}), or has no such target: no pipeline alert can fire while it lasts.`,
          ),
          alert(
            'PipemonRefusingRecords',
            'warning',
            `sum by (job, instance, signal, reason) (increase(${metric('pipemon_receiver_refused_records_total')}[${receiver.refusedWindow}])) > 0`,
            'pipemon is refusing records as invalid.',
            `${RECEIVER_NAME} refused {{ printf "%.0f" $value }} {{ $labels.signal }} records (reason {{ $labels.reason }}) in the last ${receiver.refusedWindow}; their senders were told not to retry them.`,
          ),
          alert(
            'PipemonWriteFailures',
            'critical',
            `sum by (job, instance, signal, reason) (increase(${metric('pipemon_receiver_failed_records_total')}[${receiver.failedWindow}])) > 0`,
            'pipemon is failing to store records.',
            `${RECEIVER_NAME} answered 503 for {{ printf "%.0f" $value }} {{ $labels.signal }} records (reason {{ $labels.reason }}) in the last ${receiver.failedWindow}; senders keep them in their spools and retry.`,
          ),
          alert(
            'PipemonQueueNearlyFull',
            'warning',
            `${metric('pipemon_writer_queue_bytes')} / ${metric('pipemon_writer_queue_limit_bytes')} > ${receiver.queueNearlyFullRatio}\nand ${metric('pipemon_writer_queue_limit_bytes')} > 0`,
            "pipemon's writer queue is nearly full.",
            `The writer queue of ${RECEIVER_NAME} holds {{ $value | humanizePercentage }} of its memory budget (--max-queue-bytes); when full, it answers 503.`,
          ),
        ],
      },
    ],
  };
}

/**
 * Consecutive failures at or past each pipeline's threshold: one branch per flaky override (a pipeline
 * takes the first override it matches) and one for every other pipeline.
 */
function failedRunsCondition(config: MixinConfig): string {
  const { failuresBeforePaging, flakyPipelines } = config.failedRuns;
  const failures = (...matchers: string[]) => select(config, 'pipemon_pipeline_consecutive_failures', ...matchers);
  const notMatching = (regexes: string[]) => (regexes.length > 0 ? [`pipeline!~${quote(anyOf(regexes))}`] : []);
  const regexes = flakyPipelines.map((flaky) => flaky.pipeline);
  const branches = [
    `${failures(...notMatching(regexes))} >= ${failuresBeforePaging}`,
    ...flakyPipelines.map(
      (flaky, i) => `${failures(`pipeline=~${quote(anyOf([flaky.pipeline]))}`, ...notMatching(regexes.slice(0, i)))} >= ${flaky.failures}`,
    ),
  ];
  return branches.join('\nor\n');
}

/**
 * The pipelines that read what the failed pipeline writes, named in its alert: a template query over
 * pipemon_pipeline_upstream_unhealthy with the alert's pipeline as `upstream` (%q quotes a label value
 * as a PromQL string); nothing when none reads it.
 */
function downstreamPipelines(config: MixinConfig): string {
  const literally = { ...config, pipemonSelector: config.pipemonSelector.replaceAll('%', '%%') };
  const matching = select(literally, 'pipemon_pipeline_upstream_unhealthy', 'tenant=%q', 'upstream=%q');
  const query = `printf \`count by (pipeline) (${matching})\` $labels.tenant $labels.pipeline | query | sortByLabel "pipeline"`;
  return `{{ with ${query} }} Downstream pipelines, which wait on it: {{ range $i, $s := . }}{{ if $i }}, {{ end }}{{ $s.Labels.pipeline }}{{ end }}.{{ end }}`;
}

function zeroRowsSelector(config: MixinConfig): string {
  const { allowedPipelines } = config.zeroRows;
  const allowed = allowedPipelines.length > 0 ? [`pipeline!~${quote(anyOf(allowedPipelines))}`] : [];
  return select(config, 'pipemon_pipeline_last_run_rows', 'kind="written"', ...allowed);
}
