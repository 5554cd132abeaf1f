/**
 * A pipeline's state now as the API shows it (the `pipelineNow` fields of http/schemas.ts): last
 * success and run end, expected interval, failures in a row, and late, stuck and warning as the alerts
 * judge them. The pipelines list and the lineage graph's pipeline nodes show it from this one shaping.
 */
import { dataHealth, isLate, isStuck, type PipelineState } from '../../contract/pipeline-facts.js';
import type { PipelineStatus } from './api-types.js';

const epochIso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString());

/** The latest ended run's data health (`data_health`) and whether it makes the pipeline's status `warning`. */
function shapeDataHealth(state: PipelineState) {
  const health = dataHealth(state);
  return {
    warning: health.warning,
    data_health: {
      run_id: state.lastRunId,
      failed_checks: health.failedChecks,
      failed_check_names: health.failedCheckNames,
      rows_rejected: health.rowsRejected,
      rows_written: state.lastRunRows.written,
      zero_rows_written: health.zeroRowsWritten,
      usual_rows_written: state.usualRowsWritten,
    },
  };
}

/**
 * The fields of a pipeline's state now, as PipelineFigures and PipelineStatus share them; `upstreams`:
 * its unhealthy direct upstreams (pipeline-upstreams.ts unhealthyUpstreams).
 */
export function pipelineNow(state: PipelineState, nowSeconds: number, upstreams: Map<string, string[]>) {
  return {
    last_success_at: epochIso(state.lastSuccessSeconds),
    last_run_ended_at: epochIso(state.lastRunEndSeconds),
    expected_interval_seconds: state.expectedIntervalSeconds,
    consecutive_failures: state.consecutiveFailures,
    late: isLate(state, nowSeconds),
    stuck: isStuck(state, nowSeconds),
    upstream_unhealthy: upstreams.get(state.pipeline) ?? [],
    ...shapeDataHealth(state),
  };
}

export function pipelineStatus(state: PipelineState, nowSeconds: number, upstreams: Map<string, string[]>): PipelineStatus {
  return { pipeline: state.pipeline, owner: state.owner, running: state.running, ...pipelineNow(state, nowSeconds, upstreams) };
}

/** The state of a pipeline without runs (one that only static lineage names): nothing known, nothing due. */
export function stateWithoutRuns(tenant: string, pipeline: string): PipelineState {
  return {
    tenant,
    pipeline,
    owner: '',
    expectedIntervalSeconds: null,
    lastSuccessSeconds: null,
    lastRunId: null,
    lastRunEndSeconds: null,
    lastRunDurationSeconds: null,
    lastRunRows: { read: null, written: null, rejected: null },
    lastRunFailedChecks: 0,
    lastRunFailedCheckNames: [],
    usualRowsWritten: null,
    consecutiveFailures: 0,
    running: 0,
    oldestRunningHeartbeatSeconds: null,
    oldestRunningStartSeconds: null,
  };
}
