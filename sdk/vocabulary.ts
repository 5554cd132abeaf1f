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
  /** On a stage's end: its failure does not fail its run (the SDK's `allowFailure`); shown as tolerated. */
  failureAllowed: 'pipemon.stage.failure_allowed',
  /**
   * A time the producer says the run started at (OpenLineage `nominalTime`, Airflow's DAG run start), on
   * records that are not the run's start: the run's estimated start while no start record arrived.
   */
  runStartHint: 'pipemon.run.start_hint',
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
 * OpenLineage (issue 9): what a lineage event carries beyond the pipeline vocabulary above, so that the
 * event's own names stay findable on its records. The whole event is each record's body.
 */
export const LINEAGE = {
  /** Event names of the records that derive nothing: job and dataset events (static lineage), and the
   *  RUNNING / OTHER events of a stage (a stage has no heartbeat). */
  jobEvent: 'openlineage.job',
  datasetEvent: 'openlineage.dataset',
  runEvent: 'openlineage.run',
  eventType: 'openlineage.event_type',
  jobNamespace: 'openlineage.job.namespace',
  jobName: 'openlineage.job.name',
  runId: 'openlineage.run.id',
  parentRunId: 'openlineage.parent.run.id',
  parentJobNamespace: 'openlineage.parent.job.namespace',
  parentJobName: 'openlineage.parent.job.name',
  rootRunId: 'openlineage.root.run.id',
  /** Datasets as `namespace/name` strings, every one of them (the target is the first output only). */
  inputs: 'openlineage.inputs',
  outputs: 'openlineage.outputs',
  errorLanguage: 'openlineage.error.programming_language',
  /** Bytes and files written, as OutputStatisticsOutputDatasetFacet reports them (summed over outputs). */
  bytesWritten: 'openlineage.bytes.written',
  filesWritten: 'openlineage.files.written',
} as const;

/**
 * The reference designs' activity records (receiver/decode/activity.ts): their fields that have no
 * OpenTelemetry convention and no place in ATTR, kept under `pipemon.activity.` as sent.
 */
export const ACTIVITY = {
  /** The status word as sent ("Success", "SUCCESS"); the result is in cicd.pipeline.result. */
  status: 'pipemon.activity.status',
  workspaceId: 'pipemon.activity.workspace_id',
  lakehouseId: 'pipemon.activity.lakehouse_id',
  entityName: 'pipemon.activity.entity_name',
  additionalMetadata: 'pipemon.activity.additional_metadata',
  ticketId: 'pipemon.activity.ticket_id',
  category: 'pipemon.activity.category',
  resolutionStatus: 'pipemon.activity.resolution_status',
  metrics: 'pipemon.activity.metrics',
  payload: 'pipemon.activity.payload',
  /** Fields neither design defines, kept as sent so that nothing posted is lost. */
  unknownFields: 'pipemon.activity.unknown_fields',
  /** OpenTelemetry resource convention: the workflow's version (design 002's `workflow_version`). */
  serviceVersion: 'service.version',
} as const;

/**
 * `error.type` values pipemon sets itself (added with the write-ahead spool, issue 12). A run whose
 * process died without ending it is ended as `error` with this type by the next start (sdk/open-runs.ts).
 */
export const ERROR_TYPE = {
  processDied: 'pipemon.process_died',
  /** A stage still open when its run ended: closed by the run's end, with no result (it never reported one). */
  noEndReported: 'pipemon.no_end_reported',
} as const;
