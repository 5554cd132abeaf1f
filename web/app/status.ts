/**
 * A pipeline's status now, from the figures of /api/v1/metrics/pipelines: its conditions in the order
 * they need attention, the first one being its status. Failing and stuck are the alerts'
 * PipelineRunFailed and PipelineRunStuck, late is PipelineLate (the API judges those two as the alerts do).
 */
import type { PipelineFigures } from './types.js';

export const STATUSES = ['failing', 'stuck', 'late', 'running', 'ok', 'idle'] as const;
export type PipelineStatus = (typeof STATUSES)[number];

export function conditions(p: PipelineFigures): PipelineStatus[] {
  const found: PipelineStatus[] = [];
  if (p.consecutive_failures > 0) found.push('failing');
  if (p.stuck) found.push('stuck');
  if (p.late) found.push('late');
  // A stuck pipeline is running too: saying so twice adds nothing.
  if (!p.stuck && (p.running > 0 || p.recent_runs[0]?.state === 'running')) found.push('running');
  if (found.length === 0) found.push(p.last_run_ended_at ? 'ok' : 'idle');
  return found;
}

/** What needs attention first, then by name. */
export function byAttention(a: PipelineFigures, b: PipelineFigures): number {
  const rank = (p: PipelineFigures) => STATUSES.indexOf(conditions(p)[0]!);
  return rank(a) - rank(b) || a.pipeline.localeCompare(b.pipeline);
}
