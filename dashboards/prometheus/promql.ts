/**
 * Small PromQL builders shared by the alert and recording rules, so that the job selector, the owner
 * join and regex lists are spelled once.
 */
import type { MixinConfig } from '../../contract/alert-config.js';

/** A PromQL string literal (double-quoted, Go escapes: JSON's are a subset). */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** `metric{<pipemon selector>, ...matchers}`. */
export function select(config: MixinConfig, metric: string, ...matchers: string[]): string {
  return `${metric}{${[config.pipemonSelector, ...matchers].join(', ')}}`;
}

/** The labels that name one pipeline's series across pipemon's gauges; `instance` is left out so that aggregates over several receivers join too. */
export const PIPELINE = 'job, tenant, pipeline';
/** The labels of one pipeline's series as one receiver exports them. */
export const PIPELINE_SERIES = 'job, instance, tenant, pipeline';

/**
 * `expr` with the pipeline's `owner` label, for Alertmanager to route on. `topk` keeps one info series
 * per pipeline: several receivers on one database export the same pipelines, and two of them may
 * briefly disagree on the owner after it changed; a duplicate would fail the whole rule evaluation.
 */
export function withOwner(config: MixinConfig, expr: string): string {
  return `(\n${indent(expr)}\n)\n* on (${PIPELINE}) group_left (owner)\n  topk by (${PIPELINE}) (1, ${select(config, 'pipemon_pipeline_info')})`;
}

function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}
