# Generated from contract/vocabulary.ts and contract/record-rules.ts by contract/vocabulary-python.ts:
# edit those, then run `npm run build && node dist/contract/vocabulary-python.js`.
# test/contract/vocabulary-python.test.ts fails while this file differs.
"""The names pipemon sends and reads: the same as the Node SDK's, from one statement."""


class ATTR:
    """Attribute keys."""

    PIPELINE_NAME = "cicd.pipeline.name"
    RUN_ID = "cicd.pipeline.run.id"
    RUN_STATE = "cicd.pipeline.run.state"
    RUN_RESULT = "cicd.pipeline.result"
    STAGE_NAME = "cicd.pipeline.task.name"
    STAGE_RUN_ID = "cicd.pipeline.task.run.id"
    STAGE_RESULT = "cicd.pipeline.task.run.result"
    ERROR_TYPE = "error.type"
    EXCEPTION_TYPE = "exception.type"
    EXCEPTION_MESSAGE = "exception.message"
    EXCEPTION_STACKTRACE = "exception.stacktrace"
    DB_NAMESPACE = "db.namespace"
    DB_COLLECTION = "db.collection.name"
    SERVICE_NAME = "service.name"
    ENVIRONMENT = "deployment.environment.name"
    ROWS_READ = "pipemon.rows.read"
    ROWS_WRITTEN = "pipemon.rows.written"
    ROWS_REJECTED = "pipemon.rows.rejected"
    SOURCE_SYSTEM = "pipemon.source.system"
    CAPABILITIES = "pipemon.capabilities"
    DURATION_SECONDS = "pipemon.duration_seconds"
    CHECK_NAME = "pipemon.check.name"
    CHECK_PASSED = "pipemon.check.passed"
    CHECK_DETAILS = "pipemon.check.details"
    SKIP_REASON = "pipemon.skip.reason"
    SERVICE_INSTANCE_ID = "service.instance.id"
    CODE_FUNCTION_NAME = "code.function.name"
    CODE_FILE_PATH = "code.file.path"
    CODE_LINE_NUMBER = "code.line.number"
    LOG_LOGGER = "log.logger"
    FUNCTION_GROUP = "pipemon.function.group"
    FUNCTION_ARGS = "pipemon.function.args"
    FUNCTION_RESULT = "pipemon.function.result"
    FUNCTION_YIELDS = "pipemon.function.yields"
    LOG_IOSTREAM = "log.iostream"
    PROCESS_EXIT_CODE = "process.exit.code"
    PROCESS_COMMAND = "process.command"
    HTTP_METHOD = "http.request.method"
    HTTP_ROUTE = "http.route"
    HTTP_STATUS = "http.response.status_code"
    URL_PATH = "url.path"
    CORRELATION_ID = "pipemon.correlation_id"
    DROPPED_RECORDS = "pipemon.sdk.dropped_records"
    PIPELINE_OWNER = "pipemon.pipeline.owner"
    EXPECTED_INTERVAL_SECONDS = "pipemon.pipeline.expected_interval_seconds"
    FAILURE_ALLOWED = "pipemon.stage.failure_allowed"
    RUN_START_HINT = "pipemon.run.start_hint"
    LINEAGE_INPUTS = "pipemon.lineage.inputs"
    LINEAGE_OUTPUTS = "pipemon.lineage.outputs"


class EVENT:
    """Log record event names (OTLP `event_name`)."""

    RUN_START = "pipeline.run.start"
    RUN_HEARTBEAT = "pipeline.run.heartbeat"
    RUN_END = "pipeline.run.end"
    STAGE_START = "pipeline.stage.start"
    STAGE_END = "pipeline.stage.end"
    CHECK = "pipeline.check"
    FUNCTION_CALL = "pipemon.function.call"
    HTTP_REQUEST = "pipemon.http.request"
    SDK_DROPPED = "pipemon.sdk.dropped"


class CHECK:
    """Names of the built-in data-quality checks."""

    EMPTY_DATASET = "empty_dataset"
    NULL_RATIO = "null_ratio"
    SCHEMA_DRIFT = "schema_drift"
    DUPLICATES = "duplicates"


class ERROR_TYPE:
    """`error.type` values pipemon sets itself."""

    PROCESS_DIED = "pipemon.process_died"
    NO_END_REPORTED = "pipemon.no_end_reported"


# `cicd.pipeline.result` values; the failed ones count as a failed run.
RESULTS = ("success", "failure", "error", "timeout", "cancellation", "skip")
FAILED_RESULTS = frozenset(("failure", "error", "timeout"))

# Each log level's OpenTelemetry severity number and text.
SEVERITY = {
    "debug": (5, "DEBUG"),
    "info": (9, "INFO"),
    "warn": (13, "WARN"),
    "error": (17, "ERROR"),
    "fatal": (21, "FATAL"),
}

# Key fragments masked by default, compared without case, "-", "_", "." or spaces; masked values read MASK.
DEFAULT_SENSITIVE = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "auth",
    "cookie",
    "credential",
    "privatekey",
    "accesskey",
    "session",
    "signature",
    "connectionstring",
)
MASK = "***"

# The default bounds of a preview of a value: characters, entries per container, levels.
MAX_REPR = 1000
MAX_ITEMS = 10
MAX_DEPTH = 4
