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
  // Set by the SDK's own features: checks, skips, monitored functions, exec, the Express middleware.
  checkDetails: 'pipemon.check.details',
  skipReason: 'pipemon.skip.reason',
  serviceInstanceId: 'service.instance.id',
  codeFunctionName: 'code.function.name',
  codeFilePath: 'code.file.path',
  codeLineNumber: 'code.line.number',
  logLogger: 'log.logger',
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
  // Carried on a run's records and exported as metrics, so that alerts can route by owner and know when a run is late.
  pipelineOwner: 'pipemon.pipeline.owner',
  expectedIntervalSeconds: 'pipemon.pipeline.expected_interval_seconds',
  /** On a stage's end: its failure does not fail its run (the SDK's `allowFailure`); shown as tolerated. */
  failureAllowed: 'pipemon.stage.failure_allowed',
  /**
   * A time the producer says the run started at (OpenLineage `nominalTime`, Airflow's DAG run start), on
   * records that are not the run's start: the run's estimated start while no start record arrived.
   */
  runStartHint: 'pipemon.run.start_hint',
  /** Lineage: the datasets a run or stage read and wrote, each named as contract/dataset-name.ts writes it. */
  lineageInputs: 'pipemon.lineage.inputs',
  lineageOutputs: 'pipemon.lineage.outputs',
} as const;

/** Log record event names (OTLP `event_name`); static, never built from data. */
export const EVENT = {
  runStart: 'pipeline.run.start',
  runHeartbeat: 'pipeline.run.heartbeat',
  runEnd: 'pipeline.run.end',
  stageStart: 'pipeline.stage.start',
  stageEnd: 'pipeline.stage.end',
  check: 'pipeline.check',
  // Records of the SDK's own features: monitored functions, the Express middleware, its delivery report.
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
 * OpenLineage: what a lineage event carries beyond the pipeline vocabulary above, so that the
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
  errorLanguage: 'openlineage.error.programming_language',
  /** Bytes and files written, as OutputStatisticsOutputDatasetFacet reports them (summed over outputs). */
  bytesWritten: 'openlineage.bytes.written',
  filesWritten: 'openlineage.files.written',
} as const;

/**
 * Notebook and workflow loggers' activity records (receiver/decode/activity.ts): their fields that
 * have no OpenTelemetry convention and no place in ATTR, kept under `pipemon.activity.` as sent.
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
  /** Fields neither record shape defines, kept as sent so that nothing posted is lost. */
  unknownFields: 'pipemon.activity.unknown_fields',
  /** OpenTelemetry resource convention: the workflow's version (a workflow record's `workflow_version`). */
  serviceVersion: 'service.version',
} as const;

/**
 * `error.type` values pipemon sets itself. A run whose
 * process died without ending it is ended as `error` with this type by the next start (sdk/spool/open-runs.ts).
 */
export const ERROR_TYPE = {
  processDied: 'pipemon.process_died',
  /** A stage still open when its run ended: closed by the run's end, with no result (it never reported one). */
  noEndReported: 'pipemon.no_end_reported',
} as const;

/** How one name is documented in docs/vocabulary.md (generated from here by vocabulary-table.ts). */
export interface NameDoc {
  /** The OpenTelemetry attribute type: string, int, double, boolean, string[], or a log record body. */
  type: string;
  /** What it says, in one or two plain sentences. */
  meaning: string;
  /** A value as a sender would set it. */
  example: string;
}

/**
 * Every attribute of ATTR documented for any language: the type makes a missing or extra entry a
 * compile error, so the table cannot fall behind the names.
 */
