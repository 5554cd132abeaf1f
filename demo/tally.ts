/**
 * What the demo sent, per pipeline: runs by result (`running` for the run that hangs) and failures by
 * error type; and how that reads on a terminal.
 */
import { RESULTS, type Result } from '../contract/vocabulary.js';

export type RunOutcome = Result | 'running';

export interface PipelineTally {
  owner: string;
  total: number;
  runs: Partial<Record<RunOutcome, number>>;
  errorTypes: Record<string, number>;
}

export type Tally = Record<string, PipelineTally>;

export function count(tally: Tally, pipeline: string, owner: string, outcome: { result: RunOutcome; errorType: string | null }): void {
  const entry = (tally[pipeline] ??= { owner, total: 0, runs: {}, errorTypes: {} });
  entry.total++;
  entry.runs[outcome.result] = (entry.runs[outcome.result] ?? 0) + 1;
  if (outcome.errorType) entry.errorTypes[outcome.errorType] = (entry.errorTypes[outcome.errorType] ?? 0) + 1;
}

/** Results in a fixed order, not the order they first came in, so that the same counts read the same. */
const OUTCOME_ORDER: readonly string[] = [...RESULTS, 'running'];

function list(counts: Record<string, number | undefined>): string {
  return Object.entries(counts)
    .map(([name, n]) => `${n} ${name}`)
    .join(', ');
}

function listOutcomes(counts: Record<string, number | undefined>): string {
  return list(Object.fromEntries(OUTCOME_ORDER.filter((outcome) => counts[outcome] !== undefined).map((outcome) => [outcome, counts[outcome]])));
}

/** One line per pipeline and a total, aligned for a terminal. */
export function formatTally(tally: Tally): string[] {
  const entries = Object.entries(tally);
  const width = Math.max(0, ...entries.map(([pipeline]) => pipeline.length));
  const ownerWidth = Math.max(0, ...entries.map(([, entry]) => entry.owner.length));
  const lines = entries.map(([pipeline, entry]) => {
    const errors = Object.keys(entry.errorTypes).length > 0 ? ` (${list(entry.errorTypes)})` : '';
    return `  ${pipeline.padEnd(width)}  ${entry.owner.padEnd(ownerWidth)}  ${String(entry.total).padStart(4)} runs: ${listOutcomes(entry.runs)}${errors}`;
  });
  const totals: Record<string, number> = {};
  for (const [, entry] of entries) for (const [result, n] of Object.entries(entry.runs)) totals[result] = (totals[result] ?? 0) + (n ?? 0);
  const total = entries.reduce((sum, [, entry]) => sum + entry.total, 0);
  lines.push(`  total: ${total} runs${total > 0 ? `: ${listOutcomes(totals)}` : ''}`);
  return lines;
}
