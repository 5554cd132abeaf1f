/** Step 5 of the line: what a committed batch changed, applied to the metrics after COMMIT, never before. */
import type { Metrics } from '../metrics.js';
import type { BatchEffects } from '../storage/write-batch.js';

export function applyEffects(metrics: Metrics, effects: BatchEffects): void {
  metrics.committed({ signal: 'logs', ...effects.logs });
  metrics.committed({ signal: 'traces', ...effects.spans });
  effects.runsEnded.forEach(metrics.runEnded);
  effects.stagesEnded.forEach(metrics.stageEnded);
}