export const ATTR_DOCS: { readonly [K in keyof typeof ATTR]: NameDoc } = {
  pipelineName: {
    type: 'string',
    meaning: 'The pipeline. A span or run record with this attribute (on the span or its resource) describes a pipeline run or stage.',
    example: 'orders-nightly',
  },
  runId: {
    type: 'string',
    meaning: "The run's id, unique per run of the pipeline. On a span without it, the trace id is the run id.",
    example: '2f1c9a7e-5b1d-4d0e-9a51-0c7f3e1b2a44',
  },
  runState: { type: 'string', meaning: 'The run state as the cicd conventions name it. pipemon derives the state itself (running or ended) and ignores this one.', example: 'executing' },
  runResult: {
    type: 'string',
    meaning: "The run's result when it ended: one of the result values below. Without it, an ERROR span status (or an end record at ERROR severity) is `failure`, else `success`.",
    example: 'failure',
  },
  stageName: {
    type: 'string',
    meaning: 'The stage (task). A span with it is a stage of the run `cicd.pipeline.run.id` names; a span without it is the run itself, if it is a root or SERVER span.',
    example: 'load',
  },
  stageRunId: { type: 'string', meaning: "The stage's own id within its run; default the span id. The same stage name started again under a new id is a retry.", example: '27ea3a9d5aea8964' },
  stageResult: { type: 'string', meaning: "The stage's result when it ended, as `cicd.pipeline.result` for runs.", example: 'success' },
  errorType: { type: 'string', meaning: 'The class of error that ended a run or stage.', example: 'ConnectionResetError' },
  exceptionType: { type: 'string', meaning: "The exception's type, also read from a span's `exception` event; the error type when `error.type` is absent.", example: 'ValueError' },
  exceptionMessage: { type: 'string', meaning: "The error message shown for a failed run or stage; else the span's `exception` event or status message.", example: 'warehouse refused the connection' },
  exceptionStacktrace: { type: 'string', meaning: 'The stack trace of the exception.', example: 'Traceback (most recent call last): ...' },
  dbNamespace: { type: 'string', meaning: "The target's database or namespace: where the stage writes.", example: 'dw' },
  dbCollection: { type: 'string', meaning: "The target's table or collection.", example: 'orders' },
  serviceName: { type: 'string (resource)', meaning: 'The program that sent the records.', example: 'orders-etl' },
  environment: { type: 'string (resource)', meaning: 'The environment; the API filters runs and logs by it. The older `deployment.environment` is read too.', example: 'production' },
  rowsRead: { type: 'int', meaning: 'Rows read by the run or stage. A run that reports none shows the sum of its stages.', example: '120' },
  rowsWritten: { type: 'int', meaning: 'Rows written. Zero rows written by a successful run raises a warning.', example: '118' },
  rowsRejected: { type: 'int', meaning: 'Rows rejected as invalid. Any raises a warning.', example: '2' },
  sourceSystem: { type: 'string', meaning: 'The system the data comes from.', example: 'zephyr' },
  capabilities: { type: 'string[]', meaning: 'What the run verified or used, as the activity records list it.', example: '["authVerified"]' },
  durationSeconds: {
    type: 'double',
    meaning: "On a run's or stage's end record: how long it took, in seconds, as its sender measured it (else pipemon measures end minus start; a span's duration is always its own). On a heartbeat: how long the run has run so far.",
    example: '45.2',
  },
  checkName: { type: 'string', meaning: 'The data-quality check on a `pipeline.check` record.', example: 'null_ratio' },
  checkPassed: { type: 'boolean', meaning: 'Whether the check passed (the text `"true"` or `"false"` is read too). A failed check raises a warning.', example: 'false' },
  checkDetails: { type: 'map', meaning: "The check's figures, as the check reports them.", example: '{"column": "email", "nulls": 3, "total": 120, "ratio": 0.025, "max_ratio": 0.01}' },
  skipReason: { type: 'string', meaning: 'Why a run or stage ended as `skip`.', example: 'no new files' },
  serviceInstanceId: { type: 'string (resource)', meaning: 'The process instance; the SDK sets a random one per process.', example: '5b0e7c1e-8f1a-4c55-9c86-7a3d2e0f4b11' },
  codeFunctionName: { type: 'string', meaning: 'The function a `monitored()` call or `@monitor` method wraps, or that logged a Python `logging` record.', example: 'loadOrders' },
  codeFilePath: { type: 'string', meaning: 'The source file that logged a Python `logging` record.', example: '/app/etl/load.py' },
  codeLineNumber: { type: 'int', meaning: 'The line of `code.file.path` that logged it.', example: '42' },
  logLogger: { type: 'string', meaning: 'The name of the Python `logging` logger a record came from.', example: 'etl.load' },
  functionGroup: { type: 'string', meaning: 'A group name for monitored functions, set in their options.', example: 'loaders' },
  functionArgs: { type: 'string', meaning: "A monitored call's arguments, serialized within a size bound, secrets masked.", example: '[{"date":"2024-06-01"}]' },
  functionResult: { type: 'string', meaning: "A monitored call's result, serialized like its arguments.", example: '{"rows":118}' },
  functionYields: { type: 'int', meaning: 'How many values a monitored generator yielded.', example: '12' },
  logIostream: { type: 'string', meaning: 'Which stream of a command under `pipemon exec` a line came from.', example: 'stderr' },
  processExitCode: { type: 'int', meaning: 'The exit code of the command `pipemon exec` ran.', example: '1' },
  processCommand: { type: 'string', meaning: 'The command line `pipemon exec` ran.', example: 'python3 load.py --date today' },
  httpMethod: { type: 'string', meaning: 'The request method, on the Express middleware\'s records.', example: 'POST' },
  httpRoute: { type: 'string', meaning: 'The matched route, on the Express middleware\'s records.', example: '/orders/:id' },
  httpStatus: { type: 'int', meaning: 'The response status, on the Express middleware\'s records.', example: '201' },
  urlPath: { type: 'string', meaning: 'The request path, on the Express middleware\'s records.', example: '/orders/42' },
  correlationId: { type: 'string', meaning: 'The correlation id a request carried (header `x-correlation-id` by default).', example: 'req-7f3a' },
  droppedRecords: { type: 'int', meaning: 'On a `pipemon.sdk.dropped` record: how many records the SDK could not deliver.', example: '250' },
  pipelineOwner: { type: 'string', meaning: 'The team that owns the pipeline; alerts are routed by it.', example: 'team-data' },
  expectedIntervalSeconds: {
    type: 'int',
    meaning: 'How often the pipeline should run, in seconds. Without it, pipemon infers it from the gaps between recent runs. The pipeline is late after two intervals without a success.',
    example: '3600',
  },
  failureAllowed: { type: 'boolean', meaning: "On a stage's end: its failure is tolerated and does not fail its run.", example: 'true' },
  runStartHint: {
    type: 'string (ISO 8601)',
    meaning: 'A start time the producer knows, on records that are not the run\'s start. Used as the estimated start while no start record has arrived.',
    example: '2024-06-01T02:00:00Z',
  },
  lineageInputs: {
    type: 'string[]',
    meaning:
      'The datasets a run or stage read, each `namespace/name` as the OpenLineage naming spec writes it (`scheme://authority/name`, or `scheme://name` without an authority). They make the lineage graph; `pipemon.rows.read` is their rows when there is one.',
    example: '["postgres://shop:5432/shop.public.orders"]',
  },
  lineageOutputs: {
    type: 'string[]',
    meaning:
      'The datasets a run or stage wrote, named like `pipemon.lineage.inputs`. A `db.namespace` and `db.collection.name` target is one more output (`dw` and `orders` name `dw://orders`); `pipemon.rows.written` is their rows when there is one.',
    example: '["s3://lake/orders/2026"]',
  },
};

