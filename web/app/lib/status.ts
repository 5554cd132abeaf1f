/**
 * A pipeline's status now, from the figures of /api/v1/metrics/pipelines (or a lineage graph's pipeline
 * nodes, which carry the same judgements without the recent runs): its conditions in the order
 * they need attention, the first one being its status. Failing and stuck are the alerts'
 * PipelineRunFailed and PipelineRunStuck, late is PipelineLate, warning is what the data-health alerts
 * (PipelineDataQualityCheckFailed, PipelineRowsRejected, PipelineZeroRowsWritten) see in the latest
 * run; the API judges late, stuck and warning as the alerts do.
 *
 * Warning ranks after failing, stuck and late: those mean the data did not arrive (the run failed, hangs
 * or never came), which is worse than data that arrived and is suspect. It ranks before running and ok:
 * a pipeline whose latest run delivered bad data is not fine, whether or not a new run is under way.
 */
import { count } from './format.js';
import type { LineageNode, PipelineFigures } from './types.js';

/** What the status is read from: a lineage node's pipeline state, or the pipelines list's figures (which add recent runs). */
export type StatusFacts = Extract<LineageNode, { kind: 'pipeline' }>['pipeline'] & Partial<Pick<PipelineFigures, 'recent_runs'>>;

export const STATUSES = ['failing', 'stuck', 'late', 'warning', 'running', 'ok', 'idle'] as const;
export type PipelineStatus = (typeof STATUSES)[number];

export function conditions(p: StatusFacts): PipelineStatus[] {
  const found: PipelineStatus[] = [];
  if (p.consecutive_failures > 0) found.push('failing');
  if (p.stuck) found.push('stuck');
  if (p.late) found.push('late');
  if (p.warning) found.push('warning');
  // A stuck pipeline is running too: saying so twice adds nothing.
  if (!p.stuck && (p.running > 0 || p.recent_runs?.[0]?.state === 'running')) found.push('running');
  if (found.length === 0) found.push(p.last_run_ended_at ? 'ok' : 'idle');
  return found;
}

/** What needs attention first, then by name. */
export function byAttention(a: PipelineFigures, b: PipelineFigures): number {
  const rank = (p: PipelineFigures) => STATUSES.indexOf(conditions(p)[0]!);
  return rank(a) - rank(b) || a.pipeline.localeCompare(b.pipeline);
}

const plural = (n: number, one: string, many: string) => `${count(n)} ${n === 1 ? one : many}`;

function failedChecksWords({ failed_checks: n, failed_check_names: names }: StatusFacts['data_health']): string | null {
  if (n === 0) return null;
  if (names.length === 0) return `${plural(n, 'check', 'checks')} failed`;
  return `${names.length === 1 ? 'check' : 'checks'} ${names.join(', ')} failed`;
}

/** Zero rows against what its earlier runs usually wrote (the API's median of them), when they wrote some. */
function zeroRowsWords(health: StatusFacts['data_health']): string {
  const usual = Math.round(health.usual_rows_written ?? 0);
  return usual > 0 ? `0 rows written; usually ${count(usual)}` : '0 rows written';
}

/** Why a pipeline is `warning`, one phrase per reason, from its latest ended run; none when it is not. */
export function warningWords(p: StatusFacts): string[] {
  if (!p.warning) return [];
  const health = p.data_health;
  const words = [failedChecksWords(health)];
  if ((health.rows_rejected ?? 0) > 0) words.push(`${plural(health.rows_rejected!, 'row', 'rows')} rejected`);
  if (health.zero_rows_written) words.push(zeroRowsWords(health));
  return words.filter((word): word is string => word !== null);
}
