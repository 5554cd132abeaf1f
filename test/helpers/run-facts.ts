/** Facts about a run or a stage as model/derive.ts makes them, written by hand: a test names only what it sets. */
import type { RunFacts, StageFacts } from '../../receiver/model/runs.js';

const common = () => ({
  runId: 'r-1',
  pipeline: 'orders',
  state: 'running',
  result: null,
  startedAtMs: null,
  endedAtMs: null,
  durationSeconds: null,
  rowsRead: null,
  rowsWritten: null,
  rowsRejected: null,
  errorType: null,
  errorMessage: null,
  targetNamespace: null,
  targetCollection: null,
  attributes: {},
}) as const;

export function runFacts(facts: Partial<RunFacts>): RunFacts {
  return {
    ...common(),
    serviceName: null,
    environment: null,
    sourceSystem: null,
    traceId: null,
    lastSeenMs: facts.endedAtMs ?? facts.startedAtMs ?? 0,
    startHintMs: null,
    ...facts,
  };
}

export function stageFacts(facts: Partial<StageFacts>): StageFacts {
  return { ...common(), stageRunId: 's-1', stage: 'load', spanId: null, ...facts };
}