/** Every event name of EVENT documented, as ATTR_DOCS documents the attributes. */
export const EVENT_DOCS: { readonly [K in keyof typeof EVENT]: string } = {
  runStart: 'The run started. Makes the run show as `running` before its span arrives.',
  runHeartbeat: 'The run is still alive (the SDK sends one every 60 s). A running run silent for 10 minutes is stuck.',
  runEnd: 'The run ended, with its result in `cicd.pipeline.result`.',
  stageStart: 'A stage started (it needs `cicd.pipeline.task.name`).',
  stageEnd: 'A stage ended, with its result in `cicd.pipeline.task.run.result`.',
  check: 'A data-quality check: `pipemon.check.name`, `pipemon.check.passed`, `pipemon.check.details`.',
  functionCall: 'A call of a monitored function failed (an ERROR record; sampling never drops it).',
  httpRequest: 'A request the Express middleware handled.',
  sdkDropped: 'The SDK reports records it could not deliver, counted in `pipemon.sdk.dropped_records`.',
};

/** Every result value documented. */
export const RESULT_DOCS: { readonly [R in Result]: string } = {
  success: 'The work succeeded.',
  failure: 'The work itself failed (an exception, bad data, a non-zero exit). Counts as failed.',
  error: 'The system failed around the work (a worker killed, a process that died). Counts as failed.',
  timeout: 'The work ran out of time. Counts as failed.',
  cancellation: 'The work was cancelled.',
  skip: 'The work was skipped on purpose (`pipemon.skip.reason` says why).',
};
