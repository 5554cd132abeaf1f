/**
 * The mixin's public API: build the alerting and recording rules from a config and render them as
 * Prometheus rule files.
 *
 * Test-sized rules for a real Prometheus (every `for:` 10 s, a run stuck after 2 minutes without a
 * record), as file name -> YAML for test/helpers/prometheus.ts' startPrometheus({ rules }):
 *
 *   import { config, forEveryAlert, renderRules } from '../dashboards/prometheus/rules.js';
 *   const rules = renderRules({ ...config, for: forEveryAlert('10s'), stuck: { afterSeconds: 120 } });
 *   // { 'alerts.yaml': '...', 'recording-rules.yaml': '...' }
 *
 * or `buildRules({ ...config, for: { ...config.for, PipelineLate: '30s' } })` for the rule objects.
 */
import { Document } from 'yaml';
import { alertingRules } from './alerts.js';
import { ALERT_NAMES, type MixinConfig } from '../../contract/alert-config.js';
import { recordingRules } from './recording-rules.js';
import type { AlertingRule, RecordingRule, RuleFile } from './rule-types.js';

export { ALERT_NAMES, config, forEveryAlert, type AlertName, type MixinConfig } from '../../contract/alert-config.js';
export type { AlertingRule, RecordingRule, RuleFile } from './rule-types.js';

export interface Rules {
  alerts: RuleFile<AlertingRule>;
  recordingRules: RuleFile<RecordingRule>;
}

/** The rules for `config`; throws naming the setting when a value is not usable. */
export function buildRules(config: MixinConfig): Rules {
  validate(config);
  return { alerts: alertingRules(config), recordingRules: recordingRules(config) };
}

export const REBUILD_COMMAND = 'npx tsc -p tsconfig.json && node dist/dashboards/prometheus/build.js';

/** The rule files for `config`, by file name: `alerts.yaml` and `recording-rules.yaml`. */
export function renderRules(config: MixinConfig): { 'alerts.yaml': string; 'recording-rules.yaml': string } {
  const rules = buildRules(config);
  return { 'alerts.yaml': renderRuleFile(rules.alerts), 'recording-rules.yaml': renderRuleFile(rules.recordingRules) };
}

function renderRuleFile(file: RuleFile<AlertingRule | RecordingRule>): string {
  const document = new Document(file);
  document.commentBefore = ` Generated from dashboards/prometheus/*.ts: do not edit. Rebuild with\n   ${REBUILD_COMMAND}`;
  // lineWidth 0: no folding, so each expression reads as written (multi-line ones as literal blocks).
  return document.toString({ lineWidth: 0 });
}

/** Prometheus' duration syntax (model.ParseDuration). */
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** Seconds of a Prometheus duration such as 15s, 1m30s or 500ms; throws on what is none. */
export function durationSeconds(duration: string): number {
  if (!DURATION.test(duration)) throw new Error(`"${duration}" is not a Prometheus duration such as 15s or 1m`);
  return [...duration.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)].reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_SECONDS[unit!]!, 0);
}

function validate(config: MixinConfig): void {
  const fail = (setting: string, expected: string, value: unknown) => {
    throw new Error(`pipemon mixin config: ${setting} must be ${expected}, got ${JSON.stringify(value)} (contract/alert-config.ts)`);
  };
  const duration = (setting: string, value: string) => DURATION.test(value) || fail(setting, 'a Prometheus duration such as 30s, 5m or 1h', value);
  const positive = (setting: string, value: number) => value > 0 || fail(setting, 'a positive number', value);
  const count = (setting: string, value: number) => (Number.isInteger(value) && value >= 1) || fail(setting, 'an integer of at least 1', value);
  const atLeastZero = (setting: string, value: number) => (Number.isInteger(value) && value >= 0) || fail(setting, 'an integer of at least 0', value);
  // JavaScript's RegExp accepts nearly what RE2 accepts; promtool check rules catches the rest.
  const regex = (setting: string, value: string) => {
    try {
      new RegExp(value);
    } catch {
      fail(setting, 'a regular expression', value);
    }
  };

  for (const name of ALERT_NAMES) duration(`for.${name}`, config.for[name]);
  count('failedRuns.failuresBeforePaging', config.failedRuns.failuresBeforePaging);
  config.failedRuns.flakyPipelines.forEach((flaky, i) => {
    regex(`failedRuns.flakyPipelines[${i}].pipeline`, flaky.pipeline);
    count(`failedRuns.flakyPipelines[${i}].failures`, flaky.failures);
  });
  config.zeroRows.allowedPipelines.forEach((pipeline, i) => regex(`zeroRows.allowedPipelines[${i}]`, pipeline));
  atLeastZero('rowsRejected.moreThan', config.rowsRejected.moreThan);
  atLeastZero('failedChecks.moreThan', config.failedChecks.moreThan);
  positive('late.expectedIntervals', config.late.expectedIntervals);
  positive('stuck.afterSeconds', config.stuck.afterSeconds);
  positive('durationAnomaly.factor', config.durationAnomaly.factor);
  duration('durationAnomaly.window', config.durationAnomaly.window);
  positive('errorRate.ratio', config.errorRate.ratio);
  duration('errorRate.window', config.errorRate.window);
  count('errorRate.minimumRuns', config.errorRate.minimumRuns);
  duration('receiver.refusedWindow', config.receiver.refusedWindow);
  duration('receiver.failedWindow', config.receiver.failedWindow);
  positive('receiver.queueNearlyFullRatio', config.receiver.queueNearlyFullRatio);
}
