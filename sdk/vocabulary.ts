/**
 * The one place where pipemon's names are spelled: attribute keys, event names and result values.
 * The SDK emits them and the receiver derives pipeline runs from them, so both import this module.
 * OpenTelemetry semantic conventions (cicd.*, error.*, exception.*, db.*) are reused where they exist;
 * everything else lives under `pipemon.`.
 */

export const ATTR = {
  // OpenTelemetry semantic conventions (model/cicd, model/error, model/exceptions, model/db).
  pipelineName: 'cicd.pipeline.name',
  runId: 'cicd.pipeline.run.id',
  runState: 'cicd.pipeline.run.state',
  runResult: 'cicd.pipeline.result',
  stageName: 'cicd.pipeline.task.name',
  stageRunId: 'cicd.pipeline.task.run.id',
  stageResult: 'cicd.pipeline.task.run.result',
  errorType: 'error.type',
  exceptionType: 'exception.type',
  exceptionMessage: 'exception.message',
  exceptionStacktrace: 'exception.stacktrace',
  dbNamespace: 'db.namespace',
  dbCollection: 'db.collection.name',
  serviceName: 'service.name',
  environment: 'deployment.environment.name',
  // pipemon's own namespace: there is no convention for these.
  rowsRead: 'pipemon.rows.read',
  rowsWritten: 'pipemon.rows.written',
  rowsRejected: 'pipemon.rows.rejected',
  sourceSystem: 'pipemon.source.system',
  capabilities: 'pipemon.capabilities',
  durationSeconds: 'pipemon.duration_seconds',
  checkName: 'pipemon.check.name',
  checkPassed: 'pipemon.check.passed',
  // Added with the SDK (issue 3).
  checkDetails: 'pipemon.check.details',
  skipReason: 'pipemon.skip.reason',
  serviceInstanceId: 'service.instance.id',
  codeFunctionName: 'code.function.name',
  functionGroup: 'pipemon.function.group',
  functionArgs: 'pipemon.function.args',
  functionResult: 'pipemon.function.result',
  functionYields: 'pipemon.function.yields',
  logIostream: 'log.iostream',
  processExitCode: 'process.exit.code',
  processCommand: 'process.command',
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
  urlPath: 'url.path',
  correlationId: 'pipemon.correlation_id',
  droppedRecords: 'pipemon.sdk.dropped_records',
  // Added with the unified view (issue 7): carried on a run's records, exported as metrics for alerts.
  pipelineOwner: 'pipemon.pipeline.owner',
  expectedIntervalSeconds: 'pipemon.pipeline.expected_interval_seconds',
} as const;

/** Log record event names (OTLP `event_name`); static, never built from data. */
export const EVENT = {
  runStart: 'pipeline.run.start',
  runHeartbeat: 'pipeline.run.heartbeat',
  runEnd: 'pipeline.run.end',
  stageStart: 'pipeline.stage.start',
  stageEnd: 'pipeline.stage.end',
  check: 'pipeline.check',
  // Added with the SDK (issue 3).
  functionCall: 'pipemon.function.call',
  httpRequest: 'pipemon.http.request',
  sdkDropped: 'pipemon.sdk.dropped',
} as const;

/** Names of the built-in data-quality checks (sdk/checks.ts), as `pipemon.check.name` values. */
export const CHECK = {
  emptyDataset: 'empty_dataset',
  nullRatio: 'null_ratio',
  schemaDrift: 'schema_drift',
  duplicates: 'duplicates',
} as const;

/** `cicd.pipeline.result`: `error` is the system failing (worker killed), `failure` the work failing. */
export const RESULTS = ['success', 'failure', 'error', 'timeout', 'cancellation', 'skip'] as const;
export type Result = (typeof RESULTS)[number];

/** Results that count as a failed run for alerting and error metrics. */
export const FAILED_RESULTS: readonly Result[] = ['failure', 'error', 'timeout'];

export const RUN_STATES = ['running', 'ended'] as const;
export type RunState = (typeof RUN_STATES)[number];

export function isResult(value: unknown): value is Result {
  return typeof value === 'string' && (RESULTS as readonly string[]).includes(value);
}

/**
 * `error.type` values pipemon sets itself (added with the write-ahead spool, issue 12). A run whose
 * process died without ending it is ended as `error` with this type by the next start (sdk/open-runs.ts).
 */
export const ERROR_TYPE = {
  processDied: 'pipemon.process_died',
} as const;
